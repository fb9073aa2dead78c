"""`--persist`: objects put in the bucket come back after a restart (under the state dir); a stop
with moto gone keeps the last snapshot as it was."""
import json
import os
import signal

import boto3
import httpx

from local_stack.launcher import RunningStack
from tests.local_stack.conftest import viewing_token

KEPT = "videos/alice/kept.mp4"
LATER = "videos/alice/later.mp4"


def admin_s3(stack):
    key = json.loads((stack.state_dir / "internal.json").read_text())["access_keys"]["admin"]
    return boto3.client("s3", endpoint_url=stack.info["s3_endpoint"], region_name="us-east-1",
                        aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])


def test_objects_come_back_after_a_restart_and_a_stop_without_moto_keeps_the_last_save(tmp_path):
    state = tmp_path / "state"
    data = os.urandom(300_000)
    stack = RunningStack(state, ["--persist"])
    try:
        admin_s3(stack).put_object(Bucket=stack.info["bucket"], Key=KEPT, Body=data, ContentType="video/mp4",
                                   Metadata={"filename": "holiday%20%C3%A9.mp4"})
    finally:
        assert stack.stop() == 0
    assert "bucket saved: 1 objects" in stack.output()  # the seeded demo files are not copied
    saved = json.loads((state / "bucket" / "index.json").read_text())
    assert list(saved) == [KEPT]

    again = RunningStack(state, ["--persist"])
    try:
        assert "1 put back from" in again.output()
        with httpx.Client(timeout=10) as http:
            token = viewing_token(http, again.info, "alice")
            watched = http.get(again.info["cdn_url"] + "/" + KEPT, headers={"Authorization": f"Bearer {token}"})
        assert watched.status_code == 200 and watched.content == data
        assert watched.headers["content-type"] == "video/mp4"
        head = admin_s3(again).head_object(Bucket=again.info["bucket"], Key=KEPT)
        assert head["Metadata"] == {"filename": "holiday%20%C3%A9.mp4"}
        admin_s3(again).put_object(Bucket=again.info["bucket"], Key=LATER, Body=b"later")
        os.kill(again.pids["moto"], signal.SIGKILL)
    finally:
        assert again.stop() == 0
    assert "bucket not saved" in again.output() and "keeps the last snapshot" in again.output()
    assert json.loads((state / "bucket" / "index.json").read_text()) == saved
    assert len(list((state / "bucket" / "objects").iterdir())) == 1

