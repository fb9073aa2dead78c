"""Makes the sample videos the local stack seeds (alice.webm, bob.webm), drawn frame by frame.

Not run at set-up: the two files are committed next to this script, so `make dev` needs no
encoder. They were made here, by this script, from nothing but code and DejaVu Sans (free
licence), so they carry no third-party footage. To remake them:

    python -m venv /tmp/v && /tmp/v/bin/pip install av pillow numpy
    /tmp/v/bin/python local_stack/media/make_sample_videos.py

WebM (VP9 + Opus), a key frame every second so seeking lands quickly, a tick each second.
"""
import fractions
import pathlib

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = pathlib.Path(__file__).parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
FONT_LIGHT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WIDTH, HEIGHT, FPS = 960, 540, 24
SAMPLE_RATE = 48000


def background(t, hue):
    """A slowly moving interference field: pleasant to look at, and detailed enough to cost bits."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    v = (np.sin(x / 53.0 + t * 1.3) + np.sin(y / 41.0 - t * 0.9)
         + np.sin((x + y) / 67.0 + t * 0.7) + np.sin(np.hypot(x - WIDTH / 2, y - HEIGHT / 2) / 29.0 - t * 2.1))
    v = (v + 4) / 8  # 0..1
    r = 20 + 60 * v * hue[0]
    g = 24 + 60 * v * hue[1]
    b = 40 + 90 * v * hue[2]
    return np.dstack([r, g, b]).clip(0, 255).astype(np.uint8)


def frame(i, seconds, label, hue, fonts):
    t = i / FPS
    img = Image.fromarray(background(t, hue)).convert("RGBA")
    overlay = Image.new("RGBA", img.size)
    draw = ImageDraw.Draw(overlay)
    cx, cy = WIDTH // 2, HEIGHT // 2 - 20
    # a film-leader sweep: one turn per second
    radius = 150
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=(255, 255, 255, 140), width=4)
    draw.pieslice([cx - radius + 10, cy - radius + 10, cx + radius - 10, cy + radius - 10],
                  -90, -90 + 360 * (t % 1.0), fill=(255, 255, 255, 45))
    stamp = f"{int(t) // 60:02d}:{t % 60:05.2f}"
    draw.text((cx, cy), stamp, font=fonts["big"], fill="white", anchor="mm")
    draw.text((cx, cy + radius + 45), label, font=fonts["small"], fill=(230, 236, 255), anchor="mm")
    # progress bar
    draw.rectangle([60, HEIGHT - 40, WIDTH - 60, HEIGHT - 34], fill=(255, 255, 255, 60))
    draw.rectangle([60, HEIGHT - 40, 60 + (WIDTH - 120) * t / seconds, HEIGHT - 34], fill=(120, 200, 255, 255))
    return Image.alpha_composite(img, overlay).convert("RGB")


def tick_audio(seconds):
    """A short soft tick at every whole second, silence between."""
    samples = np.zeros(seconds * SAMPLE_RATE, dtype=np.float32)
    tick = np.sin(2 * np.pi * 880 * np.arange(int(0.06 * SAMPLE_RATE)) / SAMPLE_RATE)
    tick *= np.linspace(1, 0, tick.size) * 0.2
    for s in range(seconds):
        samples[s * SAMPLE_RATE:s * SAMPLE_RATE + tick.size] = tick
    return samples


def make(path, seconds, label, hue, bit_rate):
    fonts = {"big": ImageFont.truetype(FONT, 96), "small": ImageFont.truetype(FONT_LIGHT, 30)}
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx-vp9", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate = bit_rate
        video.options = {"g": str(FPS), "deadline": "good", "cpu-used": "4", "row-mt": "1"}
        audio = out.add_stream("libopus", rate=SAMPLE_RATE)
        audio.layout = "mono"
        for i in range(seconds * FPS):
            vf = av.VideoFrame.from_image(frame(i, seconds, label, hue, fonts))
            vf.pts = i
            vf.time_base = fractions.Fraction(1, FPS)
            out.mux(video.encode(vf))
        out.mux(video.encode())
        pcm = tick_audio(seconds)
        step = 960  # 20 ms Opus frames
        for n, start in enumerate(range(0, pcm.size, step)):
            af = av.AudioFrame.from_ndarray(pcm[None, start:start + step], format="flt", layout="mono")
            af.sample_rate = SAMPLE_RATE
            af.pts = start
            af.time_base = fractions.Fraction(1, SAMPLE_RATE)
            out.mux(audio.encode(af))
        out.mux(audio.encode())
    print(f"{path.name}: {path.stat().st_size} bytes, {seconds} s")


if __name__ == "__main__":
    make(HERE / "alice.webm", 12, "alice · private sample", (0.6, 0.9, 1.6), 900_000)
    make(HERE / "bob.webm", 6, "bob · private sample", (1.6, 0.7, 0.6), 500_000)
