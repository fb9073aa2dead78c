"""The Pulumi program on the oldest versions pyproject.toml allows for `.[infra]`.

A lower bound that is too low installs fine and fails only at `pulumi up` (an argument the older
provider SDK lacks is a TypeError before anything is created). So: every `>=` bound of the infra
extra becomes an `==` pin in a constraints file, a fresh venv gets exactly those versions (pip's
cache is used), and the program runs there under the same mocks as the other tests, once per
shape of stack that together registers every resource and argument it uses.
Takes about 1.5 minutes with a warm pip cache, about 2 with a cold one.
"""
import json
import os
import re
import subprocess
import sys
import tomllib
import venv

import pytest
from packaging.version import Version

from tests.infra.harness import REPO

# Every optional part on at once, and the alias with a Route 53 zone (the other certificate path).
STACKS = [
    {},
    {"tokenService": True, "tokenServiceSnapStart": True, "cookieName": "media_token",
     "domainName": "media.example.com", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abcd-1234",
     "webAclArn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/media/1a2b3c4d-1a2b-1a2b-1a2b-1a2b3c4d5e6f",
     "permissionsBoundaryArn": "arn:aws:iam::123456789012:policy/media-boundary",
     "cdnAccessLogs": True, "bucketAccessLogs": True},
    {"tokenService": True, "domainName": "media.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"},
]
RUN = """
import json, sys
from tests.infra.harness import run_program
print(json.dumps([sorted({r.type for r in run_program(stack).resources}) for stack in json.loads(sys.argv[1])]))
"""
_LOWER_BOUND = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*>=\s*([0-9][^,\s]*)")


def lowest_versions() -> dict:
    """{distribution: its lower bound} for every requirement of the infra extra."""
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["infra"]
    pins = {}
    for requirement in extra:
        found = _LOWER_BOUND.match(requirement)
        assert found, f"{requirement!r}: every infra requirement needs a >= lower bound for this test to check"
        pins[found[1]] = found[2]
    return pins


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_program_runs_on_the_lowest_allowed_versions(tmp_path):
    pins = lowest_versions()
    assert "pulumi-aws" in pins and "pulumi" in pins
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    # PyYAML: the harness reads Pulumi.yaml with it (any version; it is no part of the program).
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", str(constraints),
                    *pins, "PyYAML"], check=True, capture_output=True, text=True, timeout=800)
    installed = json.loads(subprocess.run(
        [python, "-c", "import importlib.metadata as m, json, sys; "
                       "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))", *pins],
        check=True, capture_output=True, text=True).stdout)
    assert {name: Version(v) for name, v in installed.items()} == {name: Version(v) for name, v in pins.items()}

    env = {name: value for name, value in os.environ.items() if name not in ("VIRTUAL_ENV", "PYTHONHOME")}
    done = subprocess.run([python, "-c", RUN, json.dumps(STACKS)], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**env, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    types = json.loads(done.stdout.strip().splitlines()[-1])
    # The same resources as on the newest versions (this process runs those).
    sys.path.insert(0, str(REPO))
    from tests.infra.harness import run_program
    assert types == [sorted({r.type for r in run_program(stack).resources}) for stack in STACKS]
