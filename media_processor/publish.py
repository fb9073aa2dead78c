"""Publish: the probed file as a web-playable MP4 (H.264 High 8-bit 4:2:0 + AAC, index first).

Remux (packets copied unchanged) when the input already is that, upright and within the output
size; otherwise transcode, streaming frame by frame: memory holds a few frames and the muxer's
interleaving window, never the file. Both write the MP4 with `movflags=+faststart`, which moves
the index (moov) before the media (mdat) in a second pass over the file on disk.
"""
import time

import av

from media_processor.probe import Refused, audio_stream, check_size, describe_seconds, open_input, video_stream

REMUX, TRANSCODE = "remux", "transcode"
# What every browser plays: H.264 8-bit 4:2:0 in these profiles.
BROWSER_H264_PROFILES = {"Constrained Baseline", "Baseline", "Main", "High"}
BROWSER_PIX_FMTS = {"yuv420p", "yuvj420p"}
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
AUDIO_BIT_RATE = 128_000
MP4_OPTIONS = {"movflags": "+faststart"}
# A header's duration and its last packet's time differ by a frame or an audio priming delay.
LIMIT_SLACK_SECONDS = 0.5
# The filter that turns the coded picture upright, by the counterclockwise display rotation.
UPRIGHT_FILTERS = {0: [], 90: [("transpose", "cclock")], 180: [("hflip", None), ("vflip", None)],
                   270: [("transpose", "clock")]}


