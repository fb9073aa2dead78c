"""RS256 verification through the libcrypto that Python's own `_ssl` module already links.

Every CPython on Lambda loads OpenSSL for `ssl`; reaching it with ctypes costs no package
bytes and no native code of ours, and verifies about 5x faster than Python's `pow()`.
The binding proves itself on a known-answer vector before it is trusted; when anything is
missing or wrong, `load()` returns None and callers use the pure-Python verifier in
`edge.rsa` (which passes the same vectors and hostile suite).
"""
import ctypes
import hashlib
import threading

from edge import rsa

# Control codes with the same values in OpenSSL 1.1.1 and 3.x (openssl/evp.h, openssl/rsa.h).
_EVP_PKEY_RSA = 6
_ANY_OPERATION = -1
_EVP_PKEY_CTRL_MD = 1
_EVP_PKEY_CTRL_RSA_PADDING = 0x1000 + 1
_RSA_PKCS1_PADDING = 1

# Known answer (Wycheproof rsa_signature_2048_sha256_test.json, tcId 1: empty message).
_KAT_N = int(
    "a2b451a07d0aa5f96e455671513550514a8a5b462ebef717094fa1fee82224e637f9746d3f7cafd31878d80325b6ef5a"
    "1700f65903b469429e89d6eac8845097b5ab393189db92512ed8a7711a1253facd20f79c15e8247f3d3e42e46e48c98e"
    "254a2fe9765313a03eff8f17e1a029397a1fa26a8dce26f490ed81299615d9814c22da610428e09c7d9658594266f5c0"
    "21d0fceca08d945a12be82de4d1ece6b4c03145b5d3495d4ed5411eb878daf05fd7afc3e09ada0f1126422f590975a19"
    "69816f48698bcbba1b4d9cae79d460d8f9f85e7975005d9bc22c4e5ac0f7c1a45d12569a62807d3b9a02e5a530e77306"
    "6f453d1f5b4c2e9cf7820283f742b9d5", 16)
_KAT_SIG = bytes.fromhex(
    "840f5dac53106dd1f9c57219224cf51289290c42f20466875ba8e830ac5690e541536fcc8ab03b731f82bf66d83f194e"
    "7e180b3963ec7a2f3f7904a7ce49aed47da4d4b79421eaf937d301b3e696169297b797c32c076a12be4de0b58e003c51"
    "23051a84a10c62f8dac2f42a8640008eb3c7cccd6760ff5b51b689763922582845f048fb8150e5a7a6ca2eccc7bdc853"
    "49ad5b26c52137a79fa3fe5c29ab5cd7615013219c1941b6708e9c3c23feff5febaf0c8ebca5750b54e3e6e99a3e876b"
    "396f27860b7f3ec4e9191703c6332d944f6f69751167680c79c4f6b57f1cc8755d24b6ec158ccdbacdb23107a33cb6b3"
    "32516c13274d1f9dccc21dced869e486")


def _der_length(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag, body):
    return bytes([tag]) + _der_length(len(body)) + body


