"""Choosing and checking the stack's ports before anything starts, so a clash is one clear line."""
import socket
import time

HOST = "127.0.0.1"  # loopback only: nothing of the stack is reachable from another machine


class PortInUse(Exception):
    pass


def _bind(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the servers do, so a port left in TIME_WAIT by a previous run counts as free
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        return sock.getsockname()[1]


def resolve(wanted):
    """{part: port} with 0 replaced by a free port; PortInUse names the part and its option."""
    chosen = {}
    for part, port in wanted.items():
        try:
            chosen[part] = _bind(port)
        except OSError as exc:
            option = f"--{part.replace('_', '-')}-port"
            raise PortInUse(f"port {port} for the {part.replace('_', ' ')} on {HOST} is not available "
                            f"({exc.strerror}); choose another with {option} PORT (0 picks a free one)") from None
    if len(set(chosen.values())) != len(chosen):
        raise PortInUse(f"two parts were given the same port: {chosen}")
    return chosen


def wait_until_listening(address, timeout, check):
    """Returns once something accepts connections on `address` (a port on HOST, or a Unix socket's
    path); `check()` runs before each try and raises to give up (the part exited, Ctrl-C)."""
    family, target = (socket.AF_UNIX, address) if isinstance(address, str) else (socket.AF_INET, (HOST, address))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check()
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            try:
                probe.connect(target)
                return
            except OSError:
                pass
        time.sleep(0.02)
    raise TimeoutError(f"nothing listened on {address} within {timeout} s")
