"""The deployable zip: contents, determinism, config validation, and a run in a Lambda-like venv."""
import glob
import json
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

from edge.config import ConfigError, load_config
from edge.package import build_package, main as package_main
from tests.edge.conftest import AUDIENCE, ISSUER, public_jwk, real_now
from tests.servers import moto_server

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def raw_config(jwks):
    return {"issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks}


def test_zip_layout_and_rendered_config(tmp_path, raw_config):
    out = build_package(raw_config, tmp_path / "edge.zip")
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        rendered = json.loads(archive.read("edge/config.json"))
    runtime = sorted(f"edge/{p.name}" for p in (ROOT / "edge").glob("*.py") if p.name != "package.py")
    assert sorted(names) == sorted(runtime + ["edge/config.json"])
    assert rendered == load_config(raw_config).to_json()
    assert rendered["ssm_region"] == "us-east-1" and rendered["leeway_seconds"] == 30
    assert out.stat().st_size < 1_048_576  # the Lambda@Edge viewer-request limit


def test_same_input_same_bytes(tmp_path, raw_config):
    a = build_package(raw_config, tmp_path / "a.zip").read_bytes()
    b = build_package(dict(reversed(raw_config.items())), tmp_path / "b.zip").read_bytes()
    assert a == b


def weak_key(jwk, **change):
    return {"keys": [{**jwk, **change}]}


@pytest.mark.parametrize("change,message", [
    ({"issuer": None}, "missing required field(s) 'issuer'"),
    ({"audience": ""}, "'audience' must be a non-empty string"),
    ({"jwks": {"keys": []}}, "'jwks': JWKS must hold"),
    ({"jwks": {"nokeys": 1}}, "'jwks': JWKS must be an object"),
    ({"jwks": "jwks"}, "'jwks': JWKS must be an object"),
    ({"surprise": 1}, "unknown field(s) 'surprise'"),
    ({"cors_allowed_origins": ["https://app.example.com/path"]}, "'cors_allowed_origins'"),
    ({"cors_allowed_origins": "https://app.example.com"}, "'cors_allowed_origins'"),
    ({"cookie_name": "bad name;"}, "'cookie_name'"),
    ({"leeway_seconds": -1}, "'leeway_seconds' must be an integer from 0 to 300"),
    ({"leeway_seconds": "30"}, "'leeway_seconds'"),
    ({"max_token_lifetime_seconds": 0}, "'max_token_lifetime_seconds'"),
    ({"ssm_region": "moon"}, "'ssm_region'"),
    ({"ssm_timeout_seconds": 10}, "'ssm_timeout_seconds'"),
    ({"key_refresh_seconds": 600, "max_key_staleness_seconds": 300}, "'max_key_staleness_seconds'"),
    ({"realm": 'a"b'}, "'realm'"),
])
def test_bad_config_is_a_clear_error_and_no_zip(tmp_path, raw_config, change, message):
    out = tmp_path / "edge.zip"
    with pytest.raises(ConfigError) as error:
        build_package({**raw_config, **change}, out)
    assert message in str(error.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("change,message", [
    ({"e": "Aw"}, "exponent must be 65537"),
    ({"kty": "EC"}, "'kty' must be 'RSA'"),
    ({"alg": "RS512"}, "'alg' must be 'RS256'"),
    ({"use": "enc"}, "'use' must be 'sig'"),
    ({"d": "AQAB"}, "private key material"),
    ({"n": "AQAB"}, "modulus must be 2048-8192 bits"),
    ({"n": "AA" + "A" * 340}, "leading zero"),
    ({"kid": ""}, "'kid' must be a string"),
])
def test_unfit_keys_refused_at_load(tmp_path, raw_config, change, message):
    jwk = raw_config["jwks"]["keys"][0]
    with pytest.raises(ConfigError) as error:
        build_package({**raw_config, "jwks": weak_key(jwk, **change)}, tmp_path / "edge.zip")
    assert message in str(error.value)


def test_1024_bit_key_refused(tmp_path, raw_config):
    from cryptography.hazmat.primitives.asymmetric import rsa
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ConfigError, match="modulus must be 2048-8192 bits"):
        build_package({**raw_config, "jwks": {"keys": [public_jwk(small, "small")]}}, tmp_path / "x.zip")


def test_cli(tmp_path, raw_config, capsys):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(raw_config))
    bad.write_text(json.dumps({**raw_config, "leeway_seconds": 9999}))
    assert package_main([str(good), str(tmp_path / "edge.zip")]) == 0
    assert (tmp_path / "edge.zip").exists()
    assert package_main([str(bad), str(tmp_path / "bad.zip")]) == 1
    assert "config error: 'leeway_seconds'" in capsys.readouterr().err
    assert not (tmp_path / "bad.zip").exists()
    assert package_main([str(tmp_path / "missing.json"), str(tmp_path / "m.zip")]) == 1


