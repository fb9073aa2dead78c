"""GET /uploads/{id}, GET /videos and DELETE /videos/{id} against the real service and a real moto
server over HTTP. The status records are written here as the media processor writes them
(ASSETS_CONTRACT: assets/{sub}/{id}.json); uploads go through the real presigned POST."""
import json
import secrets
import time

import boto3
import httpx
import pytest

from tests.servers import free_port
from tests.token_service.test_uploads import post_form, presigned

BUCKET = "media-assets"
REGION = "eu-west-1"
MEDIA_BASE_URL = "https://media.example.com"


@pytest.fixture(scope="module")
def s3(moto_url):
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto_url,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


@pytest.fixture(scope="module")
def settings(base_settings, moto_url):
    return {**base_settings, "default_paths": "/videos/{sub}/", "upload_bucket": BUCKET,
            "upload_bucket_region": REGION, "s3_endpoint_url": moto_url, "media_base_url": MEDIA_BASE_URL}


@pytest.fixture(scope="module")
def credentials():
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(name, "testing")
        yield


@pytest.fixture(scope="module")
def service(session_services, settings, s3, credentials):
    return session_services(settings)


def new_id():
    return secrets.token_urlsafe(16)


def keys_of(s3, prefix):
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", ()))


def write_record(s3, sub, asset_id, status, publish=True, **fields):
    """What the processor leaves: the record, and for `ready` the MP4 and the poster."""
    record = {"id": asset_id, "status": status, "reason": None, "created_at": "2026-12-01T10:00:00Z",
              "updated_at": "2026-12-01T10:00:09Z", "duration": None, "width": None, "height": None,
              "media_path": f"/videos/{sub}/{asset_id}.mp4", "poster_path": f"/videos/{sub}/{asset_id}.jpg",
              "filename": None, "processing": None, **fields}
    if status == "ready" and publish:
        s3.put_object(Bucket=BUCKET, Key=f"videos/{sub}/{asset_id}.mp4", Body=b"mp4", ContentType="video/mp4")
        s3.put_object(Bucket=BUCKET, Key=f"videos/{sub}/{asset_id}.jpg", Body=b"jpg", ContentType="image/jpeg")
    s3.put_object(Bucket=BUCKET, Key=f"assets/{sub}/{asset_id}.json", Body=json.dumps(record).encode(),
                  ContentType="application/json")
    return record


def call(service, idp, method, path, sub="u42", **kwargs):
    return service.request(method, path, headers={"Authorization": f"Bearer {idp.token(sub=sub)}"}, **kwargs)


# GET /uploads/{id}


