"""Poster: one JPEG frame near the start of the published video that is not black.

Fades from black and dark first frames are common; the first frame whose mean brightness reaches
the threshold within the first seconds is taken, else the brightest frame seen there. Decoding
the published MP4 (rather than the input) gives the published size and orientation for free.
"""
import fractions

import av

SEARCH_SECONDS = 3.0
# Mean luma (0..255, full range) below which a frame counts as black; studio-range black is 16.
BLACK_LUMA = 32
THUMB = (64, 36)  # brightness is measured on a small grey copy: cheap, and enough for a mean
JPEG_QUALITY = 3  # FFmpeg's qscale for MJPEG, 2 (best) .. 31


def write_poster(video_path, jpeg_path):
    """Writes the poster of the MP4 at `video_path` to `jpeg_path`."""
    with av.open(str(video_path), format="mp4", options={"protocol_whitelist": "file"}) as container:
        stream = container.streams.video[0]
        best, best_luma = None, -1.0
        for frame in container.decode(stream):
            luma = mean_luma(frame)
            if luma > best_luma:
                best, best_luma = frame, luma
            if luma >= BLACK_LUMA or (frame.time is not None and frame.time >= SEARCH_SECONDS):
                break
    if best is None:
        raise ValueError("the published video has no frame")
    with open(jpeg_path, "wb") as f:
        f.write(encode_jpeg(best))


def mean_luma(frame) -> float:
    small = frame.reformat(width=THUMB[0], height=THUMB[1], format="gray")
    plane = small.planes[0]
    data = bytes(plane)
    return sum(sum(data[row * plane.line_size:row * plane.line_size + THUMB[0]]) for row in range(THUMB[1])) / (
        THUMB[0] * THUMB[1])


def encode_jpeg(frame) -> bytes:
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = frame.width, frame.height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = fractions.Fraction(1, 25)
    codec.qscale = JPEG_QUALITY
    picture = frame.reformat(format="yuvj420p")
    picture.pts = 0
    return b"".join(bytes(p) for p in codec.encode(picture) + codec.encode(None))
