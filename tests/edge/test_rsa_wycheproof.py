"""Both RS256 verifiers against every Wycheproof RSASSA-PKCS1-v1_5 SHA-256 2048-bit vector.

"valid" must be accepted; "invalid" and "acceptable" (legacy MissingNull) must be rejected.
"""
import json
import pathlib

import pytest

from edge import openssl, rsa

VECTORS = pathlib.Path(__file__).parent / "vectors/wycheproof/rsa_signature_2048_sha256_test.json"


def _cases():
    data = json.loads(VECTORS.read_text())
    assert data["numberOfTests"] == 259
    for group in data["testGroups"]:
        n = int(group["publicKey"]["modulus"], 16)
        e = int(group["publicKey"]["publicExponent"], 16)
        for test in group["tests"]:
            yield pytest.param(n, e, bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]),
                               test["result"] == "valid", id=f"tc{test['tcId']}-{test['result']}")


CASES = list(_cases())
LIBCRYPTO = openssl.load()


def test_all_vectors_present():
    assert len(CASES) == 259


@pytest.mark.parametrize("n,e,msg,sig,valid", CASES)
def test_pure_python(n, e, msg, sig, valid):
    assert rsa.verify_pkcs1v15_sha256(n, e, msg, sig) is valid


@pytest.mark.parametrize("n,e,msg,sig,valid", CASES)
def test_openssl(n, e, msg, sig, valid):
    assert LIBCRYPTO is not None
    verifier = openssl.make_verifier(LIBCRYPTO, n, e)
    assert isinstance(verifier, openssl.OpenSSLVerifier)
    assert verifier(msg, sig) is valid


def test_openssl_verifier_reused_across_all_vectors_in_both_orders():
    """One verifier keeps one OpenSSL context for its key: no answer may depend on the ones before."""
    verifiers = {}
    for case in CASES + CASES[::-1]:
        n, e, msg, sig, valid = case.values
        if (n, e) not in verifiers:
            verifiers[n, e] = openssl.make_verifier(LIBCRYPTO, n, e)
            assert isinstance(verifiers[n, e], openssl.OpenSSLVerifier)
        assert verifiers[n, e](msg, sig) is valid, case.id
    assert len(verifiers) < len(CASES)  # keys really were shared between cases


@pytest.mark.parametrize("n,e,msg,sig", [
    (0, 65537, b"", b""),
    (-5, 65537, b"", b"\x00"),
    ("12", 65537, b"", b"\x00"),
    (2**2048 - 1, 0, b"", b"\x00" * 256),
    (2**2048 - 1, 65537, None, b"\x00" * 256),
    (2**2048 - 1, 65537, b"", None),
    (97, 65537, b"", b"\x01"),  # modulus far too small for the encoding
])
def test_pure_python_never_raises(n, e, msg, sig):
    assert rsa.verify_pkcs1v15_sha256(n, e, msg, sig) is False


def test_signature_equal_to_or_above_modulus_rejected_by_both():
    n = int(CASES[0].values[0])
    for sig in (n.to_bytes(256, "big"), (n + 1).to_bytes(256, "big"), b"\xff" * 256):
        assert rsa.verify_pkcs1v15_sha256(n, 65537, b"", sig) is False
        assert openssl.make_verifier(LIBCRYPTO, n, 65537)(b"", sig) is False


def test_der_of_subject_public_key_info_matches_wycheproof():
    data = json.loads(VECTORS.read_text())
    group = data["testGroups"][0]
    n = int(group["publicKey"]["modulus"], 16)
    assert openssl.subject_public_key_info(n, 65537).hex() == group["publicKeyDer"]
