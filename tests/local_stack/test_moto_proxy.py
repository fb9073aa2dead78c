"""The advertised S3 + SSM endpoint (the proxy in front of moto) over real HTTP: moto's admin API is
unreachable in any spelling, CORS is granted only as the bucket's rule does, and boto3's S3 and
SSM calls work through it exactly as against moto."""
import hashlib
import http.client
import json
import os
import socket

import boto3
import botocore.exceptions
import pytest

from local_stack.aws_resources import upload_statements
from local_stack.moto_proxy import UnixHTTPConnection
from tests.local_stack.conftest import host_port, raw_exchange, seeded

EVIL = "http://evil.example"
# Spellings of moto's admin API (and its instance-metadata stand-in) that moto itself would route.
ADMIN_PATHS = ["/moto-api/data.json", "/%6doto-api/data.json", "/%6D%6F%74%6F-api/data.json", "//moto-api/data.json",
               "///moto-api/data.json", "/moto-api%2Fdata.json", "/moto%2dapi/data.json", "/%256doto-api/data.json",
               "/MOTO-API/data.json", "/Moto-Api/data.json", "/moto-api/", "/moto-api", "/latest/meta-data/",
               "/latest/api/token", "/favicon.ico", "/local-private-media/../moto-api/data.json",
               "/local-private-media/%2e%2e/moto-api/data.json", "/./moto-api/data.json",
               "/moto-api/data.json?x=/local-private-media"]


