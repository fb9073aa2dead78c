"""Probe: what an uploaded file is, refused early (before any full decode) when it is not a video
we publish. docs/uploads.md, "The FFmpeg attack surface", says why each guard is here.

The container format is chosen here from the file's first bytes, never by FFmpeg's guessing: only
MP4/MOV and Matroska/WebM are ever opened, so a playlist (HLS, concat, ...) that names URLs or other
files is never parsed. FFmpeg may open only the local file (`protocol_whitelist`), nested opens are
limited to the same two demuxers (`format_whitelist`), and the MOV demuxer's external data references
stay off (`enable_drefs`).
"""
import dataclasses
import os

import av

# The demuxers' names in FFmpeg (each demuxer answers to the names listed in FORMAT_NAMES).
MOV = "mov"
MATROSKA = "matroska"
FORMAT_NAMES = {MOV: "mov,mp4,m4a,3gp,3g2,mj2", MATROSKA: "matroska,webm"}
# Top-level boxes an MP4/MOV file may start with (QuickTime files without ftyp start with the others).
MOV_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
MAX_MOV_BOXES = 100_000  # fragmented MP4 has two per fragment; a real file has far fewer
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
EBML_SEGMENT = b"\x18\x53\x80\x67"
# Decoders we let near hostile bytes: what phones, cameras and browsers record.
VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"}
AUDIO_CODECS = {"aac", "mp3", "opus", "vorbis", "flac", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s16be",
                "pcm_s24le", "pcm_s24be", "pcm_f32le", "pcm_f32be"}
# A decoder with frame threads returns its first picture a few packets late; none after this many: refused.
FIRST_FRAME_PACKETS = 300
# Variable-frame-rate phone clips average a hair above their nominal rate (60.02 fps).
FRAME_RATE_TOLERANCE = 1.01


class Refused(Exception):
    """The file is not published; `reason` is what the member reads."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


NOT_A_VIDEO = "not a video file"
TRUNCATED = "the file is truncated"


@dataclasses.dataclass(frozen=True)
class Probe:
    format: str              # MOV or MATROSKA
    duration: float | None   # seconds, from the header (None: unknown, enforced while streaming)
    width: int               # coded size, before rotation
    height: int
    rotation: int            # 0, 90, 180 or 270: degrees to turn the coded picture counterclockwise
    frame_rate: float | None
    video_codec: str
    pix_fmt: str | None
    profile: str | None
    audio_codec: str | None  # None: no audio stream


def open_input(path, container_format: str):
    """The file opened for reading with the allowlisted demuxer and only the file protocol."""
    options = {"protocol_whitelist": "file", "format_whitelist": ",".join(FORMAT_NAMES.values())}
    if container_format == MOV:
        options.update(enable_drefs="0", use_absolute_path="0")
    return av.open(str(path), format=container_format, options=options)


def video_stream(container):
    """The first video stream that is a picture track, not cover art; None if there is none."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def audio_stream(container):
    return container.streams.audio[0] if container.streams.audio else None


def probe(path, settings) -> Probe:
    """What the file is, or Refused with a reason a member can read."""
    container_format = sniff(path, settings)
    try:
        with open_input(path, container_format) as container:
            return _probe_open(container, container_format, settings)
    except av.FFmpegError:
        raise Refused(NOT_A_VIDEO) from None


def sniff(path, settings) -> str:
    """MOV or MATROSKA from the file's own bytes; Refused for anything else, or a cut-off file."""
    size = os.path.getsize(path)
    if size == 0:
        raise Refused("the file is empty")
    check_byte_size(size, settings)
    with open(path, "rb") as f:
        head = f.read(8)
        if head[:4] == EBML_MAGIC:
            _check_ebml_segment(f, size)
            return MATROSKA
        if len(head) == 8 and head[4:8] in MOV_FIRST_BOXES:
            _check_mov_boxes(f, size)
            return MOV
    raise Refused(NOT_A_VIDEO)


