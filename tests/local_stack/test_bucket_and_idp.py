"""The bucket is really private (moto enforces IAM), and the IdP and token service trust only what they should."""
import json
import time

import boto3
import botocore.exceptions
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.local_stack.conftest import app_token, seeded, user


@pytest.fixture(scope="session")
def oac(running_stack):
    """The CDN stand-in's origin identity (the OAC's stand-in), from the stand-in's config file."""
    credentials = json.loads((running_stack.state_dir / "cdn-stand-in.json").read_text())["oac_credentials"]
    return credentials["access_key_id"], credentials["secret_access_key"]


def s3(stack, access_key_id, secret):
    return boto3.client("s3", endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                        aws_access_key_id=access_key_id, aws_secret_access_key=secret)


def object_url(stack, obj):
    return f"{stack['s3_endpoint']}/{stack['bucket']}{obj['path']}"


def test_unsigned_get_straight_to_the_bucket_is_refused(http, stack):
    obj = seeded(stack, "alice")
    response = http.get(object_url(stack, obj))
    assert response.status_code == 403
    listing = http.get(f"{stack['s3_endpoint']}/{stack['bucket']}")
    assert listing.status_code >= 400  # moto answers an unsigned listing with an error (500), never the keys
    assert obj["path"][1:].encode() not in listing.content


def test_wrongly_signed_get_is_refused(stack, oac):
    obj = seeded(stack, "alice")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3(stack, oac[0], "not-the-secret").get_object(Bucket=stack["bucket"], Key=obj["path"][1:])
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(botocore.exceptions.ClientError) as unknown:
        s3(stack, "AKIAUNKNOWNUNKNOWN00", "x").get_object(Bucket=stack["bucket"], Key=obj["path"][1:])
    assert unknown.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_the_cdn_identity_may_read_objects_and_nothing_else(stack, oac):
    client = s3(stack, *oac)
    obj = seeded(stack, "alice")
    body = client.get_object(Bucket=stack["bucket"], Key=obj["path"][1:], Range="bytes=0-3")["Body"].read()
    assert body == b"\x1a\x45\xdf\xa3"  # the EBML magic: a WebM file
    for call in (lambda: client.put_object(Bucket=stack["bucket"], Key="videos/alice/x", Body=b"x"),
                 lambda: client.list_objects_v2(Bucket=stack["bucket"]),
                 lambda: client.delete_object(Bucket=stack["bucket"], Key=obj["path"][1:])):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_idp_logs_in_demo_users_only(http, stack):
    alice = user(stack, "alice")
    claims = jwt.decode(app_token(http, stack, "alice"), options={"verify_signature": False})
    assert claims["sub"] == "alice" and claims["iss"] == stack["idp_url"]
    wrong = http.post(f"{stack['idp_url']}/login", json={"username": "alice", "password": alice["password"] + "x"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_grant"
    nobody = http.post(f"{stack['idp_url']}/login", json={"username": "mallory", "password": "x"})
    assert nobody.status_code == 401
    malformed = http.post(f"{stack['idp_url']}/login", content=b"{not json", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and "username" in malformed.json()["error_description"]
    huge = http.post(f"{stack['idp_url']}/login", content=b"x" * 100_000)
    assert huge.status_code == 413


def test_idp_answers_cors_for_the_demo_origin(http, stack):
    preflight = http.options(f"{stack['idp_url']}/login", headers={
        "Origin": stack["demo_url"], "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == stack["demo_url"]
    jwks = http.get(f"{stack['idp_url']}/.well-known/jwks.json").json()
    assert [key["kty"] for key in jwks["keys"]] == ["RSA"]


def test_token_service_trusts_the_idp_key_and_no_other(http, stack):
    ok = http.post(f"{stack['token_url']}/token",
                   headers={"Authorization": f"Bearer {app_token(http, stack, 'alice')}"})
    assert ok.status_code == 200
    # same claims, signed by a key the IdP never published
    now = int(time.time())
    forged = jwt.encode({"iss": stack["idp_url"], "aud": "local-demo-app", "sub": "alice", "iat": now,
                         "exp": now + 300, "jti": "x"},
                        rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
                        headers={"kid": "made-up"})
    refused = http.post(f"{stack['token_url']}/token", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401


def test_token_service_answers_cors_for_the_demo_origin(http, stack):
    preflight = http.options(f"{stack['token_url']}/token", headers={
        "Origin": stack["demo_url"], "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == stack["demo_url"]
