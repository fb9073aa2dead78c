import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from edge import keys as edge_keys
from edge.authorizer import Authorizer
from edge.config import load_config

ISSUER = "https://tokens.example.com"
AUDIENCE = "media.example.com"
NOW = 1_800_000_000


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(private_key, kid):
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update(kid=kid, use="sig", alg="RS256")
    return jwk


@pytest.fixture(scope="session")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def jwks(key):
    return {"keys": [public_jwk(key, "k1")]}


def claims(**overrides):
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u42", "iat": NOW, "nbf": NOW, "exp": NOW + 300,
            "jti": "j-1"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign_raw(private_key, header_segment, payload_segment):
    """A compact JWS over arbitrary (even hostile) header/payload segments, RS256-signed."""
    signing_input = f"{header_segment}.{payload_segment}".encode()
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header_segment}.{payload_segment}.{b64url(signature)}"


def encode_json(obj):
    return b64url(json.dumps(obj).encode())


class Tokens:
    def __init__(self, key):
        self.key = key

    def make(self, key=None, kid="k1", headers=None, **claim_overrides):
        header = {"kid": kid, **(headers or {})} if kid is not None else dict(headers or {})
        return jwt.encode(claims(**claim_overrides), key or self.key, "RS256", headers=header)

    def raw(self, header, payload, key=None):
        return sign_raw(key or self.key, header, payload)


@pytest.fixture(scope="session")
def tokens(key):
    return Tokens(key)


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(params=["openssl", "pure"])
def backend(request, monkeypatch):
    """Run a test once through the OpenSSL verifier and once through the pure-Python one."""
    if request.param == "openssl":
        assert edge_keys._libcrypto is not None, "OpenSSL binding must load on this machine"
    else:
        monkeypatch.setattr(edge_keys, "_libcrypto", None)
    return request.param


@pytest.fixture
def raw_config(jwks):
    """The smallest valid edge config, as the package builder takes it."""
    return {"issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks}


@pytest.fixture
def make_config(jwks):
    def make(**overrides):
        raw = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks,
               "cors_allowed_origins": ["https://app.example.com"], "cookie_name": "media_token"}
        raw.update(overrides)
        return load_config(raw)
    return make


class Logged(list):
    def __call__(self, line):
        self.append(json.loads(line))

    @property
    def decisions(self):
        return [entry for entry in self if "outcome" in entry]


@pytest.fixture
def make_authorizer(make_config, clock):
    def make(fetch=None, **overrides):
        logs = Logged()
        authorizer = Authorizer(make_config(**overrides), clock=clock, log=logs, fetch=fetch)
        authorizer.logs = logs
        return authorizer
    return make


@pytest.fixture
def authorizer(make_authorizer, backend):
    return make_authorizer()


def status(result):
    """'forward' when the request goes on to the origin, else the generated status."""
    return result.get("status", "forward") if "uri" not in result else "forward"


def header(result, name):
    values = result.get("headers", {}).get(name.lower())
    return values[0]["value"] if values else None


def real_now():
    return int(time.time())
