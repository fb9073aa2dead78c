"""A real moto server over HTTP as S3 (and SSM), a bucket, and the processor's inputs made once per
session with PyAV (tests/media_processor/clips.py)."""
import dataclasses
import secrets

import boto3
import pytest

from media_processor.settings import Settings
from tests.media_processor.clips import make_clip
from tests.servers import moto_server

BUCKET = "media-processor-tests"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
# The drawn picture for orientation checks: the left half of the coded frame is white.
LEFT_HALF_WHITE = "drawbox=x=0:y=0:w=iw/2:h=ih:color=white:t=fill"

# name -> make_clip arguments (file name extension included in the name)
CLIPS = {
    # An iPhone's: HEVC 10-bit in QuickTime, index at the end (no faststart), rotated, AAC.
    "phone.mov": dict(container="mov", video="libx265", pix_fmt="yuv420p10le", rotation=-90, size=(320, 240),
                      picture=LEFT_HALF_WHITE),
    "compliant.mp4": dict(container="mp4", size=(320, 240), video_options={"profile": "high"}),
    "vp9.webm": dict(container="webm", video="libvpx-vp9", audio="libopus", size=(320, 240),
                     video_options={"deadline": "realtime", "cpu-used": "8"}),
    "audio-only.m4a": dict(container="mp4", video=None),
    # Black for the first second, then the drawn picture: the poster must not be black.
    "fade-in.mp4": dict(container="mp4", size=(320, 240), picture=f"{LEFT_HALF_WHITE},fade=t=in:st=1:d=0.04"),
}


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """clip(name) -> path of that input, made on first use."""
    folder = tmp_path_factory.mktemp("clips")

    def get(name):
        path = folder / name
        if not path.exists():
            make_clip(path, **CLIPS[name])
        return path
    return get


@pytest.fixture(scope="session")
def aws_env():
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def moto_url(aws_env):
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def s3(moto_url):
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto_url)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="session")
def settings(moto_url, tmp_path_factory):
    return Settings(s3_endpoint_url=moto_url, temp_dir=str(tmp_path_factory.mktemp("work")))


def with_settings(settings, **changes):
    return dataclasses.replace(settings, **changes)


def upload(s3, data, sub="u42", content_type="video/mp4", metadata=None) -> str:
    """Puts `data` (bytes) where the browser's form would, and returns the key."""
    key = f"incoming/{sub}/{secrets.token_urlsafe(16)}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType=content_type, Metadata=metadata or {})
    return key


def keys_under(s3, prefix) -> list:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
