"""`python -m token_service check-idp`: the operator's check of an app token against the settings,
run as a subprocess against the test IdP's JWKS over real loopback HTTP. It says which setting
is wrong, exits 0 only when POST /token would accept the token, and never prints the token."""
import os
import subprocess
import sys

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.token_service.conftest import IDP_AUDIENCE, IDP_ISSUER, ROOT, JwksServer


def check_idp(settings, token, as_argument=False):
    env = {name: value for name, value in os.environ.items() if not name.startswith("TOKEN_SERVICE_")}
    env.update({f"TOKEN_SERVICE_{name.upper()}": str(value) for name, value in settings.items()})
    command = [sys.executable, "-m", "token_service", "check-idp"] + ([token] if as_argument else [])
    result = subprocess.run(command, cwd=ROOT, env=env, input=None if as_argument else token,
                            capture_output=True, text=True, timeout=60)
    assert token not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture(scope="module")
def settings(base_settings):
    return {**base_settings, "default_paths": "/videos/{sub}/,/public/"}


@pytest.mark.parametrize("as_argument", [False, True], ids=["stdin", "argument"])
def test_a_good_token_exits_0_and_names_the_sub(settings, idp, as_argument):
    result = check_idp(settings, idp.token(sub="u42"), as_argument)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == (
        "OK: POST /token accepts this token; sub 'u42' would be used; viewing token paths: /videos/u42/, /public/")
    assert f"TOKEN_SERVICE_IDP_JWKS_URL {settings['idp_jwks_url']}: 1 usable key(s), kids 'idp-1'" in result.stdout


@pytest.mark.parametrize("change, claims, expected", [
    ({}, {"iss": IDP_ISSUER + "/"},
     f"iss in the token is '{IDP_ISSUER}/' but TOKEN_SERVICE_IDP_ISSUER is '{IDP_ISSUER}' (trailing slash)"),
    ({"idp_issuer": IDP_ISSUER + "/"}, {},
     f"iss in the token is '{IDP_ISSUER}' but TOKEN_SERVICE_IDP_ISSUER is '{IDP_ISSUER}/' (trailing slash)"),
    ({"idp_audience": "api://media"}, {},
     f"aud in the token is '{IDP_AUDIENCE}' but TOKEN_SERVICE_IDP_AUDIENCE is 'api://media' "
     "(TOKEN_SERVICE_IDP_AUDIENCE_CLAIM is 'aud')"),
    ({"idp_audience_claim": "client_id"}, {},
     "the token has no 'client_id' claim (TOKEN_SERVICE_IDP_AUDIENCE_CLAIM is 'client_id'); its claims are "
     "['aud', 'exp', 'iat', 'iss', 'sub']"),
    ({"idp_audience_claim": "client_id"}, {"client_id": "spa"},
     f"client_id in the token is 'spa' but TOKEN_SERVICE_IDP_AUDIENCE is '{IDP_AUDIENCE}' "
     "(TOKEN_SERVICE_IDP_AUDIENCE_CLAIM is 'client_id')"),
    ({}, {"exp": 1_000_000_000}, "exp in the token is 2001-09-09T01:46:40Z ("),
])
def test_a_claim_mismatch_names_the_setting(settings, idp, change, claims, expected):
    result = check_idp({**settings, **change}, idp.token(**claims))
    assert result.returncode == 1
    assert result.stdout.splitlines()[-2].startswith("NOT OK: POST /token would answer 401 invalid_token: ")
    assert result.stdout.splitlines()[-1].strip().startswith(expected)


def test_an_algorithm_outside_the_settings_is_named(settings, idp):
    result = check_idp(settings, idp.token(algorithm="RS384"))
    assert result.returncode == 1
    assert "token: " in result.stdout and "alg 'RS384', kid 'idp-1'" in result.stdout
    assert "alg in the token header is 'RS384' but TOKEN_SERVICE_IDP_ALGORITHMS is RS256" in result.stdout


