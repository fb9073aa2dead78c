"""The media processor in the local stack, as S3 event notifications and Lambda run it in AWS.

Each object the moto proxy sees created under the incoming prefix (a browser's form POST, or a
PUT) becomes an event shaped like S3's `ObjectCreated:*` notification, queued (a small bounded
queue, one asset at a time: as the processor's reserved concurrency caps it in AWS) and run by
`python -m media_processor --event-file F` in a child process whose CPU time and address space
are capped with setrlimit before it starts (Lambda's timeout and memory size stand-ins). The
child's output goes to logs/media-processor.log; one line per asset to the runner's output.
"""
import json
import os
import queue
import resource
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import quote_plus

from local_stack.processes import _die_with_parent

QUEUE_SIZE = 32  # beyond this, new uploads wait for the incoming/ lifecycle rule, as unprocessed events would
WALL_SECONDS_PER_CPU_SECOND = 3  # a child past this much wall time is stuck (I/O), not working


def object_created_event(bucket, key, size, how):
    """One record of S3's event notification (version 2.1), the key URL-encoded as S3 sends it;
    `how` is Post (a form upload) or Put."""
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": f"ObjectCreated:{how}",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key, safe="/"), "size": size}},
    }]}


class Processor:
    def __init__(self, repo, bucket, incoming_key_prefix, env, log_path, memory_mb, cpu_seconds, report):
        self.repo, self.bucket, self.incoming_key_prefix = repo, bucket, incoming_key_prefix
        self.env, self.log_path = env, log_path
        self.memory_bytes, self.cpu_seconds = memory_mb * 1024 * 1024, cpu_seconds
        self.report = report
        self.queue = queue.Queue(QUEUE_SIZE)
        self.current = None  # the running child, stopped by stop()
        self._thread = threading.Thread(target=self._run, name="media-processor", daemon=True)

    def start(self):
        self._thread.start()

    def object_created(self, key, size, how):
        """Called by the moto proxy for every object stored; only incoming ones are events."""
        if not key.startswith(self.incoming_key_prefix):
            return
        try:
            self.queue.put_nowait((key, size, how))
        except queue.Full:
            self.report(f"processor queue full ({QUEUE_SIZE}): {key} not processed")

    def stop(self):
        self.queue.put(None)
        child = self.current
        if child is not None and child.poll() is None:
            child.kill()

    def _limits(self):
        """In the child before exec: Lambda's memory and timeout, as rlimits (values computed here)."""
        _die_with_parent()
        resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds + 10))

    def _run(self):
        while (item := self.queue.get()) is not None:
            try:
                self._process(*item)
            except Exception as exc:  # the stack keeps running; the asset's status says what it can
                self.report(f"processor: {item[0]}: {type(exc).__name__}: {exc}")

    def _process(self, key, size, how):
        started = time.monotonic()
        with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="s3-event-") as event_file, \
                open(self.log_path, "ab") as log:
            json.dump(object_created_event(self.bucket, key, size, how), event_file)
            event_file.flush()
            self.current = subprocess.Popen(
                [sys.executable, "-m", "media_processor", "--event-file", event_file.name], cwd=self.repo,
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=self._limits)
            try:
                code = self.current.wait(self.cpu_seconds * WALL_SECONDS_PER_CPU_SECOND)
            except subprocess.TimeoutExpired:
                self.current.kill()
                code = self.current.wait()
        self.report(f"processed {key} in {time.monotonic() - started:.1f} s (exit code {code}; "
                    f"details in {os.path.basename(self.log_path)})")
