"""Browser form uploads (presigned POST) through the advertised S3 endpoint, checked as S3 checks
them: over real HTTP, with forms signed by boto3 as the token service signs them, and hostile ones."""
import base64
import datetime
import hashlib
import json
import os

import boto3
import pytest
from botocore.config import Config

from local_stack.post_object import FormError, policy_signature, check_form
from tests.local_stack.conftest import raw_exchange

KEY = "incoming/alice/form-upload.mp4"


@pytest.fixture(scope="session")
def signer(stack, internal):
    """An S3 client with the token service's upload identity, configured as token_service.uploads does."""
    key = internal["access_keys"]["token_service"]
    return boto3.client("s3", endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                        aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"],
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


@pytest.fixture(scope="session")
def reader(stack, internal):
    key = internal["access_keys"]["cdn"]
    return boto3.client("s3", endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                        aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])


def form(signer, stack, key=KEY, size=1000, expires=300, fields=None, conditions=()):
    fields = {"Content-Type": "video/mp4", **(fields or {})}
    return signer.generate_presigned_post(
        stack["bucket"], key, Fields=fields, ExpiresIn=expires,
        Conditions=[{name: value} for name, value in fields.items()] + [["content-length-range", 1, size], *conditions])


def post(http, presigned, data, extra_fields=None, origin=None):
    return http.post(presigned["url"], data={**presigned["fields"], **(extra_fields or {})},
                     files={"file": ("clip.mp4", data, "video/mp4")}, headers={"Origin": origin} if origin else {})


def error_code(response):
    assert response.headers["content-type"] == "application/xml"
    return response.text.split("<Code>")[1].split("</Code>")[0]


def stored(reader, stack, key):
    try:
        return reader.get_object(Bucket=stack["bucket"], Key=key)["Body"].read()
    except reader.exceptions.NoSuchKey:
        return None


def test_a_valid_form_stores_the_file_with_its_type_and_metadata(http, stack, signer, reader):
    data = os.urandom(2 * 1024 * 1024 + 3)  # over the spool's in-memory part
    presigned = form(signer, stack, size=len(data), fields={"x-amz-meta-filename": "clip%20one.mp4"})
    response = post(http, presigned, data, origin=stack["demo_url"])
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-origin"] == stack["demo_url"]
    assert response.headers["location"].endswith(f"/{stack['bucket']}/{KEY}")
    head = reader.get_object(Bucket=stack["bucket"], Key=KEY)
    assert hashlib.sha256(head["Body"].read()).digest() == hashlib.sha256(data).digest()
    assert head["ContentType"] == "video/mp4" and head["Metadata"] == {"filename": "clip%20one.mp4"}
    assert response.headers["etag"] == head["ETag"]


def test_success_action_status_201_answers_s3s_xml(http, stack, signer):
    presigned = form(signer, stack, key="incoming/alice/201.mp4", fields={"success_action_status": "201"})
    response = post(http, presigned, b"x" * 10)
    assert response.status_code == 201
    assert "<Key>incoming/alice/201.mp4</Key>" in response.text and "<Bucket>local-private-media</Bucket>" in response.text


def test_a_hostile_origin_gets_no_cors_grant(http, stack, signer):
    response = post(http, form(signer, stack, key="incoming/alice/evil-origin.mp4"), b"x", origin="http://evil.example")
    assert response.status_code == 204  # S3 takes the upload; the browser just may not read the answer
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("change, status, code", [
    ({"key": "incoming/bob/stolen.mp4"}, 403, "AccessDenied"),  # key pinned by the policy
    ({"Content-Type": "text/html"}, 403, "AccessDenied"),  # type pinned by the policy
    ({"x-amz-meta-extra": "1"}, 403, "AccessDenied"),  # a field the policy does not name
    ({"x-amz-signature": "0" * 64}, 403, "SignatureDoesNotMatch"),
    ({"x-amz-credential": "AKIAUNKNOWNUNKNOWN00/20200101/us-east-1/s3/aws4_request"}, 400, "InvalidArgument"),
    ({"x-amz-algorithm": "AWS4-HMAC-SHA1"}, 400, "InvalidArgument"),
    ({"policy": "not base64!"}, 403, "SignatureDoesNotMatch"),
    ({"x-amz-security-token": "x"}, 403, "InvalidToken"),
    ({"AWSAccessKeyId": "AKIA", "signature": "x"}, 501, "NotImplemented"),
])
def test_tampered_forms_are_refused_and_store_nothing(http, stack, signer, reader, change, status, code):
    key = "incoming/alice/tampered.mp4"
    response = post(http, form(signer, stack, key=key), b"x" * 10, extra_fields=change)
    assert (response.status_code, error_code(response)) == (status, code), response.text
    assert stored(reader, stack, key) is None
    assert stored(reader, stack, "incoming/bob/stolen.mp4") is None


