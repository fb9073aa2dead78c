"""Uploads end to end on the running stack, as a browser does them: POST /uploads for a form, the
file POSTed straight to the bucket (the advertised S3 endpoint), then read back through the CDN."""
import hashlib
import os

from tests.local_stack.conftest import app_token, viewing_token


def test_alice_uploads_and_watches_her_video_and_bob_may_not(http, stack):
    data = os.urandom(5 * 1024 * 1024 + 123)
    answer = http.post(f"{stack['token_url']}/uploads", headers={
        "Authorization": f"Bearer {app_token(http, stack, 'alice')}", "Origin": stack["demo_url"]},
        json={"content_type": "video/mp4", "size": len(data), "filename": "holiday é.mp4"})
    assert answer.status_code == 201, answer.text
    assert answer.headers["access-control-allow-origin"] == stack["demo_url"]
    form = answer.json()
    assert form["url"] == f"{stack['s3_endpoint']}/{stack['bucket']}"
    assert form["path"].startswith("/videos/alice/") and form["media_url"] == stack["cdn_url"] + form["path"]

    upload = http.post(form["url"], data=form["fields"], files={"file": ("holiday.mp4", data, "video/mp4")},
                       headers={"Origin": stack["demo_url"]}, timeout=60)
    assert upload.status_code == 204, upload.text
    assert upload.headers["access-control-allow-origin"] == stack["demo_url"]

    alice = viewing_token(http, stack, "alice")
    watched = http.get(form["media_url"], headers={"Authorization": f"Bearer {alice}"})
    assert watched.status_code == 200 and watched.headers["content-type"] == "video/mp4"
    assert hashlib.sha256(watched.content).digest() == hashlib.sha256(data).digest()
    middle = http.get(form["media_url"], headers={"Authorization": f"Bearer {alice}", "Range": "bytes=4000000-4000099"})
    assert middle.status_code == 206 and middle.content == data[4000000:4000100]

    bob = viewing_token(http, stack, "bob")
    assert http.get(form["media_url"], headers={"Authorization": f"Bearer {bob}"}).status_code == 403

    # the form is for that one key, type and size: a second, larger file is refused
    again = http.post(form["url"], data=form["fields"], files={"file": ("x.mp4", data + b"!", "video/mp4")})
    assert again.status_code == 400 and "EntityTooLarge" in again.text
