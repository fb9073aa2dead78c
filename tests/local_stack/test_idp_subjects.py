"""Real identity providers' subjects, end to end: a member whose `sub` has Auth0's, Google's (through
Auth0), Okta's, Entra ID's or Cognito's shape uploads a video; it is published under exactly
videos/<sub>/ in the bucket, its media URL (where `|` arrives percent-encoded) plays through the CDN
stand-in with the member's own token, and no other member's token opens it."""
import json
import subprocess
import sys
from urllib.parse import urlsplit

import boto3
import pytest

from local_stack.launcher import REPO, RunningStack
from tests.local_stack.conftest import viewing_token
from tests.local_stack.test_uploads_e2e import settled, upload
from tests.media_processor.clips import make_clip

SUBJECTS = {
    "auth0": "auth0|64f0c2d5e1a2b3c4d5e6f7a8",
    "google via auth0": "google-oauth2|108765432109876543210",
    "okta": "00u1ab2cd3EF4gh5i6j7",
    "entra pairwise sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSa-aFHy782bb_aQ",
    "cognito": "94f8e4b8-3021-70c6-2a5b-1d9c7e8f4a21",
    "email-like": "member+tag@example.com",
}


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory):
    flags = [argument for sub in SUBJECTS.values() for argument in ("--member", sub)]
    stack = RunningStack(tmp_path_factory.mktemp("idp-subjects"), flags)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def stack(running_stack):
    return running_stack.info


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """H.264/AAC MP4: remuxed by the processor, so each upload is ready in a moment."""
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=1.0).read_bytes()


@pytest.fixture(scope="module")
def published(http, stack, clip):
    """{name: (the ready status, its media URL)} for one upload per subject shape."""
    out = {}
    for name, sub in SUBJECTS.items():
        form, auth = upload(http, stack, sub, clip, "video/mp4", f"{name}.mp4")
        status = settled(http, stack, form, auth)
        assert status["status"] == "ready", status
        out[name] = (status, form["media_url"])
    return out


@pytest.mark.parametrize("name", SUBJECTS)
def test_each_subject_shape_round_trips_to_its_own_member_only(http, stack, running_stack, published, name):
    sub = SUBJECTS[name]
    status, media_url = published[name]
    assert status["media_path"] == f"/videos/{sub}/{status['id']}.mp4"
    assert urlsplit(media_url).path == status["media_path"].replace("|", "%7C").replace("+", "%2B").replace(
        "@", "%40")  # as quote() writes it
    own = http.get(media_url, headers={"Authorization": f"Bearer {viewing_token(http, stack, sub)}",
                                       "Range": "bytes=0-99"})
    assert own.status_code == 206, own.text
    for other_name, other in SUBJECTS.items():
        if other != sub:
            refused = http.get(media_url, headers={"Authorization": f"Bearer {viewing_token(http, stack, other)}"})
            assert refused.status_code == 403, (other_name, refused.text)
    refused = http.get(media_url, headers={"Authorization": f"Bearer {viewing_token(http, stack, 'alice')}"})
    assert refused.status_code == 403


def test_the_bucket_holds_each_asset_under_the_raw_subject(running_stack, stack, published):
    admin = json.loads((running_stack.state_dir / "internal.json").read_text())["access_keys"]["admin"]
    s3 = boto3.client("s3", endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                      aws_access_key_id=admin["access_key_id"], aws_secret_access_key=admin["secret_access_key"])
    for name, sub in SUBJECTS.items():
        listed = s3.list_objects_v2(Bucket=stack["bucket"], Prefix=f"videos/{sub}/")["Contents"]
        asset_id = published[name][0]["id"]
        assert sorted(item["Key"] for item in listed) == [f"videos/{sub}/{asset_id}.jpg", f"videos/{sub}/{asset_id}.mp4"]


def test_a_member_option_no_token_could_carry_is_refused(tmp_path):
    for sub in ("a/b", "*", "alice", "x" * 257):
        result = subprocess.run([sys.executable, "-m", "local_stack", "--state-dir", str(tmp_path), "--member", sub],
                                cwd=REPO, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "--member" in result.stderr, (sub, result.stderr)