def test_a_kid_missing_from_the_jwks_is_named(settings, idp):
    result = check_idp(settings, idp.token(kid="old-key"))
    assert result.returncode == 1
    assert (f"kid 'old-key' is not among the usable keys of TOKEN_SERVICE_IDP_JWKS_URL {settings['idp_jwks_url']} "
            "(kids: idp-1") in result.stdout


def test_a_token_from_another_key_is_a_bad_signature(settings, idp):
    from token_service.keys import new_private_key
    result = check_idp(settings, idp.token(key=new_private_key()))
    assert result.returncode == 1
    assert "NOT OK: POST /token would answer 401 invalid_token: bad signature" in result.stdout


def test_an_unreachable_jwks_url_is_named(settings, idp):
    gone = JwksServer(idp.jwks())
    gone.stop()
    result = check_idp({**settings, "idp_jwks_url": gone.url}, idp.token())
    assert result.returncode == 1
    assert result.stdout.startswith("token: ")
    assert f"NOT OK: TOKEN_SERVICE_IDP_JWKS_URL {gone.url}: identity provider keys unavailable:" in result.stdout


@pytest.mark.parametrize("sub, reason", [
    ("a/b", "the caller's subject cannot be used in a path scope"),
    ("x" * 257, "the caller's subject is longer than 256 characters"),
    ("\ud800", "the caller's subject is not valid Unicode"),
])
def test_a_subject_post_token_would_refuse_is_not_ok(settings, idp, sub, reason):
    result = check_idp(settings, idp.token(sub=sub))
    assert result.returncode == 1
    assert f"NOT OK: POST /token would answer 403 access_denied: {reason} (sub " in result.stdout


def test_the_public_key_file_mode(settings, idp, tmp_path):
    pem = tmp_path / "idp.pem"
    pem.write_bytes(idp.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    local = {**settings, "idp_jwks_url": "", "idp_public_key_file": pem}
    result = check_idp(local, idp.token(sub="u7"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE {pem}: loaded" in result.stdout


def test_bad_settings_exit_2_with_every_fault(settings, idp):
    result = check_idp({**settings, "idp_issuer": "", "idp_leeway_seconds": "-1"}, idp.token())
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["check-idp: TOKEN_SERVICE_IDP_ISSUER: required",
                                          "check-idp: TOKEN_SERVICE_IDP_LEEWAY_SECONDS: must be 0..300, got -1"]


@pytest.mark.parametrize("token", ["", "not-a-token", "Bearer "])
def test_no_or_malformed_token(settings, token):
    result = subprocess.run([sys.executable, "-m", "token_service", "check-idp"], cwd=ROOT, input=token,
                            env={**os.environ, **{f"TOKEN_SERVICE_{k.upper()}": str(v) for k, v in settings.items()}},
                            capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr
    if token.strip() in ("", "Bearer"):
        assert result.returncode == 2 and "no token" in result.stderr
    else:
        assert result.returncode == 1 and "invalid_token: malformed token" in result.stdout


def test_it_uses_the_services_own_verifier():
    """No second copy of the rules: the command calls the verifier and scope code POST /token uses."""
    from token_service import check_idp
    from token_service.idp import AppTokenVerifier
    from token_service.routers import token
    assert check_idp.AppTokenVerifier is AppTokenVerifier and check_idp.default_scope is token.default_scope
    assert "jwt.decode" not in open(check_idp.__file__).read()


def test_a_jwks_without_a_key_for_the_configured_algorithms_is_named(settings, idp):
    server = JwksServer(idp.jwks())
    try:
        result = check_idp({**settings, "idp_jwks_url": server.url, "idp_algorithms": "ES256"},
                           idp.token(algorithm="RS256"))
    finally:
        server.stop()
    assert result.returncode == 1
    assert ("JWKS document has no usable signing key (use sig, a kid, an algorithm in "
            "TOKEN_SERVICE_IDP_ALGORITHMS: ES256)") in result.stdout