def test_a_policy_rewritten_without_its_signature_is_refused(http, stack, signer):
    presigned = form(signer, stack, key="incoming/alice/rewritten.mp4", size=10)
    policy = json.loads(base64.b64decode(presigned["fields"]["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if not isinstance(c, list)] + [["content-length-range", 1, 10**9]]
    forged = base64.b64encode(json.dumps(policy).encode()).decode()
    response = post(http, presigned, b"x" * 100, extra_fields={"policy": forged})
    assert (response.status_code, error_code(response)) == (403, "SignatureDoesNotMatch")


def test_expired_unknown_signer_and_size_limits(http, stack, signer, internal):
    expired = post(http, form(signer, stack, expires=-5), b"x")
    assert (expired.status_code, error_code(expired)) == (403, "AccessDenied") and "expired" in expired.text
    too_large = post(http, form(signer, stack, key="incoming/alice/large.mp4", size=10), b"x" * 11)
    assert (too_large.status_code, error_code(too_large)) == (400, "EntityTooLarge")
    empty = post(http, form(signer, stack, key="incoming/alice/empty.mp4"), b"")
    assert (empty.status_code, error_code(empty)) == (400, "EntityTooSmall")
    # a real IAM user of the stack, but not one whose forms the bucket takes (the CDN's read-only identity)
    key = internal["access_keys"]["cdn"]
    other = boto3.client("s3", endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                         aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"],
                         config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    refused = post(http, form(other, stack, key="incoming/alice/by-the-cdn.mp4"), b"x")
    assert (refused.status_code, error_code(refused)) == (403, "InvalidAccessKeyId")


def test_moto_iam_decides_what_a_well_signed_form_may_write(http, stack, signer, reader):
    """A form the token service's identity signed for a key outside incoming/: the policy holds,
    but its IAM grant (s3:PutObject on incoming/*) does not cover the key."""
    response = post(http, form(signer, stack, key="elsewhere/x.mp4"), b"x" * 10)
    assert response.status_code == 403 and "AccessDenied" in response.text


def test_fields_the_emulation_does_not_implement_are_refused_not_ignored(http, stack, signer):
    for fields in ({"acl": "public-read"}, {"x-amz-storage-class": "GLACIER"}, {"success_action_redirect": "http://x/"}):
        response = post(http, form(signer, stack, key="incoming/alice/unimplemented.mp4", fields=fields), b"x")
        assert (response.status_code, error_code(response)) == (501, "NotImplemented"), fields
    response = post(http, form(signer, stack, key="incoming/alice/${filename}"), b"x")
    assert (response.status_code, error_code(response)) == (501, "NotImplemented")


def test_malformed_bodies_are_a_clear_400(http, stack, signer, reader):
    url = f"{stack['s3_endpoint']}/{stack['bucket']}"
    host = stack["s3_endpoint"][len("http://"):]
    fields = form(signer, stack, key="incoming/alice/malformed.mp4")["fields"]
    no_file = http.post(url, data=fields, files={"other": ("a", b"x")})
    assert (no_file.status_code, error_code(no_file)) == (400, "InvalidArgument")  # `other` is not in the policy
    no_file = http.post(url, files={name: (None, value) for name, value in fields.items()})
    assert (no_file.status_code, error_code(no_file)) == (400, "InvalidArgument")
    huge_field = http.post(url, data={**fields, "x-ignore-padding": "p" * 30_000}, files={"file": ("a", b"x")})
    assert (huge_field.status_code, error_code(huge_field)) == (400, "MaxPostPreDataLengthExceeded")
    no_boundary = http.post(url, content=b"x", headers={"Content-Type": "multipart/form-data"})
    assert (no_boundary.status_code, error_code(no_boundary)) == (400, "MalformedPOSTRequest")
    # a well-signed form whose body ends inside the file: refused, nothing stored
    cut = form(signer, stack, key="incoming/alice/cut.mp4")["fields"]
    body = b"".join(f'--B\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                    for name, value in cut.items()) + b'--B\r\nContent-Disposition: form-data; name="file"\r\n\r\nxxxx'
    answer, closed = raw_exchange(stack["s3_endpoint"], b"POST /local-private-media HTTP/1.1\r\nHost: " + host.encode()
                                  + b"\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: "
                                  + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"MalformedPOSTRequest" in answer and closed
    assert stored(reader, stack, "incoming/alice/cut.mp4") is None
    chunked, closed = raw_exchange(stack["s3_endpoint"], b"POST /local-private-media HTTP/1.1\r\nHost: " + host.encode()
                                   + b"\r\nContent-Type: multipart/form-data; boundary=B\r\n"
                                     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert chunked.startswith(b"HTTP/1.1 411 ") and closed


# ------------------------------------------------------------------ the policy check on its own

NOW = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
SECRETS = {"AKIALOCAL": "local-secret"}


def signed_fields(conditions, expiration="2030-01-02T04:00:00Z", **fields):
    """Form fields (lower-case names) with a policy signed as boto3 signs it."""
    fields = {"key": KEY, "x-amz-algorithm": "AWS4-HMAC-SHA256",
              "x-amz-credential": "AKIALOCAL/20300102/us-east-1/s3/aws4_request", "x-amz-date": "20300102T030000Z",
              **fields}
    policy = base64.b64encode(json.dumps({"expiration": expiration, "conditions": conditions}).encode()).decode()
    return {**fields, "policy": policy, "x-amz-signature": policy_signature("local-secret", "20300102", "us-east-1", policy)}


AUTH_CONDITIONS = [{"bucket": "b"}, {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                   {"x-amz-credential": "AKIALOCAL/20300102/us-east-1/s3/aws4_request"}, {"x-amz-date": "20300102T030000Z"}]


def check(conditions, **fields):
    return check_form(signed_fields(AUTH_CONDITIONS + conditions, **fields), "b", "us-east-1", SECRETS, NOW)


def test_policy_conditions_as_s3_reads_them():
    form = check([["starts-with", "$key", "incoming/alice/"], ["eq", "$Content-Type", "video/mp4"],
                  ["content-length-range", 5, 10]], **{"content-type": "video/mp4"})
    assert (form.key, form.min_bytes, form.max_bytes, form.headers) == (KEY, 5, 10, {"content-type": "video/mp4"})
    failing = [[["starts-with", "$key", "incoming/bob/"]], [{"key": KEY}, {"bucket": "other"}],
               [["eq", "$key", KEY], ["eq", "$x-amz-meta-missing", ""]]]
    for conditions in failing:
        with pytest.raises(FormError) as refused:
            check(conditions)
        assert refused.value.code == "AccessDenied", conditions
    malformed = [[["content-length-range", "1", 10]], [["content-length-range", 10, 1]], [["starts-with", "key", ""]],
                 [["in", "$key", KEY]], ["key"], [{"key": KEY, "acl": "x"}], [["eq", "$key", 5]]]
    for conditions in malformed:
        with pytest.raises(FormError) as refused:
            check([{"key": KEY}] + conditions)
        assert refused.value.code == "InvalidPolicyDocument", conditions


def test_a_policy_document_that_is_not_one_is_refused():
    for document in (b"[]", b'{"conditions": {}}', b'{"expiration": 5, "conditions": []}', b"[" * 100_000):
        policy = base64.b64encode(document).decode()
        fields = {**signed_fields([]), "policy": policy,
                  "x-amz-signature": policy_signature("local-secret", "20300102", "us-east-1", policy)}
        with pytest.raises(FormError) as refused:
            check_form(fields, "b", "us-east-1", SECRETS, NOW)
        assert refused.value.code == "InvalidPolicyDocument", document[:20]


def test_the_credential_must_match_the_date_and_region():
    for credential, date in (("AKIALOCAL/20300102/eu-west-1/s3/aws4_request", "20300102T030000Z"),
                             ("AKIALOCAL/20300101/us-east-1/s3/aws4_request", "20300102T030000Z"),
                             ("AKIALOCAL/20300102/us-east-1/iam/aws4_request", "20300102T030000Z")):
        with pytest.raises(FormError) as refused:
            check_form(signed_fields(AUTH_CONDITIONS + [{"key": KEY}], **{"x-amz-credential": credential,
                                                                          "x-amz-date": date}),
                       "b", "us-east-1", SECRETS, NOW)
        assert refused.value.status == 400, credential