def output_size(probe, settings) -> tuple:
    """(width, height) of the published picture: upright, the shorter side at most the output
    limit, both even (4:2:0 needs it; rounded down, never past the source)."""
    width, height = (probe.height, probe.width) if probe.rotation in (90, 270) else (probe.width, probe.height)
    scale = min(1.0, settings.max_output_short_side / min(width, height))
    return tuple(max(2, int(side * scale + 1e-6) // 2 * 2) for side in (width, height))


def method(probe, settings) -> str:
    """REMUX when the input plays in browsers as it is, else TRANSCODE."""
    playable = (probe.video_codec == "h264" and probe.pix_fmt in BROWSER_PIX_FMTS
                and probe.profile in BROWSER_H264_PROFILES and probe.audio_codec in (None, "aac"))
    fits = probe.rotation == 0 and output_size(probe, settings) == (probe.width, probe.height)
    return REMUX if playable and fits else TRANSCODE


class Deadline:
    """Raises Refused once the media passes the duration limit (a header may lie or be missing) or
    the processing time runs out (`deadline`: a time.monotonic() value, or None)."""

    def __init__(self, settings, deadline=None):
        self.max_seconds = settings.max_duration_seconds
        self.limit_text = describe_seconds(settings.max_duration_seconds)
        self.deadline = deadline

    def check(self, packet):
        if packet.pts is not None and packet.time_base and packet.pts * packet.time_base > self.max_seconds + LIMIT_SLACK_SECONDS:
            raise Refused(f"longer than {self.limit_text}")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Refused("took too long to process")


def remux(source, destination, probe, settings, deadline=None):
    """Copies the video and AAC packets into an MP4, unchanged."""
    limits = Deadline(settings, deadline)
    with open_input(source, probe.format) as inp, av.open(str(destination), "w", format="mp4", options=MP4_OPTIONS) as out:
        streams = [s for s in (video_stream(inp), audio_stream(inp)) if s is not None]
        copies = {s.index: out.add_stream_from_template(s) for s in streams}
        for packet in inp.demux(streams):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            limits.check(packet)
            packet.stream = copies[packet.stream.index]
            out.mux(packet)


def transcode(source, destination, probe, settings, deadline=None):
    """Decodes, turns upright, scales and encodes frame by frame; AAC audio is copied, other audio
    re-encoded to AAC."""
    limits = Deadline(settings, deadline)
    width, height = output_size(probe, settings)
    with open_input(source, probe.format) as inp, av.open(str(destination), "w", format="mp4", options=MP4_OPTIONS) as out:
        video_in, audio_in = video_stream(inp), audio_stream(inp)
        video_in.thread_type = "AUTO"
        video_out = _h264_stream(out, video_in, width, height, settings)
        upright = Upright(probe.rotation, width, height, video_in.time_base, settings)
        audio = _AudioPath(out, audio_in) if audio_in is not None else None
        for packet in inp.demux([s for s in (video_in, audio_in) if s is not None]):
            if packet.dts is not None:
                limits.check(packet)
            if packet.stream is video_in:
                for frame in packet.decode():
                    for picture in upright.frames(frame):
                        out.mux(video_out.encode(picture))
                if packet.dts is None:  # decoder flushed: flush the filter too
                    for picture in upright.frames(None):
                        out.mux(video_out.encode(picture))
            else:
                audio.handle(packet)
        out.mux(video_out.encode(None))
        if audio is not None:
            audio.flush()


def _h264_stream(out, video_in, width, height, settings):
    stream = out.add_stream("libx264")
    context = stream.codec_context
    context.width, context.height, context.pix_fmt = width, height, "yuv420p"
    context.time_base = video_in.time_base
    rate = video_in.average_rate or video_in.guessed_rate
    if rate:
        context.framerate = rate
    context.profile = "High"
    context.options = {"preset": settings.x264_preset, "crf": str(settings.x264_crf)}
    stream.time_base = video_in.time_base
    return stream


class Upright:
    """A filter graph: rotation applied, scaled to the output size, yuv420p. Rebuilt when the
    decoded picture's size or format changes mid-stream (allowed by H.264/HEVC/VP9), after checking
    the new size against the input limit."""

    def __init__(self, rotation, width, height, time_base, settings):
        self.rotation, self.width, self.height = rotation, width, height
        self.time_base, self.settings = time_base, settings
        self.graph, self.shape = None, None

    def frames(self, frame):
        """The output pictures for one decoded frame (None flushes)."""
        if frame is not None:
            shape = (frame.width, frame.height, frame.format.name)
            if shape != self.shape:
                yield from self._drain(flush=True)
                check_size(frame.width, frame.height, self.settings)
                self.graph, self.shape = self._build(*shape), shape
            self.graph.push(frame)
            yield from self._drain(flush=False)
        else:
            yield from self._drain(flush=True)

    def _drain(self, flush):
        if self.graph is None:
            return
        if flush:
            self.graph.push(None)
        while True:
            try:
                yield self.graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return

    def _build(self, width, height, pix_fmt):
        graph = av.filter.Graph()
        # Scaled and converted to 8 bits before turning: the turn then moves fewer, smaller pixels.
        turned = self.rotation in (90, 270)
        scaled = f"{self.height}:{self.width}" if turned else f"{self.width}:{self.height}"
        nodes = [graph.add_buffer(width=width, height=height, format=pix_fmt, time_base=self.time_base),
                 graph.add("scale", scaled), graph.add("format", "yuv420p")]
        nodes += [graph.add(name, args) for name, args in UPRIGHT_FILTERS[self.rotation]]
        nodes.append(graph.add("buffersink"))
        graph.link_nodes(*nodes).configure()
        return graph


class _AudioPath:
    """AAC packets are copied; anything else is decoded and encoded to AAC."""

    def __init__(self, out, audio_in):
        self.out, self.audio_in = out, audio_in
        self.copy = audio_in.codec_context.name == "aac"
        if self.copy:
            self.stream = out.add_stream_from_template(audio_in)
            return
        rate = audio_in.codec_context.sample_rate
        rate = rate if rate in AAC_RATES else 48000
        layout = "mono" if audio_in.codec_context.layout.nb_channels == 1 else "stereo"
        self.stream = out.add_stream("aac", rate=rate)
        self.stream.codec_context.layout = layout
        self.stream.codec_context.bit_rate = AUDIO_BIT_RATE
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate,
                                           frame_size=self.stream.codec_context.frame_size or 1024)

    def handle(self, packet):
        if self.copy:
            if packet.dts is not None:
                packet.stream = self.stream
                self.out.mux(packet)
            return
        for frame in packet.decode():
            self._encode(self.resampler.resample(frame))

    def flush(self):
        if not self.copy:
            self._encode(self.resampler.resample(None))
            self.out.mux(self.stream.encode(None))

    def _encode(self, frames):
        for frame in frames:
            self.out.mux(self.stream.encode(frame))
