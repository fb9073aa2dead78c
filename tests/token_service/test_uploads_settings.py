"""Upload settings: defaults, and every fault named with its variable, all of them in one run."""
import pytest

from token_service.settings import Settings, SettingsError


@pytest.fixture
def env(base_settings):
    return {f"TOKEN_SERVICE_{name.upper()}": str(value) for name, value in base_settings.items()}


def test_defaults(env):
    settings = Settings.from_env({**env, "TOKEN_SERVICE_UPLOAD_BUCKET": "media"})
    assert settings.upload_bucket_region == "us-east-1"
    assert settings.upload_prefix == "/videos/{sub}/"
    assert settings.upload_content_types == ("video/mp4", "video/webm", "video/quicktime")
    assert settings.upload_max_bytes == 209715200
    assert settings.upload_expires_seconds == 300
    assert settings.media_base_url is None and settings.s3_endpoint_url is None
    assert settings.upload_incoming_prefix == "/incoming/{sub}/" and settings.asset_status_prefix == "/assets/{sub}/"
    assert settings.s3_timeout_seconds == 3.0
    assert Settings.from_env(env).upload_bucket is None  # uploads off


@pytest.mark.parametrize("name, raw, fault", [
    ("UPLOAD_PREFIX", "/videos/", "must contain {sub} (each caller uploads under its own prefix), got '/videos/'"),
    ("UPLOAD_PREFIX", "/videos/{sub}", "must be a folder ending in '/' without '*', got '/videos/{sub}'"),
    ("UPLOAD_PREFIX", "/videos/*/{sub}/", "must be a folder ending in '/' without '*'"),
    ("UPLOAD_PREFIX", "videos/{sub}/", "scope 'videos/sub/' must start with '/'"),
    ("UPLOAD_PREFIX", "/videos/../{sub}/", "has an empty or dot segment"),
    ("UPLOAD_PREFIX", "/videos//{sub}/", "has an empty or dot segment"),
    ("UPLOAD_PREFIX", "/videos/{sub}/\x01/", "contains a control character or a backslash"),
    ("UPLOAD_CONTENT_TYPES", "video/mp4,text/html",
     "'text/html' is not a type the media processor reads (known: video/mp4, video/webm, video/quicktime)"),
    ("UPLOAD_CONTENT_TYPES", "video/x-matroska", "'video/x-matroska' is not a type the media processor reads"),
    ("UPLOAD_CONTENT_TYPES", "mp4", "'mp4' is not a lower-case media type like video/mp4"),
    ("UPLOAD_CONTENT_TYPES", "Video/MP4", "'Video/MP4' is not a lower-case media type"),
    ("UPLOAD_CONTENT_TYPES", ",", "name at least one media type"),
    ("UPLOAD_MAX_BYTES", "0", "must be 1..5368709120 (S3's limit for one POST), got 0"),
    ("UPLOAD_MAX_BYTES", "-1", "must be 1..5368709120"),
    ("UPLOAD_MAX_BYTES", "6000000000", "must be 1..5368709120"),
    ("UPLOAD_MAX_BYTES", "200MB", "not an integer: '200MB'"),
    ("UPLOAD_EXPIRES_SECONDS", "59", "must be 60..3600, got 59"),
    ("UPLOAD_EXPIRES_SECONDS", "3601", "must be 60..3600, got 3601"),
    ("UPLOAD_BUCKET", "Media_Uploads", "not an S3 bucket name: 'Media_Uploads'"),
    ("UPLOAD_BUCKET", "ab", "not an S3 bucket name"),
    ("UPLOAD_BUCKET", "media..uploads", "not an S3 bucket name"),
    ("UPLOAD_BUCKET_REGION", "moon", "not an AWS region like eu-west-1: 'moon'"),
    ("MEDIA_BASE_URL", "media.example.com", "not an http(s) URL like https://media.example.com"),
    ("MEDIA_BASE_URL", "https://media.example.com/?a=1", "not an http(s) URL"),
    # The media URL is the base plus the object path: a path or user here could never name the object.
    ("MEDIA_BASE_URL", "https://media.example.com/videos", "(an origin: no path, user or query)"),
    ("MEDIA_BASE_URL", "https://user@media.example.com", "(an origin: no path, user or query)"),
    ("MEDIA_BASE_URL", "https://media.example.com?", "(an origin: no path, user or query)"),
    # S3 refuses bucket names formatted as an IP address.
    ("UPLOAD_BUCKET", "192.168.5.4", "not an S3 bucket name: '192.168.5.4'"),
    ("S3_ENDPOINT_URL", "localhost:5000", "not an http(s) URL: 'localhost:5000'"),
])
def test_bad_upload_settings_name_the_variable(env, name, raw, fault):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**env, "TOKEN_SERVICE_UPLOAD_BUCKET": "media", f"TOKEN_SERVICE_{name}": raw})
    (line,) = raised.value.faults
    assert line.startswith(f"TOKEN_SERVICE_{name}: ") and fault in line


