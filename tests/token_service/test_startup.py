"""Start-up validation: missing or malformed settings or keys stop the service with a non-zero
exit and one clear line per fault, each naming its setting; every fault shows in one run."""
import os
import subprocess
import sys

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from token_service.app import create_app
from token_service.settings import Settings, SettingsError
from tests.servers import free_port
from tests.token_service.conftest import ROOT


@pytest.fixture
def env(base_settings):
    return {f"TOKEN_SERVICE_{name.upper()}": str(value) for name, value in base_settings.items()}


def weak_key_file(tmp_path, **kwargs):
    path = tmp_path / "weak.pem"
    path.write_bytes(rsa.generate_private_key(**kwargs).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(path)


@pytest.mark.parametrize("change, message", [
    ({"TOKEN_SERVICE_ISSUER": None}, "TOKEN_SERVICE_ISSUER: required"),
    ({"TOKEN_SERVICE_IDP_AUDIENCE": " "}, "TOKEN_SERVICE_IDP_AUDIENCE: required"),
    ({"TOKEN_SERVICE_SIGNING_KEY_FILE": None},
     "TOKEN_SERVICE_SIGNING_KEY_FILE or TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER: set exactly one"),
    ({"TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER": "/media/key"},
     "TOKEN_SERVICE_SIGNING_KEY_FILE or TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER: set exactly one"),
    ({"TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE": "/x.pem"},
     "TOKEN_SERVICE_IDP_JWKS_URL or TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE: set exactly one"),
    ({"TOKEN_SERVICE_IDP_JWKS_URL": "file:///etc/passwd"}, "TOKEN_SERVICE_IDP_JWKS_URL: must be an https:// URL"),
    ({"TOKEN_SERVICE_IDP_JWKS_URL": "http://idp.example.com/jwks.json"},
     "TOKEN_SERVICE_IDP_JWKS_URL: must be an https:// URL (http only for 127.0.0.1, localhost, ::1), "
     "got 'http://idp.example.com/jwks.json'"),
    ({"TOKEN_SERVICE_IDP_JWKS_URL": "http://localhost.example.com/jwks.json"},
     "TOKEN_SERVICE_IDP_JWKS_URL: must be an https:// URL"),
    ({"TOKEN_SERVICE_IDP_JWKS_URL": "http://127.0.0.1@idp.example.com/jwks.json"},
     "TOKEN_SERVICE_IDP_JWKS_URL: must be an https:// URL"),
    ({"TOKEN_SERVICE_SSM_ENDPOINT_URL": "ftp://moto"}, "TOKEN_SERVICE_SSM_ENDPOINT_URL: not an http(s) URL"),
    # urlsplit raises on these rather than returning parts: still a fault line, not a traceback.
    ({"TOKEN_SERVICE_SSM_ENDPOINT_URL": "http://["}, "TOKEN_SERVICE_SSM_ENDPOINT_URL: not a URL"),
    ({"TOKEN_SERVICE_IDP_JWKS_URL": "https://["}, "TOKEN_SERVICE_IDP_JWKS_URL: not a URL"),
    ({"TOKEN_SERVICE_CORS_ALLOWED_ORIGINS": "https://["}, "TOKEN_SERVICE_CORS_ALLOWED_ORIGINS: not a URL"),
    ({"TOKEN_SERVICE_MEDIA_BASE_URL": "https://[::1"}, "TOKEN_SERVICE_MEDIA_BASE_URL: not a URL"),
    ({"TOKEN_SERVICE_S3_ENDPOINT_URL": "http://["}, "TOKEN_SERVICE_S3_ENDPOINT_URL: not a URL"),
    ({"TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS": "7200"}, "TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS: must be 1..3600, got 7200"),
    ({"TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS": "0"}, "TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS: must be 1..3600, got 0"),
    ({"TOKEN_SERVICE_IDP_TIMEOUT_SECONDS": "nan"}, "TOKEN_SERVICE_IDP_TIMEOUT_SECONDS: not a number: 'nan'"),
    ({"TOKEN_SERVICE_DOCS_ENABLED": "yes"}, "TOKEN_SERVICE_DOCS_ENABLED: must be true or false, got 'yes'"),
    ({"TOKEN_SERVICE_DOCS_ENABLED": "1"}, "TOKEN_SERVICE_DOCS_ENABLED: must be true or false, got '1'"),
    ({"TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS": "five"}, "TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS: not an integer"),
    ({"TOKEN_SERVICE_IDP_TIMEOUT_SECONDS": "0"}, "TOKEN_SERVICE_IDP_TIMEOUT_SECONDS: must be > 0"),
    ({"TOKEN_SERVICE_IDP_ALGORITHMS": "RS256,HS256"}, "TOKEN_SERVICE_IDP_ALGORITHMS: allowed values are"),
    ({"TOKEN_SERVICE_IDP_ALGORITHMS": "none"}, "TOKEN_SERVICE_IDP_ALGORITHMS: allowed values are"),
    ({"TOKEN_SERVICE_DEFAULT_PATHS": "videos/{sub}/"}, "TOKEN_SERVICE_DEFAULT_PATHS: scope 'videos/sub/' must start"),
    ({"TOKEN_SERVICE_DEFAULT_PATHS": "/videos/../"}, "TOKEN_SERVICE_DEFAULT_PATHS: scope '/videos/../' has an empty"),
    ({"TOKEN_SERVICE_DEFAULT_PATHS": "/videos/{sub}/*.*"},
     "TOKEN_SERVICE_DEFAULT_PATHS: scope '/videos/sub/*.*' has more than one '*' in a segment"),
    ({"TOKEN_SERVICE_DEFAULT_PATHS": ",".join(f"/videos/{{sub}}/{n}*" for n in range(9))},
     "TOKEN_SERVICE_DEFAULT_PATHS: at most 8 paths with a '*'"),
    ({"TOKEN_SERVICE_CORS_ALLOWED_ORIGINS": "https://app.example.com/"},
     "TOKEN_SERVICE_CORS_ALLOWED_ORIGINS: 'https://app.example.com/' is not an origin"),
    *[({"TOKEN_SERVICE_CORS_ALLOWED_ORIGINS": origin},
       f"TOKEN_SERVICE_CORS_ALLOWED_ORIGINS: {origin!r} is not an origin like https://app.example.com")
      for origin in ("https://*.example.com", "*", "https://user:pw@app.example.com", "https://app.example.com?a=1",
                     "https://app.example.com?", "https://app.example.com#x", "https://App.Example.com",
                     "https://app.example.com/path", "ftp://app.example.com")],
    ({"TOKEN_SERVICE_CORS_ALLOWED_ORIGINS": "https://app.example.com:99999"},
     "TOKEN_SERVICE_CORS_ALLOWED_ORIGINS: not a URL (Port out of range 0-65535)"),
    ({"TOKEN_SERVICE_COOKIE_SAMESITE": "lax"}, "TOKEN_SERVICE_COOKIE_SAMESITE: one of Strict, Lax, None"),
    ({"TOKEN_SERVICE_COOKIE_DOMAIN": ".example.com"}, "TOKEN_SERVICE_COOKIE_DOMAIN: needs TOKEN_SERVICE_COOKIE_NAME"),
    *[({"TOKEN_SERVICE_COOKIE_NAME": "media_token", "TOKEN_SERVICE_COOKIE_DOMAIN": domain},
       f"TOKEN_SERVICE_COOKIE_DOMAIN: {domain!r} is not a domain name like media.example.com")
      for domain in ("example.com; SameSite=None", "example.com;Path=/x", "exa mple.com", ".", "médïa.example.com")],
    ({"TOKEN_SERVICE_COOKIE_NAME": "media token"}, "TOKEN_SERVICE_COOKIE_NAME: letters, digits"),
    ({"TOKEN_SERVICE_SIGNING_KEY_FILE": "/nonexistent/key.pem"},
     "TOKEN_SERVICE_SIGNING_KEY_FILE /nonexistent/key.pem: No such file or directory"),
    ({"TOKEN_SERVICE_SIGNING_KEY_FILE": "{weak}"}, "PEM block 1: RSA modulus must be at least 2048 bits"),
    ({"TOKEN_SERVICE_SIGNING_KEY_FILE": "{junk}"}, "junk.pem: no PEM private key found"),
    ({"TOKEN_SERVICE_SIGNING_KEY_FILE": "/dev/urandom"},
     "TOKEN_SERVICE_SIGNING_KEY_FILE /dev/urandom: larger than 1048576 bytes: not a PEM key file"),
    ({"TOKEN_SERVICE_IDP_JWKS_URL": None, "TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE": "/dev/urandom"},
     "TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE /dev/urandom: not a PEM public key"),
    ({"TOKEN_SERVICE_ACTIVE_KID": "nope"}, "TOKEN_SERVICE_ACTIVE_KID: no loaded key has kid 'nope'"),
    ({"TOKEN_SERVICE_SIGNING_KEY_IDS": "a,b"}, "TOKEN_SERVICE_SIGNING_KEY_IDS: 2 kids for 1 keys"),
    ({"TOKEN_SERVICE_IDP_JWKS_URL": None, "TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE": "{junk}"},
     "TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE {junk}: not a PEM public key"),
])
def test_bad_settings_name_the_variable(env, tmp_path, change, message):
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"junk")
    weak = weak_key_file(tmp_path, public_exponent=65537, key_size=1024)

    def fill(text):
        return text.replace("{junk}", str(junk)).replace("{weak}", weak)

    for name, value in change.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = fill(value)
    with pytest.raises(SettingsError) as raised:
        create_app(Settings.from_env(env))
    assert str(raised.value).startswith("TOKEN_SERVICE_")
    assert fill(message) in str(raised.value)


