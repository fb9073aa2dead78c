"""Small videos made at test time with PyAV (FFmpeg's lavfi sources, encoded by its wheel's
encoders), for the processor's tests and benchmarks: nothing binary is committed."""
import fractions
import math

import av

PATTERN = "testsrc2"  # moving colour bars and a counter: real motion for the encoders


def make_clip(path, *, container="mp4", video="libx264", size=(320, 240), seconds=2.0, fps=30, pix_fmt="yuv420p",
              rotation=0, audio="aac", picture=None, video_options=None, container_options=None):
    """Writes a clip and returns its path. `picture` is a lavfi filter chain drawn on a black
    canvas (e.g. "drawbox=...") instead of the moving test pattern; `rotation` is the display
    matrix's counterclockwise rotation (an iPhone held upright writes -90)."""
    width, height = size
    with av.open(str(path), "w", format=container, options=container_options or {}) as out:
        if video is None:  # audio only
            _write_audio(out, _audio_stream(out, audio), seconds)
            return path
        stream = out.add_stream(video, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = {"x265-params": "log-level=error", **(video_options or {})} if video == "libx265" else (
            video_options or {})
        if rotation:
            stream.set_display_rotation(rotation)
        sound = _audio_stream(out, audio) if audio else None  # every stream is added before the first packet
        source = (f"color=c=black:size={width}x{height}:rate={fps},{picture}" if picture
                  else f"{PATTERN}=size={width}x{height}:rate={fps}")
        for frame in _lavfi(f"{source},format={pix_fmt}", round(seconds * fps)):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound:
            _write_audio(out, sound, seconds)
    return path


def _audio_stream(out, codec):
    stream = out.add_stream(codec, rate=48000)
    stream.codec_context.layout = "stereo"
    return stream


def _write_audio(out, stream, seconds):
    frame_size = stream.codec_context.frame_size or 1024
    resampler = av.AudioResampler(format=stream.codec_context.format, layout="stereo", rate=48000,
                                  frame_size=frame_size)
    for frame in _lavfi("sine=frequency=440:sample_rate=48000:samples_per_frame=1024", None, audio=True,
                        seconds=seconds):
        for chunk in resampler.resample(frame):
            out.mux(stream.encode(chunk))
    for chunk in resampler.resample(None):
        out.mux(stream.encode(chunk))
    out.mux(stream.encode(None))


def _lavfi(description, frames, audio=False, seconds=None):
    """Frames pulled from a lavfi source chain: `frames` of them, or `seconds` of audio."""
    graph = av.filter.Graph()
    chain = [graph.add(*part.split("=", 1)) if "=" in part else graph.add(part) for part in description.split(",")]
    chain.append(graph.add("abuffersink" if audio else "buffersink"))
    graph.link_nodes(*chain).configure()
    count = 0
    while True:
        frame = graph.pull()
        if frames is not None and count >= frames or seconds is not None and frame.time >= seconds:
            return
        frame.time_base = frame.time_base or fractions.Fraction(1, 1)
        yield frame
        count += 1


def make_long(path, source, seconds):
    """Repeats the packets of `source` (a short video-only clip starting with a key frame) until the
    result lasts `seconds`: a long file in well under a second, with no encoding."""
    with av.open(str(source)) as clip:
        video = clip.streams.video[0]
        span = round(clip.duration / av.time_base / video.time_base)
        packets = [(p.pts, p.dts, p.duration, bytes(p), p.is_keyframe) for p in clip.demux(video) if p.dts is not None]
        with av.open(str(path), "w", format="mp4") as out:
            stream = out.add_stream_from_template(video)
            for repeat in range(math.ceil(seconds * video.time_base.denominator / video.time_base.numerator / span)):
                for pts, dts, duration, data, keyframe in packets:
                    packet = av.Packet(data)
                    packet.stream, packet.time_base = stream, video.time_base
                    packet.pts, packet.dts, packet.duration = pts + repeat * span, dts + repeat * span, duration
                    packet.is_keyframe = keyframe
                    out.mux(packet)
    return path