def test_every_upload_fault_is_reported_in_one_run(env):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**env, "TOKEN_SERVICE_UPLOAD_BUCKET": "Bad_Bucket",
                           "TOKEN_SERVICE_UPLOAD_PREFIX": "/videos/",
                           "TOKEN_SERVICE_UPLOAD_CONTENT_TYPES": "text/html",
                           "TOKEN_SERVICE_UPLOAD_MAX_BYTES": "0",
                           "TOKEN_SERVICE_UPLOAD_EXPIRES_SECONDS": "1"})
    assert [line.split(":")[0] for line in raised.value.faults] == [
        "TOKEN_SERVICE_UPLOAD_BUCKET", "TOKEN_SERVICE_UPLOAD_PREFIX", "TOKEN_SERVICE_UPLOAD_CONTENT_TYPES",
        "TOKEN_SERVICE_UPLOAD_MAX_BYTES", "TOKEN_SERVICE_UPLOAD_EXPIRES_SECONDS"]


@pytest.mark.parametrize("name, raw", [
    ("UPLOAD_PREFIX", "/media/members/{sub}/uploads/"),
    ("UPLOAD_PREFIX", "/u/user-{sub}/"),
    ("UPLOAD_CONTENT_TYPES", "video/webm"),
    ("UPLOAD_BUCKET", "media.example.com"),
    ("UPLOAD_BUCKET_REGION", "ap-southeast-2"),
    ("UPLOAD_BUCKET_REGION", "us-gov-west-1"),
    ("MEDIA_BASE_URL", "https://d111111abcdef8.cloudfront.net/"),
    ("S3_ENDPOINT_URL", "http://127.0.0.1:5000"),
])
def test_good_upload_settings_are_accepted(env, name, raw):
    settings = Settings.from_env({**env, "TOKEN_SERVICE_UPLOAD_BUCKET": "media", f"TOKEN_SERVICE_{name}": raw})
    assert getattr(settings, name.lower()) in (raw, (raw,))


@pytest.mark.parametrize("changes, fault", [
    ({"DEFAULT_PATHS": "/videos/{sub}/,/"},
     "TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX: '/incoming/{sub}/' overlaps TOKEN_SERVICE_DEFAULT_PATHS entry '/'"),
    ({"DEFAULT_PATHS": "/incoming/"}, "TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX: '/incoming/{sub}/' overlaps"),
    ({"DEFAULT_PATHS": "/*/{sub}/"}, "TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX: '/incoming/{sub}/' overlaps"),
    ({"DEFAULT_PATHS": "/{sub}/"}, "TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX"),  # a member whose sub is "incoming"
    ({"DEFAULT_PATHS": "/inc*/"}, "TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX"),
    ({"DEFAULT_PATHS": "/incoming/alice/clip"}, "TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX"),  # one exact path is enough
    ({"DEFAULT_PATHS": "/assets/{sub}/*.json"}, "TOKEN_SERVICE_ASSET_STATUS_PREFIX: '/assets/{sub}/' overlaps"),
    ({"UPLOAD_INCOMING_PREFIX": "/videos/{sub}/incoming/"},
     "TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX: '/videos/{sub}/incoming/' overlaps TOKEN_SERVICE_UPLOAD_PREFIX entry"),
    ({"UPLOAD_PREFIX": "/media/{sub}/", "ASSET_STATUS_PREFIX": "/media/{sub}/status/"},
     "TOKEN_SERVICE_ASSET_STATUS_PREFIX: '/media/{sub}/status/' overlaps TOKEN_SERVICE_UPLOAD_PREFIX"),
    ({"ASSET_STATUS_PREFIX": "/incoming/{sub}/status/"},
     "TOKEN_SERVICE_ASSET_STATUS_PREFIX: '/incoming/{sub}/status/' overlaps TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX"),
    ({"UPLOAD_INCOMING_PREFIX": "/incoming/"}, "TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX: must contain {sub}"),
    ({"ASSET_STATUS_PREFIX": "/assets/{sub}"}, "TOKEN_SERVICE_ASSET_STATUS_PREFIX: must be a folder ending in '/'"),
    ({"S3_TIMEOUT_SECONDS": "0"}, "TOKEN_SERVICE_S3_TIMEOUT_SECONDS: must be > 0 and <= 30"),
])
def test_incoming_and_status_prefixes_must_never_be_served(env, changes, fault):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**env, "TOKEN_SERVICE_UPLOAD_BUCKET": "media",
                           **{f"TOKEN_SERVICE_{name}": value for name, value in changes.items()}})
    assert any(line.startswith(fault) for line in raised.value.faults), raised.value.faults


@pytest.mark.parametrize("changes", [
    {"DEFAULT_PATHS": "/videos/{sub}/,/public/,/incomings/"},
    {"DEFAULT_PATHS": ""},  # every path: the edge's refused prefixes keep incoming/ and assets/ unreachable
    {"DEFAULT_PATHS": "/videos/*/", "UPLOAD_INCOMING_PREFIX": "/uploads/in/{sub}/", "ASSET_STATUS_PREFIX": "/meta/{sub}/"},
    {"DEFAULT_PATHS": "/incoming/", "UPLOAD_BUCKET": ""},  # uploads off: no incoming prefix to protect
])
def test_prefixes_apart_from_every_viewing_scope_are_accepted(env, changes):
    Settings.from_env({**env, "TOKEN_SERVICE_UPLOAD_BUCKET": "media",
                       **{f"TOKEN_SERVICE_{name}": value for name, value in changes.items()}})
