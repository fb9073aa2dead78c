"""Start `python -m local_stack` (the path `make dev` takes) as a child process and wait until it is
ready: for the tests, the benchmark and any tool that needs a stack of its own on free ports."""
import json
import pathlib
import signal
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
FREE_PORTS = ["--demo-port", "0", "--cdn-port", "0", "--token-port", "0", "--idp-port", "0", "--moto-port", "0",
              "--webhook-port", "0"]


class RunningStack:
    def __init__(self, state_dir, extra_args=(), timeout=90):
        self.state_dir = pathlib.Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.output_path = self.state_dir / "runner-output.txt"
        self._output = open(self.output_path, "wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local_stack", "--state-dir", str(self.state_dir), *FREE_PORTS, *extra_args],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT)
        self.info = self._wait_ready(timeout)
        self.ready_seconds = time.monotonic() - self.started
        self.pids = json.loads((self.state_dir / "processes.json").read_text())

    def _wait_ready(self, timeout):
        stack_json = self.state_dir / "stack.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stack_json.exists():
                return json.loads(stack_json.read_text())
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the local stack did not become ready; its output:\n{self.output()}")

    def output(self):
        return self.output_path.read_text(errors="replace")

    def stop(self, timeout=30):
        """Ctrl-C, as a person would; returns the runner's exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._output.close()
        return self.process.returncode