def test_an_uploaded_file_is_processing_until_the_processor_writes_its_record(service, idp, s3):
    answer = presigned(service, idp)
    assert call(service, idp, "GET", answer["status_url"]).status_code == 404  # nothing uploaded yet
    assert post_form(answer).status_code == 204
    response = call(service, idp, "GET", answer["status_url"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "id": answer["id"], "status": "processing", "reason": None, "created_at": None, "updated_at": None,
        "duration": None, "width": None, "height": None, "filename": None, "processing": None,
        "media_path": answer["media_path"], "poster_path": answer["poster_path"],
        "media_url": answer["media_url"], "poster_url": answer["poster_url"]}


def test_a_ready_asset_answers_its_record_with_where_it_plays(service, idp, s3):
    asset_id = new_id()
    write_record(s3, "u42", asset_id, "ready", duration=20.04, width=1080, height=1920, filename="clip.mov",
                 processing="transcode")
    answer = call(service, idp, "GET", f"/uploads/{asset_id}").json()
    assert answer["status"] == "ready" and answer["reason"] is None
    assert (answer["duration"], answer["width"], answer["height"]) == (20.04, 1080, 1920)
    assert answer["filename"] == "clip.mov" and answer["processing"] == "transcode"
    assert answer["created_at"] == "2026-12-01T10:00:00Z"
    assert answer["media_url"] == f"{MEDIA_BASE_URL}/videos/u42/{asset_id}.mp4"
    assert answer["poster_url"] == f"{MEDIA_BASE_URL}/videos/u42/{asset_id}.jpg"


def test_a_failed_asset_says_why(service, idp, s3):
    asset_id = new_id()
    write_record(s3, "u42", asset_id, "failed", reason="not a video file")
    answer = call(service, idp, "GET", f"/uploads/{asset_id}").json()
    assert (answer["status"], answer["reason"]) == ("failed", "not a video file")


def test_record_fields_of_the_wrong_type_are_answered_as_null(service, idp, s3):
    asset_id = new_id()
    write_record(s3, "u42", asset_id, "ready", width="1080", height=True, duration=[1], reason={"x": 1},
                 media_path="https://evil.example.com/x.mp4")
    answer = call(service, idp, "GET", f"/uploads/{asset_id}").json()
    assert (answer["width"], answer["height"], answer["duration"], answer["reason"]) == (None, None, None, None)
    assert answer["media_path"] == f"/videos/u42/{asset_id}.mp4"  # the service's own layout, not the record's


def test_another_members_asset_is_404_for_status_and_delete(service, idp, s3):
    asset_id = new_id()
    write_record(s3, "alice", asset_id, "ready")
    for method in ("GET", "DELETE"):
        path = f"/uploads/{asset_id}" if method == "GET" else f"/videos/{asset_id}"
        response = call(service, idp, method, path, sub="bob")
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found"
    assert call(service, idp, "GET", f"/uploads/{asset_id}", sub="alice").json()["status"] == "ready"
    assert keys_of(s3, f"videos/alice/{asset_id}") == [f"videos/alice/{asset_id}.jpg", f"videos/alice/{asset_id}.mp4"]


HOSTILE_IDS = [
    "..", "...", "%2e%2e", "..%2f..%2fassets%2fbob", "a%2Fb", "a%5Cb", "%00", "x" * 21, "x" * 23, "x" * 100_00,
    "é" * 22, "%C3%A9" * 11, "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAA%20A", "AAAAAAAAAAAAAAAAAAAAA.",
    "AAAAAAAAAAAAAAAAAAAAAA.json", "%F0%9F%8E%AC" * 6, "%ff%fe", "AAAAAAAAAAAAAAAAAAAAA*",
]


@pytest.mark.parametrize("asset_id", HOSTILE_IDS)
def test_hostile_ids_are_404_never_500(service, idp, asset_id):
    for method, path in (("GET", f"/uploads/{asset_id}"), ("DELETE", f"/videos/{asset_id}")):
        response = call(service, idp, method, path)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["error"] == "not_found"


@pytest.fixture(scope="module")
def unreachable_s3(session_services, settings, credentials):
    """The service with S3 at a closed port: anything that reaches S3 is a 503."""
    return session_services({**settings, "s3_endpoint_url": f"http://127.0.0.1:{free_port()}",
                             "s3_timeout_seconds": "0.5"})


@pytest.mark.parametrize("asset_id", HOSTILE_IDS[:8])
def test_ids_are_checked_before_any_s3_call(unreachable_s3, idp, asset_id):
    assert call(unreachable_s3, idp, "GET", f"/uploads/{asset_id}").status_code == 404


@pytest.mark.parametrize("method, path", [("GET", "/uploads/{id}"), ("DELETE", "/videos/{id}"), ("GET", "/videos")])
def test_s3_unreachable_is_503_with_a_reason(unreachable_s3, idp, method, path):
    started = time.monotonic()
    response = call(unreachable_s3, idp, method, path.format(id=new_id()))
    assert response.status_code == 503, response.text
    assert response.json() == {"error": "temporarily_unavailable",
                               "error_description": "S3 did not answer: EndpointConnectionError"}
    assert time.monotonic() - started < 10  # two attempts of a 0.5 s connect timeout, not boto3's default 60 s


def test_an_unreadable_record_is_503_not_500(service, idp, s3):
    asset_id = new_id()
    for body in (b"{not json", b"[]", b'{"status": "done"}', b"x" * 70_000):
        s3.put_object(Bucket=BUCKET, Key=f"assets/u42/{asset_id}.json", Body=body)
        response = call(service, idp, "GET", f"/uploads/{asset_id}")
        assert response.status_code == 503, response.text
        assert response.json()["error_description"] == "the asset's status record is unreadable"


def test_no_valid_app_token_is_401(service):
    for method, path in (("GET", f"/uploads/{new_id()}"), ("GET", "/videos"), ("DELETE", f"/videos/{new_id()}")):
        assert service.request(method, path).status_code == 401


def test_a_subject_that_cannot_name_a_key_is_403(service, idp):
    response = call(service, idp, "GET", f"/uploads/{new_id()}", sub="a/b")
    assert response.status_code == 403 and response.json()["error"] == "access_denied"


# GET /videos


def test_videos_lists_ready_assets_newest_first_in_pages(service, idp, s3):
    sub = "lister"
    written = []
    for round_ in range(3):
        if round_:
            time.sleep(1.05)  # S3 lists LastModified to the second: each round is a later second
        ready = [new_id(), new_id()]
        for asset_id in ready:
            write_record(s3, sub, asset_id, "ready", filename=f"round {round_}")
        write_record(s3, sub, new_id(), "failed", reason="no video stream")
        write_record(s3, sub, new_id(), "processing")
        written.append(sorted(ready))
    expected = [asset_id for round_ in reversed(written) for asset_id in round_]  # newest second first, then by id

    whole = call(service, idp, "GET", "/videos", sub=sub)
    assert whole.status_code == 200 and whole.headers["cache-control"] == "no-store"
    assert [video["id"] for video in whole.json()["videos"]] == expected
    assert whole.json()["next"] is None
    assert all(video["status"] == "ready" and video["media_url"].endswith(f"/videos/{sub}/{video['id']}.mp4")
               for video in whole.json()["videos"])

    seen, cursor = [], None
    for _ in range(10):
        page = call(service, idp, "GET", "/videos", sub=sub, params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        assert len(page.json()["videos"]) <= 2
        seen += [video["id"] for video in page.json()["videos"]]
        cursor = page.json()["next"]
        if cursor is None:
            break
    assert seen == expected

    assert call(service, idp, "GET", "/videos", sub="nobody-yet").json() == {"videos": [], "next": None}
    assert call(service, idp, "GET", "/videos", sub="lister2").json() == {"videos": [], "next": None}  # not a prefix match


@pytest.mark.parametrize("params, reason", [
    ({"limit": 0}, "limit: Input should be greater than or equal to 1"),
    ({"limit": 51}, "limit: Input should be less than or equal to 50"),
    ({"limit": 10**40}, "limit: Input should be less than or equal to 50"),
    ({"limit": "ten"}, "limit: Input should be a valid integer"),
    ({"limit": "1e3"}, "limit: Input should be a valid integer"),
    ({"cursor": "x" * 65}, "cursor: String should have at most 64 characters"),
    ({"cursor": "not a cursor"}, "cursor is not one this service gave"),
    ({"cursor": "../../assets/bob/"}, "cursor is not one this service gave"),
    ({"cursor": "MTIzLg"}, "cursor is not one this service gave"),  # base64url of "123."
    ({"cursor": "é"}, "cursor is not one this service gave"),
    ({"cursor": "%00"}, "cursor is not one this service gave"),
])
def test_hostile_list_parameters_are_400(service, idp, params, reason):
    response = call(service, idp, "GET", "/videos", params=params)
    assert response.status_code == 400, response.text
    assert reason in response.json()["error_description"]


# DELETE /videos/{id}


def test_delete_removes_the_video_the_poster_and_the_record_then_404(service, idp, s3):
    asset_id = new_id()
    write_record(s3, "u42", asset_id, "ready")
    response = call(service, idp, "DELETE", f"/videos/{asset_id}")
    assert response.status_code == 204, response.text
    assert keys_of(s3, f"videos/u42/{asset_id}") == [] and keys_of(s3, f"assets/u42/{asset_id}") == []
    assert call(service, idp, "GET", f"/uploads/{asset_id}").status_code == 404
    again = call(service, idp, "DELETE", f"/videos/{asset_id}")
    assert again.status_code == 404 and again.json()["error_description"] == "no such video"


def test_a_failed_asset_can_be_deleted(service, idp, s3):
    asset_id = new_id()
    write_record(s3, "u42", asset_id, "failed", reason="longer than 10 minutes")
    assert call(service, idp, "DELETE", f"/videos/{asset_id}").status_code == 204
    assert keys_of(s3, f"assets/u42/{asset_id}") == []


def test_an_asset_being_processed_cannot_be_deleted_yet(service, idp, s3):
    answer = presigned(service, idp)
    assert post_form(answer).status_code == 204  # uploaded, no record yet
    response = call(service, idp, "DELETE", f"/videos/{answer['id']}")
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "conflict"
    write_record(s3, "u42", answer["id"], "processing")
    assert call(service, idp, "DELETE", f"/videos/{answer['id']}").status_code == 409
    assert keys_of(s3, f"assets/u42/{answer['id']}") == [f"assets/u42/{answer['id']}.json"]


def test_the_routes_are_documented_and_absent_without_uploads(service, idp):
    paths = service.get("/openapi.json").json()["paths"]
    assert {"/uploads/{asset_id}", "/videos", "/videos/{asset_id}"} <= set(paths)
    assert "delete" in paths["/videos/{asset_id}"]


def test_without_a_bucket_the_asset_routes_do_not_exist(session_services, base_settings, idp):
    plain = session_services({**base_settings, "default_paths": "/videos/{sub}/"})
    for method, path in (("GET", f"/uploads/{new_id()}"), ("GET", "/videos"), ("DELETE", f"/videos/{new_id()}")):
        assert call(plain, idp, method, path).status_code == 404


def test_cors_preflight_allows_delete_from_the_app(service):
    response = httpx.options(f"{service.url}/videos/{new_id()}", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "authorization"}, timeout=10)
    assert response.status_code == 200
    assert "DELETE" in response.headers["access-control-allow-methods"]


@pytest.mark.parametrize("sub", ["auth0|5f7c8ec7c33c6c004bbafe82", "user@example.com", "a+b c", "a%2Fb", "ü🎬", "a..b"])
def test_unusual_subjects_reach_their_own_records(service, idp, s3, sub):
    asset_id = new_id()
    write_record(s3, sub, asset_id, "ready")
    assert call(service, idp, "GET", f"/uploads/{asset_id}", sub=sub).json()["status"] == "ready"
    assert [video["id"] for video in call(service, idp, "GET", "/videos", sub=sub).json()["videos"]] == [asset_id]
    assert call(service, idp, "DELETE", f"/videos/{asset_id}", sub=sub).status_code == 204
    assert keys_of(s3, f"videos/{sub}/") == [] and keys_of(s3, f"assets/{sub}/") == []
