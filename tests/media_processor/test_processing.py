"""The processor against a real moto server: inputs as phones, cameras and browsers record them
become upright H.264/AAC MP4s with the index first and a poster; the status record says so; the
incoming object is gone."""
import json

import pytest

from media_processor import handler, publish
from media_processor.probe import Probe
from tests.media_processor.clips import make_clip
from tests.media_processor.conftest import BUCKET, LEFT_HALF_WHITE, keys_under, upload, with_settings
from tests.media_processor.media import bright_side, describe, packets, top_level_boxes


def run(s3, settings, data, **upload_args):
    key = upload(s3, data, **upload_args)
    return key, handler.process(settings, s3, BUCKET, key)


def fetch(s3, key, path):
    path.write_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    return path


def published(s3, record, tmp_path):
    return fetch(s3, record["media_path"][1:], tmp_path / "out.mp4"), fetch(s3, record["poster_path"][1:],
                                                                              tmp_path / "poster.jpg")


def test_phone_clip_becomes_upright_h264_with_index_first_and_a_poster(s3, settings, clip, tmp_path):
    source = clip("phone.mov")
    assert top_level_boxes(source.read_bytes())[-1] == "moov"  # as recorded: index at the end
    assert describe(source)["video"] == "hevc" and describe(source)["pix_fmt"] == "yuv420p10le"
    key, record = run(s3, settings, source.read_bytes(), sub="alice", content_type="video/quicktime",
                      metadata={"filename": "IMG_0042%20%C3%A9t%C3%A9.MOV"})
    asset_id = key.rsplit("/", 1)[1]
    assert record["status"] == "ready", record
    assert record["processing"] == "transcode"
    assert (record["width"], record["height"]) == (240, 320)
    assert record["media_path"] == f"/videos/alice/{asset_id}.mp4"
    assert record["poster_path"] == f"/videos/alice/{asset_id}.jpg"
    assert record["filename"] == "IMG_0042 été.MOV"
    assert record["duration"] == pytest.approx(2.0, abs=0.1)
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=f"assets/alice/{asset_id}.json")["Body"].read())
    assert stored == record
    assert keys_under(s3, key) == []
    video, poster = published(s3, record, tmp_path)
    boxes = top_level_boxes(video.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    info = describe(video)
    assert info | {"duration": None} == {"format": "mov,mp4,m4a,3gp,3g2,mj2", "video": "h264", "profile": "High", "pix_fmt": "yuv420p",
                                         "width": 240, "height": 320, "rotation": 0, "audio": "aac",
                                         "duration": None}
    # The iPhone's -90 (turn clockwise to show): the coded picture's left half ends up on top.
    assert bright_side(video) == "top"
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"
    assert describe(poster)["width"] == 240 and describe(poster)["height"] == 320
    assert bright_side(poster) == "top"
    heads = {k: s3.head_object(Bucket=BUCKET, Key=k)["ContentType"] for k in (record["media_path"][1:],
                                                                               record["poster_path"][1:])}
    assert sorted(heads.values()) == ["image/jpeg", "video/mp4"]


@pytest.mark.parametrize("rotation, side", [(90, "bottom"), (180, "right"), (-90, "top")])
def test_rotation_is_applied_to_the_pixels(s3, settings, tmp_path, rotation, side):
    """The display matrix turns the coded picture counterclockwise by `rotation` degrees."""
    source = make_clip(tmp_path / "in.mp4", size=(160, 96), seconds=0.5, rotation=rotation, picture=LEFT_HALF_WHITE)
    _, record = run(s3, settings, source.read_bytes())
    assert record["status"] == "ready" and record["processing"] == "transcode"
    video = fetch(s3, record["media_path"][1:], tmp_path / "out.mp4")
    assert describe(video)["rotation"] == 0
    assert bright_side(video) == side


def test_compliant_mp4_is_remuxed_with_packets_unchanged(s3, settings, clip, tmp_path):
    source = clip("compliant.mp4")
    _, record = run(s3, settings, source.read_bytes())
    assert record["status"] == "ready" and record["processing"] == "remux"
    video, poster = published(s3, record, tmp_path)
    assert packets(video, "video") == packets(source, "video")
    assert packets(video, "audio") == packets(source, "audio")
    assert len(packets(source, "video")) == 60
    boxes = top_level_boxes(video.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat")
    assert describe(poster)["width"] == 320


def test_vp9_webm_is_transcoded(s3, settings, clip, tmp_path):
    _, record = run(s3, settings, clip("vp9.webm").read_bytes(), content_type="video/webm")
    assert record["status"] == "ready" and record["processing"] == "transcode"
    video = fetch(s3, record["media_path"][1:], tmp_path / "out.mp4")
    info = describe(video)
    assert (info["video"], info["profile"], info["pix_fmt"], info["audio"]) == ("h264", "High", "yuv420p", "aac")
    assert (record["width"], record["height"]) == (320, 240)


def test_poster_skips_black_frames(s3, settings, clip, tmp_path):
    _, record = run(s3, settings, clip("fade-in.mp4").read_bytes())
    assert record["status"] == "ready"
    poster = fetch(s3, record["poster_path"][1:], tmp_path / "poster.jpg")
    assert bright_side(poster) == "left"  # the first second is black: a later frame was taken


def test_output_is_capped_on_the_shorter_side(s3, settings, clip, tmp_path):
    small = with_settings(settings, max_output_short_side=144)
    _, record = run(s3, small, clip("compliant.mp4").read_bytes())
    assert record["processing"] == "transcode"  # compliant, but over the cap: scaled
    assert (record["width"], record["height"]) == (192, 144)
    assert describe(fetch(s3, record["media_path"][1:], tmp_path / "out.mp4"))["height"] == 144


def probe_of(width, height, rotation=0, **fields):
    base = dict(format="mov", duration=1.0, width=width, height=height, rotation=rotation, frame_rate=30.0,
                video_codec="h264", pix_fmt="yuv420p", profile="High", audio_codec="aac")
    return Probe(**base | fields)


@pytest.mark.parametrize("width, height, rotation, expected", [
    (3840, 2160, 0, (1920, 1080)), (2160, 3840, 0, (1080, 1920)), (3840, 2160, 270, (1080, 1920)),
    (1920, 1080, 90, (1080, 1920)), (1279, 721, 0, (1278, 720)), (640, 360, 0, (640, 360))])
def test_output_size(settings, width, height, rotation, expected):
    assert publish.output_size(probe_of(width, height, rotation), settings) == expected


@pytest.mark.parametrize("fields", [dict(video_codec="hevc"), dict(pix_fmt="yuv420p10le"), dict(profile="High 10"),
                                    dict(profile="High 4:4:4 Predictive"), dict(audio_codec="opus"),
                                    dict(rotation=90), dict(width=1919), dict(height=1440, width=1920)])
def test_anything_browsers_may_not_play_is_transcoded(settings, fields):
    assert publish.method(probe_of(1280, 720), settings) == publish.REMUX
    assert publish.method(probe_of(**{"width": 1280, "height": 720} | fields), settings) == publish.TRANSCODE


def test_a_key_outside_the_incoming_prefix_is_ignored(s3, settings):
    s3.put_object(Bucket=BUCKET, Key="videos/u42/elsewhere.mp4", Body=b"x")
    assert handler.process(settings, s3, BUCKET, "videos/u42/elsewhere.mp4") is None
    assert keys_under(s3, "assets/u42/elsewhere") == []
    assert s3.get_object(Bucket=BUCKET, Key="videos/u42/elsewhere.mp4")["Body"].read() == b"x"


def test_an_already_processed_object_is_left_alone(s3, settings):
    assert handler.process(settings, s3, BUCKET, "incoming/u42/AAAAAAAAAAAAAAAAAAAAAA") is None
    assert keys_under(s3, "assets/u42/AAAAAAAAAAAAAAAAAAAAAA") == []
