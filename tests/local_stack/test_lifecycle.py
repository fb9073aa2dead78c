"""The stack as a whole: moto going away (the edge's staleness bound), Ctrl-C, a port in use."""
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import httpx

from local_stack.launcher import FREE_PORTS, REPO, RunningStack
from tests.local_stack.conftest import seeded, viewing_token

REFRESH, RETRY, STALENESS = 1, 1, 4  # seconds; the edge's key_refresh / key_retry / max_key_staleness


def alive(pid):
    """Running and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_moto_stopped_edge_serves_on_last_keys_then_fails_closed_and_ctrl_c_stops_all(tmp_path):
    stack = RunningStack(tmp_path / "stack", ["--key-refresh-seconds", str(REFRESH), "--key-retry-seconds", str(RETRY),
                                              "--max-key-staleness-seconds", str(STALENESS)])
    try:
        info = stack.info
        with httpx.Client(timeout=10) as http:
            token = viewing_token(http, info, "alice")
            url = info["cdn_url"] + seeded(info, "alice")["path"]
            ask = lambda t=token: http.get(url, headers={"Authorization": f"Bearer {t}", "Range": "bytes=0-15"})
            assert ask().status_code == 206
            time.sleep(REFRESH + 0.3)
            assert ask().status_code == 206  # older than the refresh interval: this one refreshed from SSM
            refreshed_at = time.monotonic()
            assert '"event": "key_refresh", "ok": true' in stack.output()

            os.kill(stack.pids["moto"], signal.SIGKILL)  # S3 and SSM gone at once
            stopped_at = time.monotonic()
            answers = []
            while time.monotonic() - stopped_at < STALENESS + 10:
                response = ask()
                answers.append((time.monotonic() - refreshed_at, response.status_code, response.headers.get("x-cache")))
                if response.status_code == 503:
                    break
                time.sleep(0.2)

            before = answers[:-1]
            assert before, "the edge failed closed at once"
            # within the bound the edge still lets the token through; only the origin is gone (502)
            assert all(status == 502 and cache == "Error from cloudfront" for _, status, cache in before), answers
            at, status, cache = answers[-1]
            assert status == 503 and cache == "LambdaGeneratedResponse from cloudfront", answers
            assert STALENESS - 0.3 <= at <= STALENESS + REFRESH + RETRY + 2, answers
            closed = ask()
            assert closed.status_code == 503 and closed.headers["retry-after"] == str(RETRY)
            tampered = ask(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
            assert tampered.status_code in (401, 503)  # never let through
            assert "exited with code" in stack.output()  # the runner saw moto go and said so
    finally:
        code = stack.stop()
    assert code == 0
    assert not (stack.state_dir / "stack.json").exists()
    assert not any(alive(pid) for pid in stack.pids.values()), stack.pids
    assert "local stack stopped." in stack.output()


# `python -m local_stack` with one change: its watch gets Ctrl-C at the worst instant, just after
# subprocess's poll() took its lock (before the poll's try). A Ctrl-C raised there as an exception
# left the lock held, and the runner then hung for ever in its last wait() for that child.
CTRL_C_INSIDE_POLL = """
import shutil, signal, sys
from local_stack import runner

def ctrl_c(frame, event, arg):
    if event == "c_return" and frame.f_code.co_name == "_internal_poll" and getattr(arg, "__name__", "") == "acquire":
        sys.setprofile(None)
        signal.raise_signal(signal.SIGINT)

def watch_with_ctrl_c(stack, watch=runner.Stack.watch):
    shutil.copy(stack.state / "processes.json", stack.state / "pids.json")  # the runner removes its own
    sys.setprofile(ctrl_c)
    watch(stack)

runner.Stack.watch = watch_with_ctrl_c
sys.exit(runner.main())
"""


def run_runner(state, code, stop_when=None, timeout=120):
    """Run `code` (the runner, changed) on free ports; Ctrl-C once `stop_when(output, pid)` is true.
    (exit code, output); a runner still running after `timeout` s is killed and fails the test."""
    state.mkdir()
    output = state / "runner-output.txt"
    with open(output, "wb") as out:
        runner = subprocess.Popen([sys.executable, "-c", code, "--state-dir", str(state), *FREE_PORTS], cwd=REPO,
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        try:
            while runner.poll() is None and time.monotonic() < deadline:
                if stop_when and stop_when(output.read_text(), runner.pid):
                    runner.send_signal(signal.SIGINT)
                    stop_when = None
                time.sleep(0.05)
            assert runner.poll() is not None, f"the runner did not exit:\n{output.read_text()}"
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait()
    return runner.returncode, output.read_text()


def test_ctrl_c_at_the_worst_instant_still_stops_every_part(tmp_path):
    code, output = run_runner(tmp_path / "stack", CTRL_C_INSIDE_POLL)
    assert code == 0, output
    assert "Local stack ready" in output and "stopping..." in output and "local stack stopped." in output
    pids = json.loads((tmp_path / "stack" / "pids.json").read_text())
    assert {"moto", "token", "edge"} <= pids.keys()
    assert not any(alive(pid) for pid in pids.values()), pids
    assert not (tmp_path / "stack" / "stack.json").exists()


def test_ctrl_c_while_starting_stops_at_the_next_wait(tmp_path):
    children = []

    def provisioning(output, pid):  # moto is up: the runner provisions it, then starts the rest
        if "ready  moto" not in output:
            return False
        children.extend(int(child) for child in pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
        return True

    code, output = run_runner(tmp_path / "stack", "import sys; from local_stack import runner; sys.exit(runner.main())",
                              provisioning)
    assert code == 0, output
    assert "stopping..." in output and "local stack stopped." in output and "Local stack ready" not in output
    assert children and not any(alive(pid) for pid in children), children
    assert not (tmp_path / "stack" / "stack.json").exists()


def test_port_in_use_is_one_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "local_stack", "--state-dir", str(tmp_path), *FREE_PORTS,
                                 "--cdn-port", str(port)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"port {port} for the cdn" in result.stderr and "--cdn-port" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "stack.json").exists()
