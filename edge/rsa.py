"""RSASSA-PKCS1-v1_5 with SHA-256 (RS256) verification in pure Python.

Built as RFC 8017 §8.2.2 recommends: rebuild the whole expected encoded message
`00 01 FF..FF 00 || DigestInfo(SHA-256) || H(m)` and compare all k bytes. Nothing is parsed
out of the decrypted block, which is what made Bleichenbacher's 2006 forgery, BERserk and
python-rsa CVE-2016-1494 possible.
"""
import hashlib
import hmac

# DER of DigestInfo{AlgorithmIdentifier{id-sha256, NULL}, OCTET STRING(32)} (RFC 8017 §9.2 note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def expected_encoding(k, message):
    """EMSA-PKCS1-v1_5 encoding of SHA-256(message) for a k-byte modulus (None if k is too small)."""
    padding = k - 3 - len(SHA256_DIGEST_INFO) - 32
    if padding < 8:
        return None
    return b"\x00\x01" + b"\xff" * padding + b"\x00" + SHA256_DIGEST_INFO + hashlib.sha256(message).digest()


def verify_pkcs1v15_sha256(n: int, e: int, message: bytes, signature: bytes) -> bool:
    """True only for the one valid RS256 signature of `message` under (n, e). Never raises."""
    try:
        if type(n) is not int or type(e) is not int or n <= 0 or e <= 0:
            return False
        k = (n.bit_length() + 7) // 8
        if len(signature) != k:
            return False
        s = int.from_bytes(signature, "big")
        if s >= n:
            return False
        expected = expected_encoding(k, bytes(message))
        if expected is None:
            return False
        return hmac.compare_digest(pow(s, e, n).to_bytes(k, "big"), expected)
    except Exception:
        return False