def ask(url, method, target, headers=(), body=None):
    """(status, headers, body) for a request sent with exactly this target."""
    connection = http.client.HTTPConnection(*host_port(url), timeout=10)
    try:
        connection.request(method, target, body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def ask_moto_directly(internal, method, target):
    connection = UnixHTTPConnection(internal["moto_socket"], timeout=10)
    try:
        connection.request(method, target, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def key_of(internal, part):
    return internal["access_keys"][part]


def client(stack, service, key):
    return boto3.client(service, endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                        aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])


def test_moto_itself_would_hand_out_every_secret(internal):
    """The control for the tests below: moto's own data.json holds the parts' IAM secrets."""
    secret = key_of(internal, "token_service")["secret_access_key"].encode()
    for target in ("/moto-api/data.json", "/%6doto-api/data.json", "//moto-api/data.json", "/moto-api%2Fdata.json"):
        status, body = ask_moto_directly(internal, "GET", target)
        assert status == 200 and secret in body, target


@pytest.mark.parametrize("target", ADMIN_PATHS)
def test_the_advertised_endpoint_refuses_moto_api_however_spelled(stack, internal, target):
    secrets = [key["secret_access_key"].encode() for key in internal["access_keys"].values()]
    for method in ("GET", "POST"):
        status, headers, body = ask(stack["s3_endpoint"], method, target, [("Origin", EVIL)])
        assert status in (400, 404), (method, target, status)
        assert not any(secret in body for secret in secrets)
        assert b"PRIVATE KEY" not in body
        assert "access-control-allow-origin" not in headers


def test_reset_auth_through_the_endpoint_leaves_iam_on(http, stack):
    for target in ("/moto-api/reset-auth", "/%6doto-api/reset-auth", "/moto-api/reset"):
        status, _, _ = ask(stack["s3_endpoint"], "POST", target, [("Content-Type", "application/json")],
                           json.dumps({"INITIAL_NO_AUTH_ACTION_COUNT": 1000}))
        assert status == 404
    obj = seeded(stack, "alice")
    assert http.get(f"{stack['s3_endpoint']}/{stack['bucket']}{obj['path']}").status_code == 403  # still signed only


def test_raw_non_ascii_target_and_foreign_host_are_refused(stack):
    answer, _ = raw_exchange(stack["s3_endpoint"], b"GET /local-private-media/videos/alice/\xe9.webm HTTP/1.1\r\n"
                                                   b"Host: " + stack["s3_endpoint"][7:].encode() + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    # a page whose name was rebound to 127.0.0.1 sends its own name as Host
    status, _, _ = ask(stack["s3_endpoint"], "GET", f"/{stack['bucket']}/videos/alice/profile.webm",
                       [("Host", "rebound.example:80")])
    assert status == 421
    host = stack["s3_endpoint"][len("http://"):].encode()
    answer, _ = raw_exchange(stack["s3_endpoint"], b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nHost: rebound.example\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 421 ")


def test_no_cors_grant_for_a_hostile_origin_or_for_reads(stack, internal):
    bucket, path = stack["bucket"], seeded(stack, "alice")["path"]
    for origin in (EVIL, stack["demo_url"]):  # reads go through the CDN: the bucket grants no GET, even to the demo
        status, headers, _ = ask(stack["s3_endpoint"], "GET", f"/{bucket}{path}", [("Origin", origin)])
        assert status == 403 and "access-control-allow-origin" not in headers
    for target in ("/", f"/{bucket}", f"/{bucket}{path}"):
        status, headers, _ = ask(stack["s3_endpoint"], "OPTIONS", target, [
            ("Origin", EVIL), ("Access-Control-Request-Method", "POST")])
        assert status == 403 and "access-control-allow-origin" not in headers, target
    status, headers, _ = ask(stack["s3_endpoint"], "POST", f"/{bucket}", [("Origin", EVIL)], b"x")
    assert "access-control-allow-origin" not in headers
    # a signed read through the endpoint: moto's blanket `Access-Control-Allow-Origin: *` is gone too
    oac = client(stack, "s3", key_of(internal, "cdn"))
    response = oac.get_object(Bucket=bucket, Key=path[1:], Range="bytes=0-3")
    assert not any(name.lower().startswith("access-control-") for name in response["ResponseMetadata"]["HTTPHeaders"])


def test_preflight_for_an_upload_from_an_allowed_origin(stack):
    bucket = stack["bucket"]
    for origin in stack["allowed_origins"]:
        status, headers, _ = ask(stack["s3_endpoint"], "OPTIONS", f"/{bucket}", [
            ("Origin", origin), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type,x-requested-with")])
        assert status == 200
        assert headers["access-control-allow-origin"] == origin
        assert headers["access-control-allow-methods"] == "POST"
        assert headers["access-control-allow-headers"] == "content-type,x-requested-with"
        assert {"etag", "location"} <= {h.strip().lower() for h in headers["access-control-expose-headers"].split(",")}
    for method in ("GET", "PUT", "DELETE"):  # the rule allows POST only
        status, headers, _ = ask(stack["s3_endpoint"], "OPTIONS", f"/{bucket}", [
            ("Origin", stack["demo_url"]), ("Access-Control-Request-Method", method)])
        assert status == 403 and "access-control-allow-origin" not in headers, method


def test_s3_through_the_endpoint_streams_ranges_conditionals_and_puts(stack, internal):
    bucket = stack["bucket"]
    publisher = client(stack, "s3", key_of(internal, "media_processor"))  # may write under videos/
    reader = client(stack, "s3", key_of(internal, "cdn"))
    data = os.urandom(3 * 1024 * 1024 + 17)  # over 1 MB: boto3 sends Expect: 100-continue
    publisher.put_object(Bucket=bucket, Key="videos/alice/through-the-proxy.mp4", Body=data, ContentType="video/mp4")
    whole = reader.get_object(Bucket=bucket, Key="videos/alice/through-the-proxy.mp4")
    assert hashlib.sha256(whole["Body"].read()).digest() == hashlib.sha256(data).digest()
    assert whole["ContentType"] == "video/mp4"
    part = reader.get_object(Bucket=bucket, Key="videos/alice/through-the-proxy.mp4", Range="bytes=1000-1999")
    assert part["Body"].read() == data[1000:2000] and part["ContentRange"] == f"bytes 1000-1999/{len(data)}"
    with pytest.raises(botocore.exceptions.ClientError) as unchanged:
        reader.get_object(Bucket=bucket, Key="videos/alice/through-the-proxy.mp4", IfNoneMatch=whole["ETag"])
    assert unchanged.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_ssm_through_the_endpoint(stack, internal):
    edge = client(stack, "ssm", key_of(internal, "edge"))
    jwks = json.loads(edge.get_parameter(Name="/edge-private-media/local/jwks")["Parameter"]["Value"])
    assert [key["kty"] for key in jwks["keys"]] == ["RSA"]


def test_the_token_service_identity_has_exactly_its_upload_and_asset_grants(stack, internal):
    """moto enforces the token service's grants: put under incoming/, read the status records,
    delete a member's asset; nothing else (no reading videos, no writing elsewhere). Listing is
    granted for the assets/ and incoming/ prefixes only (an s3:prefix condition): moto does not
    evaluate that condition (measured: it lists any prefix), AWS does."""
    bucket, path = stack["bucket"], seeded(stack, "bob")["path"]
    service = client(stack, "s3", key_of(internal, "token_service"))
    service.put_object(Bucket=bucket, Key="incoming/bob/grant-check.webm", Body=b"x")
    assert service.list_objects_v2(Bucket=bucket, Prefix="incoming/bob/grant-check.webm")["KeyCount"] == 1
    assert service.list_objects_v2(Bucket=bucket, Prefix="videos/")["KeyCount"] > 0  # moto: condition ignored
    (listing,) = [s for s in upload_statements(bucket) if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["assets/*", "incoming/*"]}}
    service.delete_object(Bucket=bucket, Key="assets/bob/not-there.json")
    for call in (lambda: service.get_object(Bucket=bucket, Key=path[1:]),
                 lambda: service.put_object(Bucket=bucket, Key="videos/bob/new.webm", Body=b"x"),
                 lambda: service.put_object(Bucket=bucket, Key="elsewhere/x.webm", Body=b"x"),
                 lambda: service.delete_object(Bucket=bucket, Key="incoming/bob/grant-check.webm"),
                 lambda: service.put_bucket_policy(Bucket=bucket, Policy="{}")):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_moto_listens_on_no_tcp_port_only_on_its_private_socket(running_stack, internal):
    assert os.stat(os.path.dirname(internal["moto_socket"])).st_mode & 0o777 == 0o700
    pid = running_stack.pids["moto"]
    moto_sockets = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            moto_sockets.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass  # closed meanwhile
    listening = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/net/{table}") as lines:
            listening |= {f"socket:[{row[9]}]" for row in map(str.split, list(lines)[1:]) if row[3] == "0A"}
    assert listening and not moto_sockets & listening
    with socket.socket(socket.AF_UNIX) as probe:
        probe.connect(internal["moto_socket"])


def signed(stack, key, method, target, body=b"", headers=None):
    """(status, headers, body) of a SigV4-signed request sent with exactly this target."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=stack["s3_endpoint"] + target, data=body, headers=headers or {})
    S3SigV4Auth(Credentials(key["access_key_id"], key["secret_access_key"]), "s3", "us-east-1").add_auth(request)
    return ask(stack["s3_endpoint"], method, target, request.headers.items(), body)


@pytest.mark.parametrize("method, target, body, headers, code", [
    ("GET", "?list-type=2&max-keys=abc", b"", {}, "InvalidArgument"),
    ("GET", "?max-keys=-1", b"", {}, "InvalidArgument"),
    ("GET", "?uploads&max-uploads=1e3", b"", {}, "InvalidArgument"),
    ("GET", "/{key}?partNumber=abc", b"", {}, "InvalidArgument"),
    ("GET", "/{key}?partNumber=0", b"", {}, "InvalidArgument"),
    ("POST", "?delete", b"<not xml", {}, "MalformedXML"),
    ("POST", "?delete", b"<Delete></Delete>", {}, "MalformedXML"),
    ("POST", "?delete", b'<!DOCTYPE d [<!ENTITY a "aaaa">]><Delete><Object><Key>&a;</Key></Object></Delete>', {},
     "MalformedXML"),
    ("PUT", "/{key}?tagging", b"<bad", {}, "MalformedXML"),
    ("PUT", "?cors", b"<bad", {}, "MalformedXML"),
    ("PUT", "?lifecycle", b"<bad", {}, "MalformedXML"),
    ("POST", "/{key}?uploadId=zz", b"<bad", {}, "MalformedXML"),
    ("PUT", "/videos/x/copy.webm", b"", {"x-amz-copy-source": "%ff"}, "InvalidArgument"),
])
def test_malformed_requests_moto_fails_on_get_s3s_answer(stack, internal, method, target, body, headers, code):
    """Each of these made moto answer 500 with its HTML traceback page; S3 answers 400 with a code."""
    key = seeded(stack, "bob")["path"][1:]
    target = f"/{stack['bucket']}{target.format(key=key)}"
    status, answer_headers, answer = signed(stack, key_of(internal, "cdn"), method, target, body, headers)
    assert (status, answer_headers["Content-Type"]) == (400, "application/xml"), answer
    assert f"<Code>{code}</Code>".encode() in answer


@pytest.mark.parametrize("query, headers", [("?response-content-type=%0d%0a", {}), ("", {"If-Modified-Since": "garbage"})])
def test_any_other_moto_failure_is_s3s_internal_error_not_a_traceback(stack, internal, query, headers):
    """Requests the proxy has no rule for that still break moto: S3's XML, nothing of moto's insides."""
    path = seeded(stack, "bob")["path"]
    status, headers, answer = signed(stack, key_of(internal, "cdn"), "GET", f"/{stack['bucket']}{path}{query}",
                                     headers=headers)
    assert (status, headers["Content-Type"]) == (500, "application/xml")
    assert b"<Code>InternalError</Code>" in answer and b"Traceback" not in answer and b"<html" not in answer.lower()
