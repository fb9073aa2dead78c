"""POST /uploads against the real service, and its forms posted to a real moto server over HTTP.

Moto stores whatever a POST form sends: it checks neither the policy nor the signature (measured
below, one test per rule). For each rule moto skips, the test shows that moto accepted the form
and that the signed policy document, which is what S3 enforces, forbids it (docs/uploads.md,
"What S3 enforces and moto may not").
"""
import base64
import datetime
import hashlib
import hmac
import json
import re
import time
from urllib.parse import unquote, urlsplit

import boto3
import httpx
import pytest

from edge.paths import compile_scope, object_path
from token_service.uploads import Uploader
from tests.servers import free_port
from tests.token_service.conftest import APP_ORIGIN, JwksServer, claims_of

BUCKET = "media-uploads"
REGION = "eu-west-1"
MEDIA_BASE_URL = "https://media.example.com"
ACCESS_KEY = "AKIAUPLOADTESTKEY001"
SECRET_KEY = "upload-test-secret-key-never-logged"
SESSION_TOKEN = "upload-test-session-token-never-logged"
DEFAULT_MAX_BYTES = 209715200
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256))


@pytest.fixture(scope="module")
def s3_credentials():
    """Recognisable credentials (moto accepts any) so the logs can be searched for them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        patch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        patch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
        yield


@pytest.fixture(scope="module")
def s3(moto_url):
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto_url,
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


@pytest.fixture(scope="module")
def upload_settings(base_settings, moto_url):
    return {**base_settings, "default_paths": "/videos/{sub}/", "upload_bucket": BUCKET,
            "upload_bucket_region": REGION, "s3_endpoint_url": moto_url, "media_base_url": MEDIA_BASE_URL}


@pytest.fixture(scope="module")
def uploads(session_services, upload_settings, s3, s3_credentials):
    return session_services(upload_settings)


def request_upload(service, app_token=None, headers=None, **kwargs) -> httpx.Response:
    headers = dict(headers or {})
    if app_token is not None:
        headers["Authorization"] = f"Bearer {app_token}"
    return service.request("POST", "/uploads", headers=headers, **kwargs)


def presigned(service, idp, sub="u42", **body) -> dict:
    response = request_upload(service, idp.token(sub=sub), json={"content_type": "video/mp4", "size": len(MP4), **body})
    assert response.status_code == 201, response.text
    return response.json()


def post_form(answer, body=MP4, fields=None, file_type="video/mp4") -> httpx.Response:
    """The browser's multipart POST: the answer's fields (as given, or changed), then the file."""
    return httpx.post(answer["url"], data={**answer["fields"], **(fields or {})},
                      files={"file": ("clip", body, file_type)}, timeout=10)


def decoded_policy(fields) -> dict:
    return json.loads(base64.b64decode(fields["policy"]))


def policy_refusal(fields, bucket, body_size, now=None) -> str | None:
    """Why S3 refuses this form under its signed policy, by the rules AWS documents for POST
    policies, or None: every condition holds, every form field is covered by a condition (but
    x-amz-signature, policy, file and x-ignore-*), the policy has not expired."""
    policy = decoded_policy(fields)
    expiration = datetime.datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    if (time.time() if now is None else now) >= expiration.timestamp():
        return "policy expired"
    values = {name.lower(): value for name, value in fields.items()} | {"bucket": bucket}
    covered = set()
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
            operator = "eq"
        elif condition[0] == "content-length-range":
            if not condition[1] <= body_size <= condition[2]:
                return "content-length-range"
            continue
        else:
            operator, name, expected = condition
            name = name.removeprefix("$")
        name = name.lower()
        covered.add(name)
        if name not in values:
            return f"{name} missing"
        if operator == "eq" and values[name] != expected or operator == "starts-with" and not values[name].startswith(expected):
            return f"{name} does not match"
    extra = [name for name in values if name not in covered | {"x-amz-signature", "policy", "file"}
             and not name.startswith("x-ignore-")]
    return f"{extra[0]} not in policy" if extra else None


def signature_matches(fields, secret_key=SECRET_KEY) -> bool:
    """SigV4 for POST: the signature is an HMAC of the base64 policy under the credential's scope."""
    _, date, region, service, _ = fields["x-amz-credential"].split("/")
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, fields["policy"].encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["x-amz-signature"])


