"""`python -m media_processor --event-file F`, as the local stack runs it: a child process with
RLIMIT_AS and RLIMIT_CPU, fed an S3-shaped event."""
import json
import os
import subprocess
import sys
from urllib.parse import quote_plus

from tests.media_processor.clips import make_clip, make_long
from tests.media_processor.conftest import BUCKET, CREDENTIALS, keys_under, upload

# 1080p transcodes peak at about 580 MB of address space (bench media: VmPeak); this clip is small.
MEMORY_LIMIT_MB = 1024


def run_cli(moto_url, tmp_path, key, *limits, extra_env=None):
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Post",
                          "s3": {"bucket": {"name": BUCKET}, "object": {"key": quote_plus(key), "size": 1}}}]}
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event))
    env = {"PATH": os.environ["PATH"], **CREDENTIALS, "MEDIA_PROCESSOR_S3_ENDPOINT_URL": moto_url,
           "MEDIA_PROCESSOR_TEMP_DIR": str(tmp_path), **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "media_processor", "--event-file", str(event_file), *limits],
                          env=env, capture_output=True, text=True, timeout=120, cwd=os.getcwd())


def status_of(s3, key):
    sub, asset_id = key.split("/")[1:]
    return json.loads(s3.get_object(Bucket=BUCKET, Key=f"assets/{sub}/{asset_id}.json")["Body"].read())


def test_phone_clip_under_memory_and_cpu_limits(s3, moto_url, clip, tmp_path):
    key = upload(s3, clip("phone.mov").read_bytes(), sub="ali ce+1")  # encoded in the event as S3 does
    result = run_cli(moto_url, tmp_path, key, "--memory-limit-mb", str(MEMORY_LIMIT_MB), "--cpu-limit-seconds", "60")
    assert result.returncode == 0, result.stderr
    record = status_of(s3, key)
    assert record["status"] == "ready" and record["processing"] == "transcode", record
    assert record["media_path"].startswith("/videos/ali ce+1/")
    assert keys_under(s3, key) == []
    assert list(tmp_path.iterdir()) == [tmp_path / "event.json"]  # the temporary folder is gone


def test_cpu_time_limit_fails_the_asset_cleanly(s3, moto_url, tmp_path):
    seed = make_clip(tmp_path / "seed.mp4", video="libx265", size=(640, 360), seconds=2, audio=None,
                     video_options={"preset": "ultrafast"})
    long = make_long(tmp_path / "long.mp4", seed, 300)  # about 30 CPU seconds to transcode
    key = upload(s3, long.read_bytes())
    for path in (seed, long):
        path.unlink()
    result = run_cli(moto_url, tmp_path, key, "--cpu-limit-seconds", "3")
    assert result.returncode == 0, result.stderr
    record = status_of(s3, key)
    assert (record["status"], record["reason"]) == ("failed", "took too long to process")
    asset_id = key.rsplit("/", 1)[1]
    assert keys_under(s3, f"videos/u42/{asset_id}") == [] and keys_under(s3, key) == []


def test_bad_settings_are_listed_at_once(moto_url, tmp_path):
    result = run_cli(moto_url, tmp_path, "incoming/u42/x", extra_env={
        "MEDIA_PROCESSOR_MAX_FRAME_RATE": "fast", "MEDIA_PROCESSOR_WEBHOOK_URL": "ftp://hooks.example.com/",
        "MEDIA_PROCESSOR_PUBLISHED_PREFIX": "/videos/"})
    assert result.returncode == 1
    assert "MEDIA_PROCESSOR_MAX_FRAME_RATE: not a number: 'fast'" in result.stderr
    assert "MEDIA_PROCESSOR_WEBHOOK_URL: not an http(s) URL" in result.stderr
    assert "MEDIA_PROCESSOR_PUBLISHED_PREFIX: must contain {sub} once" in result.stderr
    assert "MEDIA_PROCESSOR_WEBHOOK_SECRET_SSM_PARAMETER: required when" in result.stderr
    assert "Traceback" not in result.stderr
