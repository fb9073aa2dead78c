"""Files that are not a video we publish fail with a reason a member can read, and nothing is
published: the incoming object is deleted, no video or poster exists, the status says why."""
import dataclasses
import json
import socket
import time

import av
import pytest

from media_processor import handler, probe, publish
from tests.media_processor.clips import make_clip, make_long
from tests.media_processor.conftest import BUCKET, keys_under, upload, with_settings
from tests.servers import free_port


def refused(s3, settings, data, **upload_args) -> str:
    """Processes `data`; asserts the failure left nothing behind but its status; returns the reason."""
    key = upload(s3, data, **upload_args)
    sub, asset_id = key.split("/")[1:]
    record = handler.process(settings, s3, BUCKET, key)
    assert record["status"] == "failed"
    assert record["processing"] is None and record["duration"] is None and record["width"] is None
    assert keys_under(s3, key) == []
    assert keys_under(s3, f"videos/{sub}/{asset_id}") == []
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=f"assets/{sub}/{asset_id}.json")["Body"].read())
    assert stored == record
    return record["reason"]


def test_audio_only(s3, settings, clip):
    assert refused(s3, settings, clip("audio-only.m4a").read_bytes()) == "no video stream"


def test_text_typed_as_video(s3, settings):
    assert refused(s3, settings, b"Hello, this is not a video.\n" * 100) == "not a video file"


def test_zero_bytes(s3, settings):
    assert refused(s3, settings, b"") == "the file is empty"


@pytest.mark.parametrize("name", ["compliant.mp4", "phone.mov", "vp9.webm"])
def test_truncated(s3, settings, clip, name):
    data = clip(name).read_bytes()
    assert refused(s3, settings, data[:len(data) // 2]) == "the file is truncated"


def test_damaged_payload(s3, settings, clip):
    """Index intact, media garbage: found while decoding, still a reason and nothing published."""
    data = bytearray(clip("phone.mov").read_bytes())
    start = data.find(b"mdat") + 4
    data[start:start + 6000] = bytes(range(256)) * 23 + bytes(112)
    assert refused(s3, settings, bytes(data)) in ("not a video file", "the video is damaged and could not be decoded")


@pytest.fixture
def listener():
    """A socket on a loopback port that records whether anyone connected to it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", free_port()))
        server.listen(8)
        server.setblocking(False)
        yield server


def connected(server) -> bool:
    try:
        server.accept()[0].close()
        return True
    except BlockingIOError:
        return False


def hls_playlist(port) -> bytes:
    return (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:10.0,\nhttp://127.0.0.1:{port}/segment0.ts\n#EXTINF:10.0,\nfile:///etc/passwd\n"
            f"#EXT-X-ENDLIST\n").encode()


def test_hls_playlist_never_opens_a_url_or_a_file(s3, settings, listener):
    port = listener.getsockname()[1]
    assert refused(s3, settings, hls_playlist(port)) == "not a video file"
    assert not connected(listener)


def test_hls_playlist_is_not_parsed_even_past_the_sniffing(tmp_path, listener):
    """The demuxer choice holds on its own: FFmpeg told to read the playlist as MP4 fails without
    following it."""
    port = listener.getsockname()[1]
    playlist = tmp_path / "clip.m3u8"
    playlist.write_bytes(hls_playlist(port))
    with pytest.raises(av.FFmpegError):
        probe.open_input(playlist, probe.MOV)
    with pytest.raises(av.FFmpegError):
        probe.open_input(playlist, probe.MATROSKA)
    assert not connected(listener)


def test_over_the_duration_limit_is_refused_from_the_probe(s3, settings, tmp_path):
    one_second = make_clip(tmp_path / "one.mp4", size=(64, 64), seconds=1, fps=10, audio=None, video_options={"g": "10"})
    long = make_long(tmp_path / "long.mp4", one_second, 11 * 60)
    started = time.perf_counter()
    with pytest.raises(probe.Refused, match="^longer than 10 minutes$"):
        probe.probe(long, settings)
    probing = time.perf_counter() - started
    started = time.perf_counter()
    with av.open(str(long)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    decoding = time.perf_counter() - started
    assert frames == 6600
    # A ratio within one run, not a time bound: the probe read the header, it did not decode.
    assert probing < decoding / 10, (probing, decoding)
    assert refused(s3, settings, long.read_bytes()) == "longer than 10 minutes"


def test_lower_duration_limit_in_the_reason(s3, settings, clip):
    assert refused(s3, with_settings(settings, max_duration_seconds=1.5),
                   clip("compliant.mp4").read_bytes()) == "longer than 1.5 seconds"


def test_over_the_size_limit(s3, settings, tmp_path):
    wide = make_clip(tmp_path / "wide.mp4", size=(3842, 64), seconds=0.1, audio=None)
    assert refused(s3, settings, wide.read_bytes()) == "larger than 3840×2160"


def test_portrait_4k_is_within_the_size_limit(settings, tmp_path):
    tall = make_clip(tmp_path / "tall.mp4", size=(64, 3840), seconds=0.1, audio=None)
    assert probe.probe(tall, settings).height == 3840


def test_over_the_frame_rate_limit(s3, settings, tmp_path):
    fast = make_clip(tmp_path / "fast.mp4", size=(64, 64), seconds=0.5, fps=120, audio=None)
    assert refused(s3, settings, fast.read_bytes()) == "frame rate above 60 fps"


def test_video_codec_outside_the_allowlist(s3, settings, tmp_path):
    old = make_clip(tmp_path / "old.mkv", container="matroska", video="mpeg2video", size=(64, 64), seconds=0.2,
                    audio=None)
    assert refused(s3, settings, old.read_bytes()) == "video codec mpeg2video is not supported"


def test_over_the_byte_limit_is_not_downloaded(s3, settings, clip):
    assert refused(s3, with_settings(settings, max_input_bytes=1000),
                   clip("compliant.mp4").read_bytes()) == "larger than 1000 bytes"


@pytest.mark.parametrize("method", ["remux", "transcode"])
def test_duration_limit_also_holds_while_streaming(settings, clip, tmp_path, method):
    """A header that says less than the file holds (or nothing, as a live WebM) is caught at the
    first packet past the limit."""
    source = clip("compliant.mp4")
    found = dataclasses.replace(probe.probe(source, settings), duration=None)
    strict = with_settings(settings, max_duration_seconds=1)
    with pytest.raises(probe.Refused, match="^longer than 1 second$"):
        getattr(publish, method)(source, tmp_path / "out.mp4", found, strict)