# The answer and its policy


def test_answer_is_a_presigned_post_pinning_key_type_and_size(uploads, idp, moto_url):
    started = time.time()
    response = request_upload(uploads, idp.token(sub="u42"), json={"content_type": "video/mp4", "size": 12345678})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    answer = response.json()
    assert set(answer) == {"id", "url", "fields", "path", "status_url", "media_path", "poster_path", "media_url",
                           "poster_url", "expires_in", "max_bytes"}
    assert answer["url"] == f"{moto_url}/{BUCKET}"  # path style for the local endpoint
    asset_id = answer["id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", asset_id)  # 16 random bytes, base64url
    path = answer["path"]
    assert path == f"/incoming/u42/{asset_id}"  # the upload waits outside every viewing scope
    assert answer["status_url"] == f"/uploads/{asset_id}"
    assert answer["media_path"] == f"/videos/u42/{asset_id}.mp4" and answer["poster_path"] == f"/videos/u42/{asset_id}.jpg"
    assert answer["media_url"] == MEDIA_BASE_URL + answer["media_path"]
    assert answer["poster_url"] == MEDIA_BASE_URL + answer["poster_path"]
    assert answer["expires_in"] == 300 and answer["max_bytes"] == 12345678

    fields = answer["fields"]
    assert fields["key"] == path[1:] and fields["Content-Type"] == "video/mp4"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-security-token"] == SESSION_TOKEN  # the role's session token travels with the form
    policy = decoded_policy(fields)
    date = datetime.datetime.fromtimestamp(started, datetime.UTC).strftime("%Y%m%d")
    assert sorted(map(json.dumps, policy["conditions"])) == sorted(map(json.dumps, [
        {"bucket": BUCKET},
        {"key": path[1:]},
        {"Content-Type": "video/mp4"},
        ["content-length-range", 1, 12345678],
        {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
        {"x-amz-credential": f"{ACCESS_KEY}/{date}/{REGION}/s3/aws4_request"},
        {"x-amz-date": fields["x-amz-date"]},
        {"x-amz-security-token": SESSION_TOKEN},
    ]))
    expiration = datetime.datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    assert started + 300 - 2 <= expiration.timestamp() <= time.time() + 300 + 1
    assert signature_matches(fields)
    assert policy_refusal(fields, BUCKET, 12345678) is None
    assert policy_refusal(fields, BUCKET, 1) is None


def test_every_upload_gets_a_new_id_and_the_published_video_is_an_mp4(uploads, idp):
    answers = [presigned(uploads, idp, content_type=media_type)
               for media_type in ("video/mp4", "video/mp4", "video/webm", "Video/QuickTime")]
    assert len({answer["id"] for answer in answers}) == 4
    assert all(answer["path"] == f"/incoming/u42/{answer['id']}" for answer in answers)  # no extension
    assert all(answer["media_path"].endswith(".mp4") for answer in answers)  # whatever came in
    assert answers[3]["fields"]["Content-Type"] == "video/quicktime"  # media types are case-insensitive


@pytest.mark.parametrize("region, url", [
    ("eu-west-1", "https://media-uploads.s3.eu-west-1.amazonaws.com/"),
    ("us-east-1", "https://media-uploads.s3.us-east-1.amazonaws.com/"),  # regional, not the global endpoint
])
def test_in_aws_the_form_goes_to_the_buckets_regional_endpoint(region, url):
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    answer = Uploader(BUCKET, region, session=session).presign("u42", "video/mp4", 10)
    assert answer["url"] == url
    assert answer["media_url"] is None  # no TOKEN_SERVICE_MEDIA_BASE_URL
    credential = f"{ACCESS_KEY}/{answer['fields']['x-amz-date'][:8]}/{region}/s3/aws4_request"
    assert {"x-amz-credential": credential} in decoded_policy(answer["fields"])["conditions"]


# The form against moto


def test_the_browsers_form_uploads_the_bytes_with_the_pinned_type(uploads, idp, s3):
    answer = presigned(uploads, idp, filename="holiday video.mp4")
    response = post_form(answer)
    assert response.status_code == 204, response.text
    stored = s3.get_object(Bucket=BUCKET, Key=answer["path"][1:])
    assert stored["Body"].read() == MP4
    assert stored["ContentType"] == "video/mp4"
    assert stored["Metadata"] == {"filename": "holiday video.mp4"}


def test_moto_accepts_a_body_over_the_declared_size_the_policy_forbids_it(uploads, idp, s3):
    answer = presigned(uploads, idp)
    too_big = MP4 + b"x"
    assert post_form(answer, body=too_big).status_code == 204  # moto: stored anyway
    assert s3.head_object(Bucket=BUCKET, Key=answer["path"][1:])["ContentLength"] == len(too_big)
    assert policy_refusal(answer["fields"], BUCKET, len(too_big)) == "content-length-range"


def test_moto_accepts_an_empty_body_the_policy_forbids_it(uploads, idp, s3):
    answer = presigned(uploads, idp)
    assert post_form(answer, body=b"").status_code == 204
    assert s3.head_object(Bucket=BUCKET, Key=answer["path"][1:])["ContentLength"] == 0
    assert policy_refusal(answer["fields"], BUCKET, 0) == "content-length-range"


def test_moto_accepts_another_content_type_the_policy_forbids_it(uploads, idp, s3):
    answer = presigned(uploads, idp)
    changed = {"Content-Type": "text/html"}
    assert post_form(answer, fields=changed).status_code == 204
    assert s3.head_object(Bucket=BUCKET, Key=answer["path"][1:])["ContentType"] == "text/html"
    assert policy_refusal({**answer["fields"], **changed}, BUCKET, len(MP4)) == "content-type does not match"


def test_the_file_parts_own_type_is_ignored_the_form_field_counts(uploads, idp, s3):
    answer = presigned(uploads, idp)
    assert post_form(answer, file_type="text/html").status_code == 204
    assert s3.head_object(Bucket=BUCKET, Key=answer["path"][1:])["ContentType"] == "video/mp4"


def test_moto_accepts_another_key_the_policy_forbids_it(uploads, idp, s3):
    answer = presigned(uploads, idp)
    changed = {"key": "videos/bob/replaced.mp4"}
    assert post_form(answer, fields=changed).status_code == 204
    assert s3.get_object(Bucket=BUCKET, Key="videos/bob/replaced.mp4")["Body"].read() == MP4
    assert policy_refusal({**answer["fields"], **changed}, BUCKET, len(MP4)) == "key does not match"


@pytest.mark.parametrize("extra, moto_status", [
    ({"acl": "public-read"}, 204),
    ({"x-amz-meta-owner": "bob"}, 204),
    ({"success_action_redirect": "https://evil.example.com/"}, 303),
])
def test_moto_accepts_fields_outside_the_policy_the_policy_forbids_them(uploads, idp, s3, extra, moto_status):
    answer = presigned(uploads, idp)
    assert post_form(answer, fields=extra).status_code == moto_status
    assert s3.head_object(Bucket=BUCKET, Key=answer["path"][1:])["ContentLength"] == len(MP4)
    (name,) = extra
    assert policy_refusal({**answer["fields"], **extra}, BUCKET, len(MP4)) == f"{name} not in policy"


def test_moto_accepts_an_expired_policy_s3_refuses_it(uploads, idp, s3, moto_url):
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    uploader = Uploader(BUCKET, REGION, endpoint_url=moto_url, expires_seconds=-1, session=session)
    answer = uploader.presign("u42", "video/mp4", len(MP4))
    assert post_form(answer).status_code == 204
    assert s3.head_object(Bucket=BUCKET, Key=answer["path"][1:])["ContentLength"] == len(MP4)
    assert policy_refusal(answer["fields"], BUCKET, len(MP4)) == "policy expired"
    # The service's answers expire as configured: 300 s here, never under 60 s (settings).
    fresh = presigned(uploads, idp)["fields"]
    assert policy_refusal(fresh, BUCKET, len(MP4), now=time.time() + 295) is None
    assert policy_refusal(fresh, BUCKET, len(MP4), now=time.time() + 302) == "policy expired"


def test_moto_accepts_a_rewritten_policy_its_signature_no_longer_matches(uploads, idp, s3):
    answer = presigned(uploads, idp)
    policy = decoded_policy(answer["fields"])
    # The attacker's policy: any key, any size (the key and content-length-range conditions dropped).
    policy["conditions"] = [c for c in policy["conditions"] if isinstance(c, dict) and "key" not in c]
    policy["conditions"].append(["starts-with", "$key", ""])
    rewritten = {"policy": base64.b64encode(json.dumps(policy).encode()).decode(), "key": "videos/bob/via-policy.mp4"}
    assert post_form(answer, fields=rewritten).status_code == 204
    assert s3.head_object(Bucket=BUCKET, Key="videos/bob/via-policy.mp4")["ContentLength"] == len(MP4)
    assert policy_refusal({**answer["fields"], **rewritten}, BUCKET, 10**9) is None  # the new policy allows it...
    assert signature_matches(answer["fields"]) and not signature_matches({**answer["fields"], **rewritten})  # ...unsigned


# Refusals


@pytest.mark.parametrize("body, reason", [
    ({"content_type": "text/html", "size": 10}, "content_type must be one of video/mp4, video/webm, video/quicktime"),
    ({"content_type": "image/svg+xml", "size": 10}, "content_type must be one of"),
    ({"content_type": "video/mp4; codecs=avc1", "size": 10}, "content_type must be one of"),
    ({"content_type": "", "size": 10}, "content_type must be one of"),
    ({"content_type": "video/mp4", "size": DEFAULT_MAX_BYTES + 1}, f"size must be 1..{DEFAULT_MAX_BYTES} bytes"),
    ({"content_type": "video/mp4", "size": 10**30}, "size must be 1.."),
    ({"content_type": "video/mp4", "size": 0}, "size: Input should be greater than or equal to 1"),
    ({"content_type": "video/mp4", "size": -5}, "size: Input should be greater than or equal to 1"),
    ({"content_type": "video/mp4", "size": True}, "size: Input should be a valid integer"),
    ({"content_type": "video/mp4", "size": 10.0}, "size: Input should be a valid integer"),
    ({"content_type": "video/mp4", "size": 1.5}, "size: Input should be a valid integer"),
    ({"content_type": "video/mp4", "size": "10"}, "size: Input should be a valid integer"),
    ({"content_type": "video/mp4", "size": None}, "size: Input should be a valid integer"),
    ({"content_type": "video/mp4"}, "size: Field required"),
    ({"size": 10}, "content_type: Field required"),
    ({"content_type": ["video/mp4"], "size": 10}, "content_type: Input should be a valid string"),
    ({"content_type": "video/mp4", "size": 10, "key": "videos/u42/mine.mp4"}, "key: Extra inputs are not permitted"),
    ({"content_type": "video/mp4", "size": 10, "Key": "x"}, "Key: Extra inputs are not permitted"),
    ({"content_type": "video/mp4", "size": 10, "bucket": "other"}, "bucket: Extra inputs are not permitted"),
    ({"content_type": "video/mp4", "size": 10, "acl": "public-read"}, "acl: Extra inputs are not permitted"),
    ({"content_type": "video/mp4", "size": 10, "filename": ""}, "filename must be 1..128 characters"),
    ({"content_type": "video/mp4", "size": 10, "filename": "a" * 129}, "filename must be 1..128 characters"),
    ({"content_type": "video/mp4", "size": 10, "filename": "a\r\nx-amz-meta-evil: 1"}, "filename must not contain control characters"),
    ({"content_type": "video/mp4", "size": 10, "filename": "a\x00.mp4"}, "filename must not contain control characters"),
    ({"content_type": "video/mp4", "size": 10, "filename": "\u202e\x85"}, "filename must not contain control characters"),
    *[({"content_type": "video/mp4", "size": 10, "filename": f"clip{bidi}4pm.exe"}, "bidirectional controls")
      for bidi in ("\u202e", "\u202d", "\u202a", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c")],
    ({"content_type": "video/mp4", "size": 10, "filename": 42}, "filename: Input should be a valid string"),
])
def test_bad_requests_are_400_with_a_reason(uploads, idp, body, reason):
    response = request_upload(uploads, idp.token(), json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert reason in response.json()["error_description"]


@pytest.mark.parametrize("content, content_type, status, reason", [
    (b"", "application/json", 400, "content_type: Field required"),
    (b"{", "application/json", 400, "body is not valid JSON"),
    (b"[]", "application/json", 400, "Input should be a valid dictionary"),
    (b'{"content_type": "video/mp4", "size": 1' + b"0" * 5000 + b"}", "application/json", 400, "body is not valid JSON"),
    (b'{"content_type": "video/mp4", "size": 1e400}', "application/json", 400, "size: Input should be a valid integer"),
    (b'{"content_type": "video/mp4", "size": 10, "filename": "\\ud800.mp4"}', "application/json", 400, "invalid Unicode"),
    (b'{"content_type": "video/mp4", "size": 10, "filename": "' + b"a" * 20000 + b'"}', "application/json", 413, "body larger than"),
    (b"content_type=video/mp4&size=10", "application/x-www-form-urlencoded", 415, "body must be application/json"),
])
def test_malformed_bodies_are_4xx_with_a_reason(uploads, idp, content, content_type, status, reason):
    response = request_upload(uploads, idp.token(), content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert reason in response.json()["error_description"]


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer not-a-token"])
def test_no_valid_app_token_is_401(uploads, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = request_upload(uploads, headers=headers, json={"content_type": "video/mp4", "size": 10})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="token-service"')


@pytest.mark.parametrize("sub", ["../bob", "a/b", "/", "*", "u*", "..", ".", "a\\b", "a\x00b", "a\nb", "x" * 257,
                                 "\ud800",
                                 "🎬" * 250,   # 256 characters at most, but a key of more than 1024 bytes
                                 "🎬" * 170])  # a key under 1024 bytes whose media URL is over 2048 characters
def test_subjects_that_cannot_name_a_key_in_their_own_prefix_are_403(uploads, idp, sub):
    response = request_upload(uploads, idp.token(sub=sub), json={"content_type": "video/mp4", "size": 10})
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "access_denied"
    assert "subject" in response.json()["error_description"]


@pytest.mark.parametrize("sub", ["auth0|5f7c8ec7c33c6c004bbafe82", "user@example.com", "a+b c", "a%2Fb", "a..b", "ü🎬"])
def test_unusual_subjects_get_a_key_the_edge_resolves_to_the_same_object(uploads, idp, sub):
    """The media and poster URLs, read by the edge, name exactly the published keys, and the member's
    viewing token (scope /videos/{sub}/) covers them and not the incoming key."""
    answer = presigned(uploads, idp, sub=sub)
    assert answer["path"] == f"/incoming/{sub}/{answer['id']}"
    assert answer["fields"]["key"] == answer["path"][1:]
    viewing = compile_scope(claims_of(uploads.post_token(idp.token(sub=sub)).json()["access_token"])["paths"])
    for url, path in ((answer["media_url"], answer["media_path"]), (answer["poster_url"], answer["poster_path"])):
        assert path.startswith(f"/videos/{sub}/") and path.count("/") == 3
        assert object_path(urlsplit(url).path) == path
        assert viewing(object_path(urlsplit(url).path))
    assert not viewing(answer["path"])


@pytest.mark.parametrize("filename", ["../../bob/evil.mp4", "<script>alert(1)</script>.html", "vidéo 🎬 100%.mov",
                                      "x" * 128, 'quote" and \\ back'])
def test_filenames_are_stored_for_display_and_never_reach_the_key(uploads, idp, s3, filename):
    answer = presigned(uploads, idp, filename=filename)
    assert answer["path"] == f"/incoming/u42/{answer['id']}"
    assert answer["fields"]["x-amz-meta-filename"].isascii()
    assert unquote(answer["fields"]["x-amz-meta-filename"]) == filename
    assert post_form(answer).status_code == 204
    stored = s3.head_object(Bucket=BUCKET, Key=answer["path"][1:])
    assert unquote(stored["Metadata"]["filename"]) == filename and stored["ContentType"] == "video/mp4"


# Availability


def test_without_a_bucket_there_is_no_upload_route(service, idp):
    response = request_upload(service, idp.token(), json={"content_type": "video/mp4", "size": 10})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "/uploads" not in service.get("/openapi.json").json()["paths"]


def test_missing_s3_credentials_are_503_not_500(start_service, upload_settings, idp, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    service = start_service(upload_settings)
    response = request_upload(service, idp.token(), json={"content_type": "video/mp4", "size": 10})
    assert response.status_code == 503, response.text
    assert response.json() == {"error": "temporarily_unavailable",
                               "error_description": "no AWS credentials to sign uploads with"}
    assert request_upload(service, idp.token(), json={"content_type": "text/html", "size": 10}).status_code == 400


def test_an_unreachable_s3_endpoint_does_not_fail_presigning(start_service, upload_settings, idp, s3_credentials):
    """Presigning never calls S3: the answer is 201 and the browser's POST is what fails."""
    down = f"http://127.0.0.1:{free_port()}"
    service = start_service({**upload_settings, "s3_endpoint_url": down})
    response = request_upload(service, idp.token(), json={"content_type": "video/mp4", "size": 10})
    assert response.status_code == 201, response.text
    assert response.json()["url"] == f"{down}/{BUCKET}"
    with pytest.raises(httpx.ConnectError):
        post_form(response.json())


def test_identity_provider_down_is_503_as_for_token(start_service, upload_settings, idp, s3_credentials):
    jwks = JwksServer(idp.jwks())
    service = start_service({**upload_settings, "idp_jwks_url": jwks.url})
    jwks.stop()
    response = request_upload(service, idp.token(), json={"content_type": "video/mp4", "size": 10})
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "temporarily_unavailable" and response.headers["retry-after"]


# What the service shows


def test_openapi_and_cors_cover_uploads(uploads, idp):
    operation = uploads.get("/openapi.json").json()["paths"]["/uploads"]["post"]
    assert operation["security"] and {"201", "400", "401", "403", "503"} <= set(operation["responses"])
    preflight = httpx.options(f"{uploads.url}/uploads", timeout=10, headers={
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    answered = request_upload(uploads, idp.token(), json={"content_type": "video/mp4", "size": 10},
                              headers={"Origin": APP_ORIGIN})
    assert answered.headers["access-control-allow-origin"] == APP_ORIGIN


def test_log_names_the_upload_and_never_a_credential_or_signature(uploads, idp):
    answer = presigned(uploads, idp, sub="log-check-uploads")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and answer["path"] not in uploads.log_text():
        time.sleep(0.05)
    (line,) = [line for line in uploads.log_lines() if line.get("upload") == answer["path"]]
    assert line["sub"] == "log-check-uploads" and line["status"] == 201 and line["path"] == "/uploads"
    everything = uploads.log_text() + uploads.stderr()
    for secret in (SECRET_KEY, SESSION_TOKEN, ACCESS_KEY, answer["fields"]["x-amz-signature"], answer["fields"]["policy"]):
        assert secret not in everything
