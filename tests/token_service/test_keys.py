"""token_service.keys (shared with the Pulumi program and the local stack) and the key CLI."""
import json
import stat
import subprocess
import sys

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from token_service import keys
from tests.token_service.conftest import ROOT

# RFC 7638 §3.1: this key's thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
RFC7638_N = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
             "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9"
             "c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1"
             "jF44-csFCur-kEgU8awapJzKnqDKgw")


def pem(key, form=serialization.PrivateFormat.PKCS8, encryption=serialization.NoEncryption()) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, form, encryption)


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_thumbprint_matches_rfc7638_example():
    n = int.from_bytes(jwt.utils.base64url_decode(RFC7638_N), "big")
    public_key = rsa.RSAPublicNumbers(65537, n).public_key()
    assert keys.thumbprint(public_key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_public_jwk_shape_and_kid(key):
    jwk = keys.public_jwk(key.public_key())
    assert set(jwk) == {"kty", "use", "alg", "kid", "n", "e"}
    assert (jwk["kty"], jwk["use"], jwk["alg"], jwk["e"]) == ("RSA", "sig", "RS256", "AQAB")
    assert jwk["kid"] == keys.thumbprint(key.public_key())
    assert keys.public_jwk(key, "chosen")["kid"] == "chosen"
    assert keys.public_jwk(key) == jwk  # a private key is accepted and only its public half published


def test_public_jwk_verifies_tokens_the_key_signs(key):
    token = jwt.encode({"sub": "u42"}, key, algorithm="RS256")
    assert jwt.decode(token, jwt.PyJWK(keys.public_jwk(key)), algorithms=["RS256"])["sub"] == "u42"


def test_jwks_from_keys_and_from_jwk_dicts(key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    document = keys.jwks([key, keys.public_jwk(other, "k2")])
    assert [entry["kid"] for entry in document["keys"]] == [keys.thumbprint(key), "k2"]
    with pytest.raises(ValueError, match="duplicate kid"):
        keys.jwks([key, key.public_key()])


def test_one_pem_may_hold_several_keys_in_order(key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    both = pem(key) + b"\n" + pem(other, serialization.PrivateFormat.TraditionalOpenSSL)
    loaded = keys.load_private_keys_pem(both)
    assert [keys.thumbprint(k) for k in loaded] == [keys.thumbprint(key), keys.thumbprint(other)]


@pytest.mark.parametrize("make, message", [
    (lambda: b"hello", "no PEM private key found"),
    (lambda: b"", "no PEM private key found"),
    (lambda: pem(ec.generate_private_key(ec.SECP256R1())), "PEM block 1: not an RSA key"),
    (lambda: pem(rsa.generate_private_key(65537, 1024)), "PEM block 1: RSA modulus must be at least 2048 bits"),
    (lambda: pem(rsa.generate_private_key(3, 2048)), "PEM block 1: RSA public exponent must be 65537"),
    (lambda: pem(rsa.generate_private_key(65537, 2048), encryption=serialization.BestAvailableEncryption(b"pw")),
     "PEM block 1: not an unencrypted private key"),
    (lambda: rsa.generate_private_key(65537, 2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
     "PEM block 1: not an unencrypted private key"),
    (lambda: b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PEM block 1"),
])
def test_unusable_pems_are_refused_by_block_number(make, message):
    with pytest.raises(ValueError, match=message):
        keys.load_private_keys_pem(make())


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "token_service", "keys", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_keys_new_writes_a_private_pem_and_prints_its_kid(tmp_path):
    path = tmp_path / "signing.pem"
    result = run_cli("new", str(path))
    assert result.returncode == 0, result.stderr
    (loaded,) = keys.load_private_keys_pem(path.read_bytes())
    assert result.stdout.strip() == keys.thumbprint(loaded)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in result.stdout

    again = run_cli("new", str(path))
    assert again.returncode == 1 and "File exists" in again.stderr
    assert keys.load_private_keys_pem(path.read_bytes())[0].private_numbers() == loaded.private_numbers()


def test_cli_keys_jwks_prints_every_public_key(tmp_path, key):
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    first.write_bytes(pem(key))
    second.write_bytes(pem(other))
    result = run_cli("jwks", str(first), str(second))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == keys.jwks([key, other])

    named = run_cli("jwks", str(first), str(second), "--kid", "k1", "--kid", "k2")
    assert [entry["kid"] for entry in json.loads(named.stdout)["keys"]] == ["k1", "k2"]


@pytest.mark.parametrize("args, message", [
    (["jwks", "/nonexistent.pem"], "No such file"),
    (["jwks", "{pem}", "--kid", "a", "--kid", "b"], "2 --kid values for 1 keys"),
    (["jwks", "{junk}"], "junk.pem: no PEM private key found"),
])
def test_cli_errors_are_one_line_and_exit_1(tmp_path, key, args, message):
    (tmp_path / "k.pem").write_bytes(pem(key))
    (tmp_path / "junk.pem").write_bytes(b"junk")
    args = [arg.format(pem=tmp_path / "k.pem", junk=tmp_path / "junk.pem") for arg in args]
    result = run_cli(*args)
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
