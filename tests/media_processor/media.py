"""Reading what the processor published: MP4 box order, streams, pixels."""
import av

from media_processor.poster import mean_luma


def top_level_boxes(data: bytes) -> list:
    """The MP4's top-level box types, in file order."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        if size == 1:
            size = int.from_bytes(data[offset + 8:offset + 16], "big")
        boxes.append(data[offset + 4:offset + 8].decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def describe(path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        first = next(container.decode(video))
        return {"format": container.format.name, "video": video.codec_context.name, "profile": video.profile,
                "pix_fmt": video.codec_context.pix_fmt, "width": first.width, "height": first.height,
                "rotation": first.rotation, "audio": audio.codec_context.name if audio else None,
                "duration": container.duration / av.time_base if container.duration else None}


def bright_side(path) -> str:
    """Which half of the first bright picture is white: "top", "bottom", "left" or "right"."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if mean_luma(frame) > 64:
                break
        w, h = frame.width, frame.height
        halves = {"top": (0, 0, w, h // 2), "bottom": (0, h - h // 2, w, h // 2),
                  "left": (0, 0, w // 2, h), "right": (w - w // 2, 0, w // 2, h)}
        means = {side: _region_luma(frame, *box) for side, box in halves.items()}
    return max(means, key=means.get)


def _region_luma(frame, x, y, w, h):
    gray = frame.reformat(format="gray")
    plane = gray.planes[0]
    data = bytes(plane)
    rows = (data[(y + r) * plane.line_size + x:(y + r) * plane.line_size + x + w] for r in range(h))
    return sum(sum(row) for row in rows) / (w * h)


def packets(path, kind) -> list:
    """The payload bytes of every packet of the first `kind` ("video"/"audio") stream."""
    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[0]
        return [bytes(p) for p in container.demux(stream) if p.dts is not None]
