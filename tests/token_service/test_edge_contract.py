"""Both sides of the token contract: tokens the real service mints pass the real edge
authorizer (`edge.authorizer.Authorizer` on CloudFront-shaped events); tampered ones fail it;
key rotation runs end to end through the edge, whose JWKS comes from a real moto SSM."""
import base64
import json
import subprocess
import sys
import time

import boto3
import pytest

from edge.authorizer import Authorizer
from edge.config import load_config
from token_service import keys
from tests.cf import bearer, viewer_request
from tests.token_service.conftest import AUDIENCE, ISSUER, ROOT, claims_of

COOKIE = "media_token"


class Clock:
    """Real time plus an offset, so a test can move the edge past its key refresh interval."""

    def __init__(self):
        self.offset = 0

    def __call__(self):
        return time.time() + self.offset


def edge(jwks, **overrides):
    logs = []
    config = load_config({"issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks, "cookie_name": COOKIE, **overrides})
    clock = Clock()
    authorizer = Authorizer(config, clock=clock, log=logs.append)
    authorizer.test_clock, authorizer.logs = clock, logs
    return authorizer


def outcome(authorizer, token=None, uri="/videos/u42/profile.mp4", headers=None):
    """"forward" when the edge passes the request on to the bucket, else the status it answers."""
    result = authorizer.handle(viewer_request(uri=uri, headers={**(bearer(token) if token else {}), **(headers or {})}))
    return "forward" if "uri" in result else result["status"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def reencode(token, header=None, claims=None):
    """The token with its header or claims rewritten and the original signature kept."""
    header_b64, payload_b64, signature = token.split(".")
    if header is not None:
        header_b64 = b64url(json.dumps(header).encode())
    if claims is not None:
        payload_b64 = b64url(json.dumps(claims).encode())
    return f"{header_b64}.{payload_b64}.{signature}"


@pytest.fixture(scope="module")
def service_jwks(service):
    return service.get("/.well-known/jwks.json").json()


def mint(service, idp, sub="u42", **kwargs):
    response = service.post_token(idp.token(sub=sub), **kwargs)
    assert response.status_code == 200, response.text
    return response


def test_the_edge_accepts_the_published_jwks_and_the_keys_module_output(service_jwks, signing_pems):
    assert load_config({"issuer": ISSUER, "audience": AUDIENCE, "jwks": service_jwks}).jwks == service_jwks
    pem_keys = keys.load_private_keys_pem(signing_pems["old"][0].read_bytes())
    assert keys.jwks(pem_keys) == service_jwks


def test_minted_tokens_pass_the_edge_within_their_scope(service, idp, service_jwks):
    authorizer = edge(service_jwks)
    token = mint(service, idp).json()["access_token"]
    assert outcome(authorizer, token, "/videos/u42/profile.mp4") == "forward"
    assert outcome(authorizer, token, "/videos/u42/season%201/e1.mp4") == "forward"
    assert outcome(authorizer, token, "/public/poster.jpg") == "forward"
    assert outcome(authorizer, token, "/videos/u43/profile.mp4") == "403"  # another member's videos
    assert outcome(authorizer, None, "/videos/u42/profile.mp4") == "401"


def test_narrowed_tokens_open_only_what_was_asked(service, idp, service_jwks):
    authorizer = edge(service_jwks)
    token = mint(service, idp, json={"paths": ["/videos/u42/profile.mp4"]}).json()["access_token"]
    assert outcome(authorizer, token, "/videos/u42/profile.mp4") == "forward"
    assert outcome(authorizer, token, "/videos/u42/other.mp4") == "403"
    assert outcome(authorizer, token, "/public/poster.jpg") == "403"


def test_tampered_tokens_fail_the_edge(service, idp, service_jwks):
    authorizer = edge(service_jwks)
    token = mint(service, idp).json()["access_token"]
    header, claims = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==")), claims_of(token)
    header_b64, payload_b64, signature_b64 = token.split(".")
    flipped = signature_b64[:-4] + ("AAAA" if signature_b64[-4:] != "AAAA" else "BBBB")
    tampered = {
        "other subject": reencode(token, claims={**claims, "sub": "u43"}),
        "wider scope": reencode(token, claims={k: v for k, v in claims.items() if k != "paths"}),
        "later expiry": reencode(token, claims={**claims, "exp": claims["exp"] + 3000}),
        "alg none": reencode(token, header={**header, "alg": "none"}).rsplit(".", 1)[0] + ".",
        "HS256": reencode(token, header={**header, "alg": "HS256"}),
        "other kid": reencode(token, header={**header, "kid": "someone-else"}),
        "signature bits": f"{header_b64}.{payload_b64}.{flipped}",
        "no signature": f"{header_b64}.{payload_b64}.",
        "truncated": token[:-10],
    }
    for name, bad in tampered.items():
        assert outcome(authorizer, bad, "/videos/u42/profile.mp4") == "401", name
    assert outcome(authorizer, token, "/videos/u42/profile.mp4") == "forward"  # the original still passes


def test_tokens_from_another_issuer_or_audience_fail_the_edge(start_service, base_settings, idp, service_jwks):
    authorizer = edge(service_jwks)
    for setting in ({"issuer": "https://other-issuer.example.com"}, {"audience": "other-audience"}):
        other = start_service({**base_settings, **setting})
        assert outcome(authorizer, mint(other, idp).json()["access_token"]) == "401"


def test_the_longest_configured_lifetime_passes_the_edge(start_service, base_settings, idp, service_jwks):
    longest = start_service({**base_settings, "token_lifetime_seconds": 3600})
    assert outcome(edge(service_jwks), mint(longest, idp).json()["access_token"]) == "forward"


def test_cookie_mode_token_passes_the_edge_as_a_cookie(start_service, base_settings, idp, service_jwks):
    cookies = start_service({**base_settings, "cookie_name": COOKIE, "default_paths": "/videos/{sub}/"})
    response = mint(cookies, idp)
    cookie = response.headers["set-cookie"].split(";")[0]
    authorizer = edge(service_jwks)
    assert outcome(authorizer, headers={"Cookie": f"theme=dark; {cookie}"}) == "forward"
    assert outcome(authorizer, uri="/videos/u43/a.mp4", headers={"Cookie": cookie}) == "403"


# --- rotation: publish the new key, start signing with it, retire the old one ---------------

def publish(ssm, *pem_paths):
    """The operator's publish step: the CLI's JWKS into the SSM parameter the edge reads."""
    result = subprocess.run([sys.executable, "-m", "token_service", "keys", "jwks", *map(str, pem_paths)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    ssm.put_parameter(Name="/media/jwks", Type="String", Value=result.stdout, Overwrite=True)
    return json.loads(result.stdout)


@pytest.mark.usefixtures("aws_credentials")
def test_rotation_end_to_end_through_the_edge(start_service, base_settings, idp, signing_pems, moto_url):
    old_pem, old_kid = signing_pems["old"]
    new_pem, new_kid = signing_pems["new"]
    ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_url)

    def kid_of(token):
        return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]

    # Before: the old key signs; the edge was deployed with the old key baked in.
    baked = publish(ssm, old_pem)
    authorizer = edge(baked, ssm_parameter="/media/jwks", ssm_endpoint_url=moto_url,
                      key_refresh_seconds=60, key_retry_seconds=1)
    before = start_service({**base_settings, "signing_key_file": old_pem})
    old_token = mint(before, idp, sub="before").json()["access_token"]
    assert kid_of(old_token) == old_kid
    assert outcome(authorizer, old_token, "/videos/u1/a.mp4") == "forward"
    before.stop()

    # 1. Publish: both keys loaded and published; the old one (first) still signs.
    assert [k["kid"] for k in publish(ssm, old_pem, new_pem)["keys"]] == [old_kid, new_kid]
    published = start_service({**base_settings, "signing_key_file": f"{old_pem},{new_pem}"})
    assert [k["kid"] for k in published.get("/.well-known/jwks.json").json()["keys"]] == [old_kid, new_kid]
    assert kid_of(mint(published, idp).json()["access_token"]) == old_kid
    published.stop()

    # 2. Switch: the new key signs. The edge meets an unknown kid, refreshes from SSM once and
    #    accepts it; tokens signed with the old key still pass during the overlap.
    switched = start_service({**base_settings, "signing_key_file": f"{old_pem},{new_pem}", "active_kid": new_kid})
    new_token = mint(switched, idp, sub="after").json()["access_token"]
    assert kid_of(new_token) == new_kid
    assert outcome(authorizer, new_token, "/videos/u1/a.mp4") == "forward"
    assert outcome(authorizer, old_token, "/videos/u1/a.mp4") == "forward"
    assert any('"key_refresh"' in line and '"ok": true' in line for line in authorizer.logs)
    switched.stop()

    # 3. Retire (after the longest token lifetime): only the new key is loaded and published.
    assert [k["kid"] for k in publish(ssm, new_pem)["keys"]] == [new_kid]
    retired = start_service({**base_settings, "signing_key_file": new_pem})
    assert [k["kid"] for k in retired.get("/.well-known/jwks.json").json()["keys"]] == [new_kid]
    authorizer.test_clock.offset = 61  # the edge's refresh interval passes; its next request refreshes
    assert outcome(authorizer, old_token, "/videos/u1/a.mp4") == "401"
    assert outcome(authorizer, new_token, "/videos/u1/a.mp4") == "forward"
    assert outcome(authorizer, mint(retired, idp).json()["access_token"], "/videos/u1/a.mp4") == "forward"
    # A container deployed after retirement never knew the old key.
    fresh_edge = edge(publish(ssm, new_pem))
    assert outcome(fresh_edge, old_token, "/videos/u1/a.mp4") == "401"
