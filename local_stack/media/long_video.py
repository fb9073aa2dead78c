"""Videos of any size for the streaming tests and benchmarks, made in well under a second.

`make_mp4(path, size_bytes)` repeats the committed sample (alice.webm: VP9 + Opus, a key frame
every second) at container level, with no re-encoding, until the file holds `size_bytes` of media
(100 MB is about 15 minutes of video), and writes it as MP4 with the index (moov) at the front
("faststart"), as a streaming site would publish it. Same input, same bytes: reproducible.
Needs PyAV (`av`, a dev dependency; its wheels carry ffmpeg).

    python -m local_stack.media.long_video OUT.mp4 100000000
"""
import pathlib
import sys

SAMPLE = pathlib.Path(__file__).parent / "alice.webm"


def make_mp4(path, size_bytes, sample=SAMPLE):
    """Write an MP4 of at least `size_bytes` of media, ending before a video key frame (the last
    second is whole); returns its duration in seconds."""
    import av  # a dev dependency: only the tests and benchmarks make long videos

    with av.open(str(sample)) as source:
        span = _duration_ms(source)
        packets = [(p.stream.index, p.pts, p.dts, p.duration, bytes(p), p.is_keyframe)
                   for p in source.demux() if p.dts is not None]
        time_bases = [s.time_base for s in source.streams]
        tmp = pathlib.Path(path).with_suffix(".partial")
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            streams = [out.add_stream_from_template(s) for s in source.streams]
            written, offset = 0, 0
            while written < size_bytes:
                for index, pts, dts, duration, data, keyframe in packets:
                    if written >= size_bytes and keyframe and streams[index].type == "video":
                        break  # stop at a key frame: the last second is whole
                    packet = av.Packet(data)
                    packet.stream, packet.time_base = streams[index], time_bases[index]
                    packet.pts, packet.dts, packet.duration = pts + offset, dts + offset, duration
                    packet.is_keyframe = keyframe
                    out.mux(packet)
                    written += len(data)
                offset += span
    tmp.replace(path)
    with av.open(str(path)) as made:
        return made.duration / 1e6


def _duration_ms(container):
    """The sample's length in its streams' time base (milliseconds for WebM)."""
    assert all(s.time_base.numerator == 1 and s.time_base.denominator == 1000 for s in container.streams)
    return round(container.duration / 1000)


if __name__ == "__main__":
    seconds = make_mp4(sys.argv[1], int(sys.argv[2]))
    print(f"{sys.argv[1]}: {pathlib.Path(sys.argv[1]).stat().st_size} bytes, {seconds:.1f} s")
