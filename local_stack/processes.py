"""The stack's child processes: started in their own session, output prefixed, stopped in order."""
import ctypes
import os
import signal
import subprocess
import sys
import threading

_PR_SET_PDEATHSIG = 1
try:  # looked up here, in the parent, so the child runs no loader code between fork and exec
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None  # not Linux: Ctrl-C still stops everything through the runner


def _die_with_parent():
    """In the child before exec: get SIGTERM if the runner dies without stopping us (Linux).

    The signal follows the thread that started the child, so children are started from the
    runner's main thread only.
    """
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    def __init__(self, name, argv, env, log_path=None, cwd=None):
        """Output goes to `log_path` when given, else to the runner's stdout as `name | line`."""
        self.name = name
        self.log_path = log_path
        # Own session: a Ctrl-C in the terminal reaches only the runner, which stops the parts in order.
        self._log_file = open(log_path, "ab") if log_path else None
        self.process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=self._log_file or subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent)
        if self._log_file is None:
            threading.Thread(target=self._echo, name=f"echo-{name}", daemon=True).start()

    def _echo(self):
        for line in self.process.stdout:
            sys.stdout.write(f"{self.name:>7} | {line.decode(errors='replace').rstrip()}\n")
            sys.stdout.flush()

    @property
    def pid(self):
        return self.process.pid

    def exited(self):
        return self.process.poll()

    def stop(self, timeout=5):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log_file:
            self._log_file.close()
        return self.process.returncode
