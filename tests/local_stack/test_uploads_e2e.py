"""Uploads end to end on the running stack, as a browser does them: POST /uploads for a form, the
file POSTed straight to the bucket (the advertised S3 endpoint), the media processor run by the
stack on the new incoming object, the asset's status from the token service, then the published
video and poster read through the CDN; the incoming object is never served, another member gets
nothing, DELETE removes it, and the stack's webhook receiver gets the signed events."""
import json
import os
import time

import boto3
import jwt
import pytest

from media_processor.probe import NOT_A_VIDEO
from tests.local_stack.conftest import app_token, viewing_token
from tests.media_processor.clips import make_clip
from tests.media_processor.media import describe, top_level_boxes
from token_service import keys

READY_TIMEOUT = 120  # a loaded 2-core CI machine transcoding while other tests run


def upload(http, stack, member, data, content_type, filename):
    """The member's form, posted: (the POST /uploads answer, auth headers for the token service)."""
    auth = {"Authorization": f"Bearer {app_token(http, stack, member)}"}
    answer = http.post(f"{stack['token_url']}/uploads", headers={**auth, "Origin": stack["demo_url"]},
                       json={"content_type": content_type, "size": len(data), "filename": filename})
    assert answer.status_code == 201, answer.text
    assert answer.headers["access-control-allow-origin"] == stack["demo_url"]
    form = answer.json()
    assert form["url"] == f"{stack['s3_endpoint']}/{stack['bucket']}"
    posted = http.post(form["url"], data=form["fields"], files={"file": (filename, data, content_type)},
                       headers={"Origin": stack["demo_url"]}, timeout=60)
    assert posted.status_code == 204, posted.text
    assert posted.headers["access-control-allow-origin"] == stack["demo_url"]
    return form, auth


def settled(http, stack, form, auth):
    """The asset's status once it is no longer `processing` (the processor runs in the stack)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        answer = http.get(stack["token_url"] + form["status_url"], headers=auth)
        assert answer.status_code == 200, answer.text
        if answer.json()["status"] != "processing":
            return answer.json()
        time.sleep(0.2)
    pytest.fail(f"{form['id']} still processing after {READY_TIMEOUT} s")


def webhook_lines(running_stack, asset_id):
    return [line for line in running_stack.output().splitlines() if "webhook |" in line and asset_id in line]


def wait_for_webhook(running_stack, asset_id):
    deadline = time.monotonic() + 30  # delivered right after the status is written
    while not webhook_lines(running_stack, asset_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    return webhook_lines(running_stack, asset_id)


@pytest.fixture(scope="module")
def phone_clip(tmp_path_factory):
    """An iPhone-like clip: HEVC 10-bit in QuickTime, index at the end, rotated 90°, AAC."""
    path = tmp_path_factory.mktemp("clips") / "phone.mov"
    return make_clip(path, container="mov", video="libx265", pix_fmt="yuv420p10le", rotation=-90, size=(320, 240),
                     seconds=2.0).read_bytes()


@pytest.fixture(scope="module")
def unscoped_token(stack, internal):
    """A viewing token without a `paths` claim (opens every path), signed with the stack's key: the
    strongest token there is, read from SSM with the token service's own identity."""
    key = internal["access_keys"]["token_service"]
    ssm = boto3.client("ssm", endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                       aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])
    pem = ssm.get_parameter(Name="/edge-private-media/local/signing-keys/local-1", WithDecryption=True)
    (private,) = keys.load_private_keys_pem(pem["Parameter"]["Value"].encode())
    now = int(time.time())
    return jwt.encode({"iss": stack["token_url"], "aud": stack["cdn_url"], "sub": "alice", "iat": now, "nbf": now,
                       "exp": now + 120}, private, "RS256", headers={"kid": keys.thumbprint(private.public_key())})


