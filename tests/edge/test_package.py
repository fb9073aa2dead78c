"""The deployable zip: contents, determinism, config validation, and a run in a Lambda-like venv."""
import json
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

from edge.config import ConfigError, load_config
from edge.package import build_package, find_interpreter, main as package_main
from tests.edge.conftest import public_jwk, real_now
from tests.servers import moto_server

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_zip_layout_and_rendered_config(tmp_path, raw_config):
    out = build_package(raw_config, tmp_path / "edge.zip")
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        rendered = json.loads(archive.read("edge/config.json"))
    modules = sorted(p.stem for p in (ROOT / "edge").glob("*.py") if p.name != "package.py")
    bytecode = [f"edge/__pycache__/{m}.cpython-313.pyc" for m in modules] if find_interpreter("python3.13") else []
    assert names == [f"edge/{m}.py" for m in modules] + ["edge/config.json"] + bytecode
    assert rendered == load_config(raw_config).to_json()
    assert rendered["ssm_region"] == "us-east-1" and rendered["leeway_seconds"] == 30


def test_same_input_same_bytes(tmp_path, raw_config):
    a = build_package(raw_config, tmp_path / "a.zip").read_bytes()
    b = build_package(dict(reversed(raw_config.items())), tmp_path / "b.zip").read_bytes()
    assert a == b


def weak_key(jwk, **change):
    return {"keys": [{**jwk, **change}]}


@pytest.mark.parametrize("change,message", [
    ({"issuer": None}, "issuer: required"),
    ({"audience": ""}, "audience: must be a non-empty string, got ''"),
    ({"jwks": {"keys": []}}, "jwks: JWKS must hold"),
    ({"jwks": {"nokeys": 1}}, "jwks: JWKS must be an object"),
    ({"jwks": "jwks"}, "jwks: JWKS must be an object"),
    ({"surprise": 1}, "surprise: unknown field"),
    ({"cookie_nmae": "t"}, "cookie_nmae: unknown field (did you mean cookie_name?)"),
    ({"cors_allowed_origins": ["https://app.example.com/path"]}, "cors_allowed_origins: must be origins"),
    ({"cors_allowed_origins": "https://app.example.com"}, "cors_allowed_origins: must be a list of origins"),
    ({"cookie_name": "bad name;"}, "cookie_name: must be a cookie name"),
    ({"leeway_seconds": -1}, "leeway_seconds: must be 0..300, got -1"),
    ({"leeway_seconds": "30"}, "leeway_seconds: must be an integer 0..300, got '30'"),
    ({"leeway_seconds": True}, "leeway_seconds: must be an integer 0..300, got True"),
    ({"max_token_lifetime_seconds": 0}, "max_token_lifetime_seconds: must be 1..86400, got 0"),
    ({"ssm_region": "moon"}, "ssm_region: must be an AWS region like us-east-1, got 'moon'"),
    ({"ssm_timeout_seconds": 10}, "ssm_timeout_seconds: must be a number of seconds 0.1..2"),
    ({"key_refresh_seconds": 600, "max_key_staleness_seconds": 300},
     "max_key_staleness_seconds: must be at least key_refresh_seconds (600), got 300"),
    ({"realm": 'a"b'}, "realm: must be printable ASCII"),
    ({"realm": "x" * 500}, "realm: must be printable ASCII, 1-64 characters, without \" or \\, got 'xxx"),
])
def test_bad_config_is_a_clear_error_and_no_zip(tmp_path, raw_config, change, message):
    out = tmp_path / "edge.zip"
    with pytest.raises(ConfigError) as error:
        build_package({**raw_config, **change}, out)
    assert [line for line in error.value.errors if line.startswith(message)], error.value.errors
    assert len(str(error.value)) < 200  # a long value is cut short, not echoed whole
    assert list(tmp_path.iterdir()) == []


# One config breaking many rules at once, and every fault it must report.
MANY_FAULTS = {"issuer": None, "audience": 42, "jwks": {"keys": []}, "surprise": 1,
               "ssm_region": "moon", "leeway_seconds": 301, "max_token_lifetime_seconds": 0,
               "cors_allowed_origins": ["https://ok.example.com", "ftp://bad.example.com"]}
MANY_FAULTS_REPORTED = [
    "surprise: unknown field",
    "issuer: required",
    "audience: must be a non-empty string, got 42",
    "jwks: JWKS must hold 1-32 keys",
    "ssm_region: must be an AWS region like us-east-1, got 'moon'",
    "cors_allowed_origins: must be origins like https://app.example.com (scheme and host, no path), "
    "got ['ftp://bad.example.com']",
    "leeway_seconds: must be 0..300, got 301",
    "max_token_lifetime_seconds: must be 1..86400, got 0",
]


def test_every_fault_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as error:
        build_package(MANY_FAULTS, tmp_path / "edge.zip")
    assert error.value.errors == MANY_FAULTS_REPORTED
    assert str(error.value) == "\n".join(MANY_FAULTS_REPORTED)
    assert isinstance(error.value, ValueError)  # callers catching ValueError keep working
    assert list(tmp_path.iterdir()) == []


def test_every_fault_is_reported_at_once_by_the_command(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps(MANY_FAULTS))
    done = subprocess.run([sys.executable, "-m", "edge.package", "bad.json", "edge.zip"], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"edge.package: bad.json: {len(MANY_FAULTS_REPORTED)} config error(s), "
                                        "no zip written:"] + [f"  {line}" for line in MANY_FAULTS_REPORTED]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_a_config_that_is_not_an_object(tmp_path):
    with pytest.raises(ConfigError) as error:
        build_package(["issuer"], tmp_path / "edge.zip")
    assert error.value.errors == ["config: must be a JSON object, got list"]


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
    [line] = error.value.errors
    assert line.startswith("jwks: ") and message in line


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
    # the command builds the same bytes as the function
    assert (tmp_path / "edge.zip").read_bytes() == build_package(raw_config, tmp_path / "f.zip").read_bytes()
    assert package_main([str(bad), str(tmp_path / "bad.zip")]) == 1
    assert "  leeway_seconds: must be 0..300, got 9999" in capsys.readouterr().err.splitlines()
    assert not (tmp_path / "bad.zip").exists()
    assert package_main([str(tmp_path / "missing.json"), str(tmp_path / "m.zip")]) == 1
    assert "edge.package: error: " in capsys.readouterr().err
    (tmp_path / "notjson.json").write_text("{")
    assert package_main([str(tmp_path / "notjson.json"), str(tmp_path / "n.zip")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("edge.package: error: ") and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "edge.zip", "f.zip", "good.json", "notjson.json"]


def lambda_like_interpreters():
    """This Python plus Lambda's python3.12 and python3.13 where the machine has them."""
    found = {f"{sys.version_info.major}.{sys.version_info.minor}": sys.executable}
    for version in ("3.12", "3.13"):
        python = find_interpreter(f"python{version}")
        if python:
            found[version] = python
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
