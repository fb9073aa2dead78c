"""Media processor benchmarks: the processor's own code (probe, remux or transcode, poster) on files
made here with PyAV, each run in a child process so that its peak RSS (VmHWM) and peak address
space (VmPeak, what RLIMIT_AS limits) are its own.

Records in bench.report (medians over rounds):
  - remux of a 100 MB compliant H.264 MP4 (target <= 2 s)
  - transcode of a 10 s 1080p HEVC 10-bit phone-like clip (rotated), as a ratio of its duration
    (target <= 0.5x on this machine)
  - the poster of the 1080p output (target <= 300 ms)
  - peak RSS transcoding a 30 s and a 5 min clip (target <= 600 MB each, and the same: ratio <= 1.15)

    python -m bench media
"""
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

from bench import report
from tests.media_processor.clips import make_clip, make_long

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROUNDS = 3
REMUX_BYTES = 100_000_000

CHILD = r"""
import json, sys, time
from media_processor import poster, probe, publish
from media_processor.settings import Settings

source, out, jpeg = sys.argv[1:4]
settings = Settings()
started = time.perf_counter()
found = probe.probe(source, settings)
how = publish.method(found, settings)
(publish.remux if how == publish.REMUX else publish.transcode)(source, out, found, settings)
published = time.perf_counter()
poster.write_poster(out, jpeg)
done = time.perf_counter()
# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's high-water mark (kept across exec).
status = {line.split(":")[0]: int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("Vm")}
print(json.dumps({"method": how, "publish": published - started, "poster": done - published,
                  "duration": found.duration, "rss_mb": status["VmHWM"] / 1024, "vm_peak_mb": status["VmPeak"] / 1024,
                  "cpu": time.process_time()}))
"""


def run_child(source, folder) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, str(source), str(folder / "out.mp4"),
                             str(folder / "poster.jpg")], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(result.stdout)


def median_of(source, folder, rounds=ROUNDS) -> dict:
    runs = [run_child(source, folder) for _ in range(rounds)]
    return {k: statistics.median(r[k] for r in runs) if isinstance(runs[0][k], float) else runs[0][k] for k in runs[0]}


def main():
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        folder = pathlib.Path(tmp)
        print("making inputs ...", flush=True)
        # Remux: a compliant 720p H.264 High clip at high quality, its packets repeated to 100 MB.
        seed = make_clip(folder / "seed.mp4", size=(1280, 720), seconds=2, audio=None,
                         video_options={"profile": "high", "crf": "12", "g": "30"})
        seed_bytes = seed.stat().st_size
        big = make_long(folder / "big.mp4", seed, 2 * REMUX_BYTES / seed_bytes)
        # Transcode: an iPhone-like 1080p HEVC 10-bit MOV, rotated, with AAC.
        phone = make_clip(folder / "phone.mov", container="mov", video="libx265", size=(1920, 1080), seconds=10,
                          pix_fmt="yuv420p10le", rotation=-90, video_options={"preset": "ultrafast"})
        # Streaming: the same small HEVC clip repeated to 30 s and to 5 minutes.
        short_seed = make_clip(folder / "short.mp4", video="libx265", size=(640, 360), seconds=2, audio=None,
                               video_options={"preset": "ultrafast"})
        short, long = (make_long(folder / f"{s}.mp4", short_seed, s) for s in (30, 300))

        remux = median_of(big, folder)
        size_mb = big.stat().st_size / 1e6
        print(f"remux {size_mb:.0f} MB: {remux}", flush=True)
        report.figure(f"Remux of a {size_mb:.0f} MB compliant MP4", f"{remux['publish']:.2f} s", "<= 2 s",
                      remux["publish"] <= 2 and remux["method"] == "remux")

        transcode = median_of(phone, folder)
        ratio = transcode["publish"] / transcode["duration"]
        print(f"transcode 1080p HEVC: {transcode}", flush=True)
        report.comparison("clip duration", "the transcoded clip's own length (10 s of 1080p HEVC 10-bit, 30 fps)")
        report.figure("Transcode of 1080p HEVC (rotated, 10-bit) to 1080p H.264", f"{ratio:.2f}x clip duration "
                      f"({transcode['publish']:.1f} s, CPU {transcode['cpu']:.1f} s)", "<= 0.5x", ratio <= 0.5)
        report.figure("  the same, CPU time / clip duration (2 cores)", f"{transcode['cpu'] / transcode['duration']:.2f}x")
        report.figure("Poster of the 1080p output", f"{transcode['poster'] * 1000:.0f} ms", "<= 300 ms",
                      transcode["poster"] <= 0.3)
        report.figure("Peak RSS transcoding 1080p HEVC", f"{transcode['rss_mb']:.0f} MB", "<= 600 MB",
                      transcode["rss_mb"] <= 600)
        report.figure("Peak address space (VmPeak) transcoding 1080p", f"{transcode['vm_peak_mb']:.0f} MB")

        peaks = {name: run_child(path, folder) for name, path in (("30 s", short), ("5 min", long))}
        print(f"streaming: {peaks}", flush=True)
        for name, result in peaks.items():
            report.figure(f"Peak RSS transcoding a {name} clip", f"{result['rss_mb']:.0f} MB", "<= 600 MB",
                          result["rss_mb"] <= 600)
        growth = peaks["5 min"]["rss_mb"] / peaks["30 s"]["rss_mb"]
        report.figure("Peak RSS, 5 min clip / 30 s clip", f"{growth:.2f}x", "<= 1.15x (the same)", growth <= 1.15)


if __name__ == "__main__":
    main()
