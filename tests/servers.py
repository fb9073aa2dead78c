"""Real servers on loopback for tests and benchmarks: a free port, a moto server (S3, SSM, ...) over HTTP."""
import contextlib
import logging
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto_server():
    """Yields the URL of a real moto server on 127.0.0.1, stopped on exit."""
    from moto.server import ThreadedMotoServer  # heavy: only for the callers that start one

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