def test_settings_defaults(env):
    settings = Settings.from_env(env)
    assert settings.token_lifetime_seconds == 300
    assert settings.idp_algorithms == ("RS256",)
    assert settings.cookie_mode is False
    assert settings.default_paths == ()
    assert settings.ssm_region == "us-east-1"
    assert settings.docs_enabled is True


@pytest.mark.parametrize("url", [
    "https://idp.example.com/.well-known/jwks.json",
    "http://127.0.0.1:8703/.well-known/jwks.json",  # the local stack's IdP
    "http://localhost/jwks.json",
    "http://[::1]:9000/jwks.json",
])
def test_jwks_url_is_https_or_http_on_a_loopback_host(env, url):
    env["TOKEN_SERVICE_IDP_JWKS_URL"] = url
    assert Settings.from_env(env).idp_jwks_url == url


@pytest.mark.parametrize("raw, value", [("true", True), ("false", False), (" false ", False)])
def test_booleans_are_true_or_false(env, raw, value):
    env["TOKEN_SERVICE_DOCS_ENABLED"] = raw
    assert Settings.from_env(env).docs_enabled is value


# One environment with a fault in nearly every kind of rule: the operator sees all of them at once.
SEVERAL_FAULTS = {
    "TOKEN_SERVICE_ISSUER": None,
    "TOKEN_SERVICE_IDP_AUDIENCE": None,
    "TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS": "0",
    "TOKEN_SERVICE_IDP_LEEWAY_SECONDS": "soon",
    "TOKEN_SERVICE_IDP_JWKS_URL": "http://idp.example.com/jwks.json",
    "TOKEN_SERVICE_DOCS_ENABLED": "yes",
    "TOKEN_SERVICE_COOKIE_SAMESITE": "lax",
    "TOKEN_SERVICE_COOKIE_DOMAIN": "example.com",
    "TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER": "/media/key",
}
SEVERAL_FAULT_LINES = [
    "TOKEN_SERVICE_ISSUER: required",
    "TOKEN_SERVICE_IDP_AUDIENCE: required",
    "TOKEN_SERVICE_IDP_LEEWAY_SECONDS: not an integer: 'soon'",
    "TOKEN_SERVICE_DOCS_ENABLED: must be true or false, got 'yes'",
    "TOKEN_SERVICE_IDP_JWKS_URL: must be an https:// URL (http only for 127.0.0.1, localhost, ::1), "
    "got 'http://idp.example.com/jwks.json'",
    "TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS: must be 1..3600, got 0",
    "TOKEN_SERVICE_COOKIE_SAMESITE: one of Strict, Lax, None, got 'lax'",
    "TOKEN_SERVICE_SIGNING_KEY_FILE or TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER: set exactly one",
    "TOKEN_SERVICE_COOKIE_DOMAIN: needs TOKEN_SERVICE_COOKIE_NAME (cookie mode is on when the name is set)",
]


