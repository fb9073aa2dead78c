"""POST /token against the real server: caller authentication, response shape, scope narrowing."""
import asyncio
import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from token_service.app import create_app
from token_service.settings import Settings
from tests.token_service.conftest import APP_ORIGIN, AUDIENCE, IDP_AUDIENCE, IDP_ISSUER, ISSUER, claims_of


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_valid_app_token_gets_a_viewing_token(service, idp, signing_pems):
    response = service.post_token(idp.token(sub="u42"))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300

    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": signing_pems["old"][1]}
    public_key = serialization.load_pem_private_key(signing_pems["old"][0].read_bytes(), None).public_key()
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["sub"] == "u42"
    assert claims["nbf"] == claims["iat"] and claims["exp"] == claims["iat"] + 300
    assert abs(claims["iat"] - time.time()) < 5
    assert claims["paths"] == ["/videos/u42/", "/public/"]  # the default, {sub} filled in
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16


def test_every_token_has_its_own_jti(service, idp):
    app_token = idp.token()
    jtis = {claims_of(service.post_token(app_token).json()["access_token"])["jti"] for _ in range(3)}
    assert len(jtis) == 3


@pytest.mark.parametrize("claims, reason", [
    ({"exp": int(time.time()) - 3600}, "token expired"),
    ({"iss": "https://evil.example.com"}, "wrong issuer"),
    ({"aud": "some-other-app"}, "wrong audience"),
    ({"sub": None}, "token has no sub claim"),
    ({"exp": None}, "token has no exp claim"),
    ({"nbf": int(time.time()) + 3600}, "token not valid yet"),
])
def test_bad_claims_are_401(service, idp, claims, reason):
    response = service.post_token(idp.token(**claims))
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": reason}
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="token-service", error="invalid_token"')
    assert reason in challenge