def lambda_like_interpreters():
    """This Python plus Lambda's python3.12 and python3.13 where the machine has them."""
    found = {f"{sys.version_info.major}.{sys.version_info.minor}": sys.executable}
    for version in ("3.12", "3.13"):
        for candidate in sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")))\
                + [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]:
            if os.access(candidate, os.X_OK):
                found[version] = candidate
                break
    return found


INTERPRETERS = lambda_like_interpreters()

RUN_IN_LAMBDA_VENV = r"""
import json, sys
import edge.handler as h
cases = json.load(open(sys.argv[1]))
verifier = next(iter(h._authorizer.keys._verifiers.values()))
out = {"boto3_loaded_at_import": "boto3" in sys.modules, "verifier": type(verifier).__name__, "results": []}
for event in cases:
    result = h.handler(event, None)
    out["results"].append(result.get("status", "forward"))
out["boto3_loaded_after"] = "boto3" in sys.modules
print(json.dumps(out))
"""


@pytest.fixture(scope="module", params=sorted(INTERPRETERS))
def lambda_venv(request, tmp_path_factory):
    """A fresh venv holding only boto3, as the Lambda Python runtime does."""
    venv = tmp_path_factory.mktemp(f"lambda-venv-{request.param}")
    subprocess.run([INTERPRETERS[request.param], "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "--disable-pip-version-check", "boto3"],
                   check=True, timeout=600)
    return venv / "bin/python"


def test_package_runs_in_a_boto3_only_venv(lambda_venv, tmp_path, raw_config, tokens, key, other_key,
                                           ssm_parameter_with_two_keys, monkeypatch):
    from tests.cf import bearer, viewer_request
    endpoint, parameter = ssm_parameter_with_two_keys
    config = {**raw_config, "ssm_parameter": parameter, "ssm_endpoint_url": endpoint}
    package = build_package(config, tmp_path / "edge.zip")
    task = tmp_path / "task"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(task)
    now = real_now()
    times = {"iat": now, "nbf": now, "exp": now + 300}
    events = [
        viewer_request(headers=bearer(tokens.make(**times))),
        viewer_request(headers=bearer(tokens.make(**times) + "x")),
        viewer_request(),
        viewer_request(headers=bearer(tokens.make(key=other_key, kid="k2", **times))),  # only in SSM
    ]
    (tmp_path / "events.json").write_text(json.dumps(events))
    (tmp_path / "run.py").write_text(RUN_IN_LAMBDA_VENV)
    env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "eu-west-2", "PYTHONPATH": str(task), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([str(lambda_venv), "-B", str(tmp_path / "run.py"),
                           str(tmp_path / "events.json")], cwd=task, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["results"] == ["forward", "401", "401", "forward"]
    assert report["verifier"] == "OpenSSLVerifier"
    assert report["boto3_loaded_at_import"] is False  # boto3 only once a refresh is needed
    assert report["boto3_loaded_after"] is True


@pytest.fixture(scope="module")
def ssm_parameter_with_two_keys(key, other_key):
    import boto3
    with moto_server() as endpoint:
        client = boto3.client("ssm", region_name="us-east-1", endpoint_url=endpoint,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.put_parameter(Name="/media/jwks", Type="String",
                             Value=json.dumps({"keys": [public_jwk(key, "k1"), public_jwk(other_key, "k2")]}))
        yield endpoint, "/media/jwks"