def test_a_phone_clip_becomes_an_upright_h264_asset_that_only_its_member_sees(
        http, stack, running_stack, phone_clip, tmp_path):
    form, auth = upload(http, stack, "alice", phone_clip, "video/quicktime", "IMG_0001.MOV")
    assert form["path"] == f"/incoming/alice/{form['id']}"
    assert form["media_url"] == f"{stack['cdn_url']}/videos/alice/{form['id']}.mp4"
    assert form["poster_url"] == f"{stack['cdn_url']}/videos/alice/{form['id']}.jpg"

    status = settled(http, stack, form, auth)
    assert status["status"] == "ready", status
    assert (status["width"], status["height"]) == (240, 320)  # upright: the rotation is applied
    assert status["processing"] == "transcode" and status["filename"] == "IMG_0001.MOV"
    assert 1.9 <= status["duration"] <= 2.2

    alice = {"Authorization": f"Bearer {viewing_token(http, stack, 'alice')}"}
    video = http.get(form["media_url"], headers=alice)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    boxes = top_level_boxes(video.content)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart: plays before the whole file is in
    (tmp_path / "published.mp4").write_bytes(video.content)
    published = describe(tmp_path / "published.mp4")
    assert (published["video"], published["pix_fmt"], published["audio"]) == ("h264", "yuv420p", "aac")
    assert (published["width"], published["height"], published["rotation"]) == (240, 320, 0)
    poster = http.get(form["poster_url"], headers=alice)
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert poster.content[:3] == b"\xff\xd8\xff"
    assert http.get(stack["cdn_url"] + form["path"], headers=alice).status_code == 403  # incoming: long gone anyway

    bob = {"Authorization": f"Bearer {viewing_token(http, stack, 'bob')}"}
    bob_app = {"Authorization": f"Bearer {app_token(http, stack, 'bob')}"}
    assert http.get(form["media_url"], headers=bob).status_code == 403
    assert http.get(form["poster_url"], headers=bob).status_code == 403
    assert http.get(stack["token_url"] + form["status_url"], headers=bob_app).status_code == 404
    assert form["id"] not in json.dumps(http.get(f"{stack['token_url']}/videos", headers=bob_app).json())
    assert http.delete(f"{stack['token_url']}/videos/{form['id']}", headers=bob_app).status_code == 404

    listed = http.get(f"{stack['token_url']}/videos", headers=auth).json()["videos"]
    assert form["id"] in [video["id"] for video in listed]
    (event,) = wait_for_webhook(running_stack, form["id"])
    assert f"verified asset.ready for asset {form['id']} of alice" in event  # the signature checked out

    deleted = http.delete(f"{stack['token_url']}/videos/{form['id']}", headers=auth)
    assert deleted.status_code == 204, deleted.text
    assert http.get(form["media_url"], headers=alice).status_code == 404  # moto lists: 404 (403 in AWS)
    assert http.get(form["poster_url"], headers=alice).status_code == 404
    assert http.get(stack["token_url"] + form["status_url"], headers=auth).status_code == 404
    assert form["id"] not in json.dumps(http.get(f"{stack['token_url']}/videos", headers=auth).json())


def test_bytes_that_are_not_a_video_fail_with_a_reason_and_nothing_is_published(http, stack, running_stack):
    form, auth = upload(http, stack, "alice", os.urandom(300_000), "video/mp4", "holiday é.mp4")
    status = settled(http, stack, form, auth)
    assert (status["status"], status["reason"]) == ("failed", NOT_A_VIDEO)
    alice = {"Authorization": f"Bearer {viewing_token(http, stack, 'alice')}"}
    assert http.get(form["media_url"], headers=alice).status_code == 404
    assert http.get(form["poster_url"], headers=alice).status_code == 404
    (event,) = wait_for_webhook(running_stack, form["id"])
    assert f"verified asset.failed for asset {form['id']} of alice: {NOT_A_VIDEO}" in event
    assert http.delete(f"{stack['token_url']}/videos/{form['id']}", headers=auth).status_code == 204


@pytest.mark.parametrize("spelling", ["/incoming/alice/{name}", "/%69ncoming/alice/{name}", "/incoming%2Falice%2F{name}",
                                      "/assets/alice/{name}"])
def test_incoming_and_status_objects_are_never_served_with_any_token(http, stack, internal, unscoped_token, spelling):
    """Objects kept under incoming/ and assets/ (names the processor ignores, so they stay), asked
    for with the member's token and with a token that opens every path."""
    key = internal["access_keys"]["token_service"]
    s3 = boto3.client("s3", endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                      aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])
    s3.put_object(Bucket=stack["bucket"], Key="incoming/alice/kept.bin", Body=b"waiting", ContentType="video/mp4")
    everything = {"Authorization": f"Bearer {unscoped_token}"}
    assert http.get(stack["cdn_url"] + "/videos/alice/profile.webm", headers=everything).status_code == 200
    for token in (everything, {"Authorization": f"Bearer {viewing_token(http, stack, 'alice')}"}, {}):
        answer = http.get(stack["cdn_url"] + spelling.format(name="kept.bin"), headers=token)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error_description"] == "this path is never served"