def test_alg_none_is_401(service, idp):
    header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": idp.kid}).encode())
    payload = b64url(json.dumps({"iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "sub": "u42",
                                 "exp": int(time.time()) + 600}).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        response = service.post_token(token)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"


def test_hs256_with_the_public_key_as_secret_is_401(service, idp):
    """Key confusion: an attacker HMACs a token with the IdP's public key bytes."""
    public_pem = idp.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": idp.kid}).encode())
    payload = b64url(json.dumps({"iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "sub": "u42",
                                 "exp": int(time.time()) + 600}).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    response = service.post_token(f"{header}.{payload}.{b64url(signature)}")
    assert response.status_code == 401
    assert response.json()["error_description"] == "token algorithm not allowed"


def test_unknown_kid_is_401(service, idp):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = service.post_token(idp.token(key=stranger, kid="not-a-kid-the-idp-has"))
    assert response.status_code == 401
    assert response.json()["error_description"] == "token signed with an unknown key"


def test_known_kid_signed_by_another_key_is_401(service, idp):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = service.post_token(idp.token(key=stranger))
    assert response.status_code == 401
    assert response.json()["error_description"] == "bad signature"


def test_token_without_kid_is_401(service, idp):
    response = service.post_token(idp.token(kid=None))
    assert response.status_code == 401
    assert response.json()["error_description"] == "token header has no kid"


@pytest.mark.parametrize("authorization", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
def test_missing_credentials_are_401_without_error_code(service, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = service.post_token(headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="token-service"'
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "e30.e30.", "...", "x" * 9000,
                                     b64url(b"[" * 5000) + ".e30.sig"])
def test_garbage_tokens_are_401(service, garbage):
    response = service.post_token(garbage)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_paths_narrow_the_default(service, idp):
    response = service.post_token(idp.token(sub="u42"), json={"paths": ["/videos/u42/clip.mp4", "/public/*.jpg"]})
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["access_token"])["paths"] == ["/videos/u42/clip.mp4", "/public/*.jpg"]


@pytest.mark.parametrize("paths", [
    ["/videos/u43/clip.mp4"],       # another member's prefix
    ["/videos/"],                   # wider than the member's own prefix
    ["/videos/*/clip.mp4"],         # a pattern reaching other members
    ["/videos/u42"],                # not under the prefix "/videos/u42/"
    ["/"],
])
def test_paths_never_widen(service, idp, paths):
    response = service.post_token(idp.token(sub="u42"), json={"paths": paths})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


@pytest.mark.parametrize("paths, reason", [
    ([], "paths: List should have at least 1 item"),
    (["videos/u42/"], "paths.0: String should match pattern '^/'"),
    (["/videos/u42/../u43/"], "empty or dot segment"),
    (["/videos//u42/"], "empty or dot segment"),
])
def test_bad_paths_are_400(service, idp, paths, reason):
    response = service.post_token(idp.token(sub="u42"), json={"paths": paths})
    assert response.status_code == 400
    assert reason in response.json()["error_description"]


@pytest.mark.parametrize("content, content_type, status", [
    (b"{", "application/json", 400),
    (b"not json", "application/json", 400),
    (b"[" * 10_000, "application/json", 400),             # deeper than Python's recursion limit
    (b"[]", "application/json", 400),                      # not an object
    (b'"paths"', "application/json", 400),
    (b'{"paths": "/videos/u42/"}', "application/json", 400),
    (b'{"paths": [1, 2]}', "application/json", 400),
    (b'{"path": ["/videos/u42/"]}', "application/json", 400),  # misspelt: must not mean "default"
    (b"\xff\xfe\x00", "application/json", 400),
    (b'{"paths": ["/videos/u42/"]}', "text/plain", 415),
    (b"paths=/videos/u42/", "application/x-www-form-urlencoded", 415),
    (b'{"paths": ["/videos/u42/' + b"a" * 20_000 + b'"]}', "application/json", 413),
])
def test_malformed_bodies_are_4xx_with_a_reason(service, idp, content, content_type, status):
    response = service.post_token(idp.token(), content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] in ("invalid_request", "invalid_scope") and body["error_description"]


def test_empty_body_or_null_paths_mean_the_default(service, idp):
    for kwargs in ({"content": b""}, {"json": {}}, {"json": {"paths": None}}):
        response = service.post_token(idp.token(sub="u7"), **kwargs)
        assert response.status_code == 200, response.text
        assert claims_of(response.json()["access_token"])["paths"] == ["/videos/u7/", "/public/"]


@pytest.mark.parametrize("sub", ["a/b", "*", "..", "x" * 300])
def test_subjects_that_would_escape_their_prefix_are_403(service, idp, sub):
    response = service.post_token(idp.token(sub=sub))
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"


def test_no_default_paths_means_every_path_and_any_narrowing(start_service, base_settings, idp):
    service = start_service(base_settings)
    assert "paths" not in claims_of(service.post_token(idp.token()).json()["access_token"])
    narrowed = service.post_token(idp.token(), json={"paths": ["/videos/*/public/"]})
    assert claims_of(narrowed.json()["access_token"])["paths"] == ["/videos/*/public/"]


def test_jwks_endpoint(service, signing_pems):
    response = service.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    (jwk,) = response.json()["keys"]
    assert jwk["kid"] == signing_pems["old"][1]
    assert {jwk["kty"], jwk["use"], jwk["alg"], jwk["e"]} == {"RSA", "sig", "RS256", "AQAB"}
    assert "d" not in jwk and "p" not in jwk


def test_health_and_readiness(service, signing_pems):
    assert service.get("/healthz").json() == {"status": "ok"}
    ready = service.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "active_kid": signing_pems["old"][1]}


def test_openapi_and_docs(service):
    schema = service.get("/openapi.json").json()
    assert {"/token", "/.well-known/jwks.json", "/healthz", "/readyz"} <= set(schema["paths"])
    (scheme,) = schema["components"]["securitySchemes"].values()
    assert scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
    assert schema["paths"]["/token"]["post"]["security"]
    docs = service.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_cors_for_configured_origins_only(service, idp):
    assert service.get("/token").status_code == 405
    allowed = httpx_options(service, APP_ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    denied = httpx_options(service, "https://evil.example.com")
    assert "access-control-allow-origin" not in denied.headers

    minted = service.post_token(idp.token(), headers={"Origin": APP_ORIGIN})
    assert minted.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "access-control-allow-credentials" not in minted.headers  # cookie mode is off


def httpx_options(service, origin):
    return httpx.options(f"{service.url}/token", timeout=10, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})


def test_no_cookie_by_default(service, idp):
    assert "set-cookie" not in service.post_token(idp.token()).headers


def test_one_json_log_line_per_request_with_request_id_and_no_secrets(service, idp, signing_pems):
    app_token = idp.token(sub="log-check")
    minted = service.post_token(app_token, headers={"X-Request-Id": "req-123"})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = service.post_token(idp.token(key=stranger))
    assert minted.headers["x-request-id"] == "req-123"
    generated = refused.headers["x-request-id"]
    assert generated and generated != "req-123"

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = {line["request_id"]: line for line in service.log_lines()}
        if {"req-123", generated} <= set(lines):
            break
        time.sleep(0.05)
    ok, bad = lines["req-123"], lines[generated]
    assert ok["status"] == 200 and ok["path"] == "/token" and ok["method"] == "POST" and ok["sub"] == "log-check"
    assert ok["jti"] == claims_of(minted.json()["access_token"])["jti"]
    assert bad["status"] == 401 and bad["reason"] == "bad signature"

    text = service.log_text()
    access_token = minted.json()["access_token"]
    for secret in (app_token, access_token, access_token.split(".")[2], app_token.split(".")[2]):
        assert secret not in text
    assert "PRIVATE KEY" not in text + service.stderr()
    private_numbers = serialization.load_pem_private_key(signing_pems["old"][0].read_bytes(), None).private_numbers()
    assert str(private_numbers.d)[:40] not in text


@pytest.mark.parametrize("declared", ["²", "1²", "99999999999999999999999"])
def test_an_odd_content_length_is_no_500(base_settings, idp, declared):
    """Called as an ASGI app, as any server or Mangum would: a Content-Length that str.isdigit()
    takes for digits ("²" in latin-1) but int() does not is read as an unknown length."""
    app = create_app(Settings.from_env({f"TOKEN_SERVICE_{k.upper()}": str(v) for k, v in base_settings.items()}),
                     log=lambda line: None)
    headers = [(b"authorization", f"Bearer {idp.token()}".encode()), (b"content-type", b"application/json"),
               (b"content-length", declared.encode("latin-1"))]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "https",
             "path": "/token", "raw_path": b"/token", "query_string": b"", "root_path": "", "headers": headers,
             "server": ("token.example.com", 443), "client": ("203.0.113.7", 1234)}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(message["status"] for message in sent if message["type"] == "http.response.start")
    assert status == (413 if declared.isascii() else 200)