def with_changes(env, changes):
    env = dict(env)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def test_every_fault_is_reported_in_one_run(env):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(with_changes(env, SEVERAL_FAULTS))
    assert sorted(raised.value.faults) == sorted(SEVERAL_FAULT_LINES)
    assert str(raised.value) == "; ".join(raised.value.faults)


def test_key_and_idp_key_faults_are_reported_together(env, tmp_path):
    env = with_changes(env, {"TOKEN_SERVICE_SIGNING_KEY_FILE": str(tmp_path / "missing.pem"),
                             "TOKEN_SERVICE_IDP_JWKS_URL": None,
                             "TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE": str(tmp_path / "missing-idp.pem")})
    with pytest.raises(SettingsError) as raised:
        create_app(Settings.from_env(env))
    assert raised.value.faults == [
        f"TOKEN_SERVICE_SIGNING_KEY_FILE {tmp_path / 'missing.pem'}: No such file or directory",
        f"TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE {tmp_path / 'missing-idp.pem'}: No such file or directory"]


def test_direct_construction_is_checked_too():
    with pytest.raises(SettingsError) as raised:
        Settings(issuer="", audience="a", idp_issuer="i", idp_audience="a", signing_key_file=("k.pem",),
                 idp_jwks_url="https://idp.example.com/jwks.json", token_lifetime_seconds=99999)
    assert raised.value.faults == ["TOKEN_SERVICE_ISSUER: required",
                                   "TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS: must be 1..3600, got 99999"]


def run_server(env):
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("TOKEN_SERVICE_")}, **env}
    return subprocess.run([sys.executable, "-m", "token_service", "--port", str(free_port())], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=60)


def test_the_server_refuses_to_start_with_one_line_and_exit_2(env):
    env["TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS"] = "86400"
    result = run_server(env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "token_service: TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS: must be 1..3600, got 86400"]
    assert result.stdout == ""


def test_the_server_prints_every_fault_as_its_own_line_without_a_traceback(env):
    result = run_server(with_changes(env, SEVERAL_FAULTS))
    assert result.returncode == 2
    assert sorted(result.stderr.strip().splitlines()) == sorted(f"token_service: {line}" for line in SEVERAL_FAULT_LINES)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_several_workers_each_build_the_app_from_the_environment(start_service, base_settings, idp):
    service = start_service(base_settings, workers=2)
    kids = {jwt.get_unverified_header(service.post_token(idp.token()).json()["access_token"])["kid"]
            for _ in range(6)}
    assert kids == {service.get("/readyz").json()["active_kid"]}