def _der_int(value):
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def subject_public_key_info(n, e):
    """DER SubjectPublicKeyInfo of an RSA public key (RFC 8017 A.1.1, RFC 5280)."""
    rsa_encryption = _der(0x30, _der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
    rsa_public_key = _der(0x30, _der_int(n) + _der_int(e))
    return _der(0x30, rsa_encryption + _der(0x03, b"\x00" + rsa_public_key))


class LibCrypto:
    """The few libcrypto functions RS256 verification needs, with exact C signatures."""

    def __init__(self, lib):
        p, c_int, c_size = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
        self._lib = lib

        def bind(name, restype, argtypes):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
            return fn

        self.d2i_PUBKEY = bind("d2i_PUBKEY", p, [p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long])
        self.EVP_PKEY_free = bind("EVP_PKEY_free", None, [p])
        self.EVP_PKEY_CTX_new = bind("EVP_PKEY_CTX_new", p, [p, p])
        self.EVP_PKEY_CTX_free = bind("EVP_PKEY_CTX_free", None, [p])
        self.EVP_PKEY_verify_init = bind("EVP_PKEY_verify_init", c_int, [p])
        self.EVP_PKEY_CTX_ctrl = bind("EVP_PKEY_CTX_ctrl", c_int, [p, c_int, c_int, c_int, c_int, p])
        self.EVP_PKEY_verify = bind(
            "EVP_PKEY_verify", c_int, [p, ctypes.c_char_p, c_size, ctypes.c_char_p, c_size])
        self.ERR_clear_error = bind("ERR_clear_error", None, [])
        self.sha256 = bind("EVP_sha256", p, [])()
        if not self.sha256:
            raise OSError("EVP_sha256 unavailable")

    def public_key(self, n, e):
        """An owned EVP_PKEY handle for (n, e), or raises OSError."""
        der = subject_public_key_info(n, e)
        cursor = ctypes.c_char_p(der)
        pkey = self.d2i_PUBKEY(None, ctypes.byref(cursor), len(der))
        self.ERR_clear_error()
        if not pkey:
            raise OSError("d2i_PUBKEY refused the key")
        return pkey

    def verify_context(self, pkey):
        """An owned EVP_PKEY_CTX set up once to check RSASSA-PKCS1-v1_5 signatures over a
        SHA-256 digest with `pkey`, or raises OSError."""
        ctx = self.EVP_PKEY_CTX_new(pkey, None)
        if not ctx:
            raise OSError("EVP_PKEY_CTX_new failed")
        if (self.EVP_PKEY_verify_init(ctx) != 1
                or self.EVP_PKEY_CTX_ctrl(ctx, _EVP_PKEY_RSA, _ANY_OPERATION, _EVP_PKEY_CTRL_RSA_PADDING,
                                          _RSA_PKCS1_PADDING, None) <= 0
                or self.EVP_PKEY_CTX_ctrl(ctx, _ANY_OPERATION, _ANY_OPERATION, _EVP_PKEY_CTRL_MD, 0,
                                          self.sha256) <= 0):
            self.EVP_PKEY_CTX_free(ctx)
            self.ERR_clear_error()
            raise OSError("cannot set up RS256 verification")
        return ctx


class OpenSSLVerifier:
    """RS256 verifier for one key. OpenSSL refuses a signature not below the modulus itself
    (RSA_R_DATA_TOO_LARGE_FOR_MODULUS); the length is checked here, as the pure verifier does.

    The digest is hashlib's; OpenSSL then does one EVP_PKEY_verify on a context set up when the
    key is loaded, rather than building and freeing a digest context for every token.
    """

    def __init__(self, libcrypto, n, e):
        self.public_key = (n, e)
        self._lib = libcrypto
        self._k = (n.bit_length() + 7) // 8
        self._pkey = libcrypto.public_key(n, e)
        self._ctx = libcrypto.verify_context(self._pkey)
        self._lock = threading.Lock()  # one context, so one verification at a time

    def __call__(self, message, signature):
        if len(signature) != self._k:
            return False
        digest = hashlib.sha256(message).digest()
        with self._lock:
            ok = self._lib.EVP_PKEY_verify(self._ctx, signature, self._k, digest, len(digest)) == 1
        if not ok:
            self._lib.ERR_clear_error()  # a refused signature leaves errors on this thread's queue
        return ok

    def __del__(self):
        ctx, self._ctx = getattr(self, "_ctx", None), None
        if ctx:
            self._lib.EVP_PKEY_CTX_free(ctx)
        pkey, self._pkey = getattr(self, "_pkey", None), None
        if pkey:
            self._lib.EVP_PKEY_free(pkey)


def load():
    """A working LibCrypto, or None: then callers fall back to `edge.rsa`."""
    try:
        import _ssl

        libcrypto = LibCrypto(ctypes.CDLL(_ssl.__file__))
        check = OpenSSLVerifier(libcrypto, _KAT_N, 65537)
        tampered = _KAT_SIG[:-1] + bytes([_KAT_SIG[-1] ^ 1])
        modulus = _KAT_N.to_bytes(len(_KAT_SIG), "big")  # not below the modulus: OpenSSL must refuse it
        if (check(b"", _KAT_SIG) is True and check(b"", tampered) is False and check(b"x", _KAT_SIG) is False
                and check(b"", modulus) is False):
            return libcrypto
    except Exception:
        pass
    return None


class PurePythonVerifier:
    """RS256 verifier for one key through `edge.rsa`, when OpenSSL cannot be used."""

    def __init__(self, n, e):
        self.public_key = (n, e)

    def __call__(self, message, signature):
        return rsa.verify_pkcs1v15_sha256(*self.public_key, message, signature)


def make_verifier(libcrypto, n, e):
    """A verifier for (n, e), called as verify(message, signature) -> bool, with its key in
    `.public_key`: OpenSSL when available, else pure Python."""
    if libcrypto is not None:
        try:
            return OpenSSLVerifier(libcrypto, n, e)
        except Exception:
            pass
    return PurePythonVerifier(n, e)