def _check_mov_boxes(f, size):
    """Walks the top-level boxes: a box running past the end of the file means it was cut off."""
    offset = 0
    for _ in range(MAX_MOV_BOXES):
        if offset == size:
            return
        f.seek(offset)
        header = f.read(16)
        if len(header) < 8:
            raise Refused(TRUNCATED)
        box_size = int.from_bytes(header[:4], "big")
        if box_size == 0:  # the last box runs to the end of the file
            return
        if box_size == 1:
            if len(header) < 16:
                raise Refused(TRUNCATED)
            box_size = int.from_bytes(header[8:16], "big")
        if box_size < 8:
            raise Refused(NOT_A_VIDEO)
        offset += box_size
        if offset > size:
            raise Refused(TRUNCATED)
    raise Refused(NOT_A_VIDEO)


def _check_ebml_segment(f, size):
    """Skips the EBML header; a Segment of known size running past the end of the file was cut off."""
    f.seek(4)
    header_size, _ = _vint(f)
    if header_size is None:
        raise Refused(NOT_A_VIDEO)
    f.seek(header_size, os.SEEK_CUR)
    if f.read(4) != EBML_SEGMENT:
        raise Refused(TRUNCATED if f.tell() >= size else NOT_A_VIDEO)
    segment_size, unknown = _vint(f)
    if segment_size is None:
        raise Refused(TRUNCATED)
    if not unknown and f.tell() + segment_size > size:  # live recordings (MediaRecorder) leave it unknown
        raise Refused(TRUNCATED)


def _vint(f):
    """An EBML variable-size integer: (value, all-ones "unknown size"), or (None, False) if malformed."""
    first = f.read(1)
    if not first or first[0] == 0:
        return None, False
    length = 9 - first[0].bit_length()
    rest = f.read(length - 1)
    if len(rest) != length - 1:
        return None, False
    value = first[0] & (0xFF >> length)
    for byte in rest:
        value = value << 8 | byte
    return value, value == (1 << 7 * length) - 1


def _probe_open(container, container_format, settings) -> Probe:
    video = video_stream(container)
    if video is None:
        raise Refused("no video stream")
    codec = video.codec_context.name
    if codec not in VIDEO_CODECS:
        raise Refused(f"video codec {codec} is not supported")
    audio = audio_stream(container)
    if audio is not None and audio.codec_context.name not in AUDIO_CODECS:
        raise Refused(f"audio codec {audio.codec_context.name} is not supported")
    duration = _duration(container, video)
    if duration is not None and duration > settings.max_duration_seconds:
        raise Refused(f"longer than {describe_seconds(settings.max_duration_seconds)}")
    width, height = video.codec_context.width, video.codec_context.height
    if not width or not height:
        raise Refused(NOT_A_VIDEO)
    check_size(width, height, settings)
    rate = video.average_rate or video.guessed_rate
    frame_rate = float(rate) if rate else None
    if frame_rate and frame_rate > settings.max_frame_rate * FRAME_RATE_TOLERANCE:
        raise Refused(f"frame rate above {settings.max_frame_rate:g} fps")
    first = _first_frame(container, video)
    return Probe(format=container_format, duration=duration, width=width, height=height,
                 rotation=round((first.rotation or 0) / 90) * 90 % 360, frame_rate=frame_rate, video_codec=codec,
                 pix_fmt=video.codec_context.pix_fmt, profile=video.profile,
                 audio_codec=audio.codec_context.name if audio is not None else None)


def check_size(width, height, settings):
    """Refused when the picture is larger than the input limit in both orientations."""
    if max(width, height) > settings.max_input_long_side or min(width, height) > settings.max_input_short_side:
        raise Refused(f"larger than {settings.max_input_long_side}×{settings.max_input_short_side}")


def check_byte_size(size, settings):
    limit = settings.max_input_bytes
    if size > limit:
        raise Refused(f"larger than {limit // 2**20} MiB" if limit % 2**20 == 0 else f"larger than {limit} bytes")


def describe_seconds(seconds: float) -> str:
    if seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} second{'s' if seconds != 1 else ''}"


def _duration(container, video) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if video.duration is not None and video.time_base:
        return float(video.duration * video.time_base)
    return None


def _first_frame(container, video):
    """The first decodable picture (for its rotation, and to show the stream decodes at all)."""
    for count, packet in enumerate(container.demux(video)):
        for frame in packet.decode():
            return frame
        if count >= FIRST_FRAME_PACKETS:
            break
    raise Refused(NOT_A_VIDEO)
