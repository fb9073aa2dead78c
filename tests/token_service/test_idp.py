"""The IdP's keys: down, slow, broken, rotated, rate-limited refresh, and the public-key-file mode."""
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from token_service import keys
from tests.token_service.conftest import JwksServer


def assert_unavailable(response):
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "temporarily_unavailable"
    assert int(response.headers["retry-after"]) >= 1


def test_idp_down_from_the_start_is_503_with_retry_after(start_service, base_settings, idp):
    gone = JwksServer(idp.jwks())
    gone.stop()
    service = start_service({**base_settings, "idp_jwks_url": gone.url})
    assert service.get("/healthz").status_code == 200  # alive, just not ready
    ready = service.get("/readyz")
    assert ready.status_code == 503 and int(ready.headers["retry-after"]) >= 1
    assert "identity provider keys unavailable" in ready.json()["reason"]
    assert_unavailable(service.post_token(idp.token()))


def test_idp_going_down_fails_closed_once_the_cached_keys_expire(start_service, base_settings, idp):
    server = JwksServer(idp.jwks())
    try:
        service = start_service({**base_settings, "idp_jwks_url": server.url,
                                 "idp_jwks_cache_seconds": 2, "idp_jwks_min_refresh_seconds": 1})
        assert service.post_token(idp.token(sub="a")).status_code == 200
        server.stop()
        assert service.post_token(idp.token(sub="b")).status_code == 200  # keys still cached
        time.sleep(2.1)
        assert_unavailable(service.post_token(idp.token(sub="c")))
        assert service.get("/readyz").status_code == 503
    finally:
        server.stop()


def test_idp_coming_back_is_picked_up_after_the_retry_interval(start_service, base_settings, idp):
    server = JwksServer(idp.jwks())
    server.status = 500
    try:
        service = start_service({**base_settings, "idp_jwks_url": server.url, "idp_jwks_min_refresh_seconds": 1})
        assert_unavailable(service.post_token(idp.token()))
        server.status = 200
        time.sleep(1.1)
        assert service.post_token(idp.token()).status_code == 200
    finally:
        server.stop()


def test_slow_idp_is_bounded_by_the_timeout(start_service, base_settings, idp):
    server = JwksServer(idp.jwks())
    server.delay = 5
    try:
        service = start_service({**base_settings, "idp_jwks_url": server.url, "idp_timeout_seconds": 0.5})
        started = time.monotonic()
        response = service.post_token(idp.token())
        assert time.monotonic() - started < 3
        assert_unavailable(response)
    finally:
        server.delay = 0
        server.stop()


@pytest.mark.parametrize("document", [{"keys": []}, {"nope": 1}, [1, 2], {"keys": [{"kty": "oct", "k": "c2VjcmV0",
                                                                                       "kid": "idp-1"}]}])
def test_idp_without_usable_keys_is_503(start_service, base_settings, idp, document):
    server = JwksServer(document)
    try:
        service = start_service({**base_settings, "idp_jwks_url": server.url})
        assert_unavailable(service.post_token(idp.token()))
    finally:
        server.stop()


def test_unknown_kids_refresh_at_most_once_per_interval_and_pick_up_a_rotated_key(start_service, base_settings, idp):
    server = JwksServer(idp.jwks())
    try:
        service = start_service({**base_settings, "idp_jwks_url": server.url, "idp_jwks_min_refresh_seconds": 2})
        assert service.post_token(idp.token()).status_code == 200
        time.sleep(2.1)  # the next unknown kid may fetch once
        fetches = server.fetches
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        for number in range(10):
            response = service.post_token(idp.token(key=stranger, kid=f"junk-{number}"))
            assert response.status_code == 401
        assert server.fetches == fetches + 1

        rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        server.document = keys.jwks([keys.public_jwk(idp.key, idp.kid), keys.public_jwk(rotated, "idp-2")])
        assert service.post_token(idp.token(key=rotated, kid="idp-2")).status_code == 401  # inside the interval
        time.sleep(2.1)
        assert service.post_token(idp.token(key=rotated, kid="idp-2")).status_code == 200
        assert server.fetches == fetches + 2
    finally:
        server.stop()


def test_public_key_file_mode(start_service, base_settings, idp, tmp_path):
    public_pem = tmp_path / "idp.pub.pem"
    public_pem.write_bytes(idp.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo))
    settings = {**base_settings, "idp_public_key_file": public_pem}
    del settings["idp_jwks_url"]
    service = start_service(settings)
    assert service.get("/readyz").status_code == 200
    assert service.post_token(idp.token(kid=None)).status_code == 200
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = service.post_token(idp.token(key=stranger))
    assert refused.status_code == 401 and refused.json()["error_description"] == "bad signature"
    assert service.post_token(idp.token(aud="other")).status_code == 401


def test_audience_from_another_claim_for_cognito_access_tokens(start_service, base_settings, idp):
    service = start_service({**base_settings, "idp_audience_claim": "client_id"})
    assert service.post_token(idp.token(aud=None, client_id=base_settings["idp_audience"])).status_code == 200
    refused = service.post_token(idp.token(aud=None, client_id="another-client"))
    assert refused.status_code == 401 and refused.json()["error_description"] == "wrong audience"


@pytest.mark.filterwarnings("ignore:The RSA key is 1024 bits")  # the test's own IdP signs with it on purpose
def test_idp_keys_shorter_than_2048_bits_are_refused(start_service, base_settings, idp):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    server = JwksServer(keys.jwks([keys.public_jwk(idp.key, idp.kid), keys.public_jwk(weak, "weak")]))
    try:
        service = start_service({**base_settings, "idp_jwks_url": server.url})
        assert service.post_token(idp.token()).status_code == 200
        refused = service.post_token(idp.token(key=weak, kid="weak"))
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    finally:
        server.stop()
