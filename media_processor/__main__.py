"""`python -m media_processor --event-file F` (or the event on stdin): runs the Lambda handler on one
S3 event, as the local stack does for each upload, in a child process.

--memory-limit-mb and --cpu-limit-seconds set RLIMIT_AS and RLIMIT_CPU on this process before PyAV
is loaded (or the parent sets them: the same). Past the CPU limit's soft value the kernel sends
SIGXCPU, turned here into a `failed` status ("took too long to process") with clean-up; the hard
limit (soft + CPU_GRACE_SECONDS) then kills a process that did not stop. docs/uploads.md gives the
limits measured.
"""
import argparse
import json
import logging
import resource
import signal
import sys

CPU_GRACE_SECONDS = 10


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m media_processor", description=__doc__.splitlines()[0])
    parser.add_argument("--event-file", help="the S3 event as JSON (default: stdin)")
    parser.add_argument("--memory-limit-mb", type=int, help="RLIMIT_AS, address space in MB")
    parser.add_argument("--cpu-limit-seconds", type=int, help="RLIMIT_CPU soft limit in CPU seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.memory_limit_mb:
        limit = args.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if args.cpu_limit_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (args.cpu_limit_seconds, args.cpu_limit_seconds + CPU_GRACE_SECONDS))
    signal.signal(signal.SIGXCPU, _out_of_cpu_time)
    if args.event_file:
        with open(args.event_file, encoding="utf-8") as f:
            event = json.load(f)
    else:
        event = json.load(sys.stdin)
    from media_processor.settings import Settings, SettingsError

    try:
        Settings.from_env()
    except SettingsError as exc:
        sys.exit("media_processor: bad settings:\n" + "\n".join(exc.faults))
    from media_processor import handler  # after the limits: they cover loading PyAV and FFmpeg

    handler.handle(event)


def _out_of_cpu_time(signum, frame):
    from media_processor.probe import Refused

    raise Refused("took too long to process")


if __name__ == "__main__":
    main()
