"""The stack's stdlib HTTP servers under slow, broken and hostile clients (raw sockets, real HTTP)."""
import json
import os
import re
import socket
import struct
import threading
import time

import httpx
import pytest

from local_stack import cdn
from local_stack.httpserve import WholeLines, serve_in_thread
from local_stack.lambda_runtime import load_handler
from tests.local_stack.conftest import host_port, raw_exchange, seeded
from tests.local_stack.test_stand_in_parts import make_zip

HEADER_TIMEOUT = 0.5
# Scheduling slack on a loaded 2-core CI machine; the trickling client below would take ~13 s to
# send its headers, so a cut-off after HEADER_TIMEOUT + SLACK still tells a deadline from an idle timer.
SLACK = 4


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    """A CloudFront stand-in in this process, its function answering every request itself."""
    tmp = tmp_path_factory.mktemp("stand-in")
    handler = load_handler(make_zip(tmp / "fn.zip", "zipprobe_servers", (
        "def handler(event, context):\n"
        "    return {'status': '200', 'headers': {'content-type': [{'key': 'Content-Type', 'value': 'text/plain'}]},"
        " 'body': 'served'}\n")), tmp / "task", "zipprobe_servers.handler.handler")
    distribution = cdn.Distribution(handler, None, "fn", "cdn.local", [], [])
    server = cdn.make_server("127.0.0.1", 0, distribution, header_timeout=HEADER_TIMEOUT)
    serve_in_thread(server, "stand-in")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_after(sock, limit):
    """Seconds until the server closed `sock` (recv gives b""), or None if it did not within `limit`."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return None
    return time.monotonic() - started


def test_half_a_request_line_is_disconnected_and_others_are_served_meanwhile(stand_in):
    with socket.create_connection(host_port(stand_in)) as slow:
        slow.sendall(b"GET /vid")
        assert httpx.get(stand_in + "/other", timeout=5).text == "served"  # not blocked by the slow one
        waited = closed_after(slow, 5)
        assert waited is not None and waited < HEADER_TIMEOUT + SLACK


def test_the_header_timeout_is_a_deadline_not_an_idle_timer(stand_in):
    """A client trickling a byte at a time, each well within the timeout, is still cut off."""
    request = b"GET /x HTTP/1.1\r\nHost: cdn.local\r\nX-Padding: " + b"p" * 100
    with socket.create_connection(host_port(stand_in)) as slow:
        started = time.monotonic()
        try:
            for byte in request:
                slow.sendall(bytes([byte]))
                time.sleep(HEADER_TIMEOUT / 5)
        except OSError:
            pass  # the server closed the connection
        assert closed_after(slow, 5) is not None
        assert time.monotonic() - started < HEADER_TIMEOUT + SLACK


def test_an_idle_keep_alive_connection_is_closed_too(stand_in):
    with socket.create_connection(host_port(stand_in)) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: cdn.local\r\n\r\n")
        assert closed_after(sock, 5) is not None  # after the answer, waiting for a next request that never comes


def test_get_with_a_body_is_refused_as_cloudfront_does_and_not_read_as_a_request(stack, alice_token):
    smuggled = b"GET /videos/bob/profile.webm HTTP/1.1\r\nHost: x\r\n\r\n"
    host = stack["cdn_url"][len("http://"):].encode()
    answer, closed = raw_exchange(stack["cdn_url"], (
        b"GET " + seeded(stack, "alice")["path"].encode() + b" HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"Authorization: Bearer " + alice_token.encode() + b"\r\nContent-Length: " + str(len(smuggled)).encode()
        + b"\r\n\r\n" + smuggled))
    assert answer.startswith(b"HTTP/1.1 403 ") and closed
    assert answer.count(b"HTTP/1.1 ") == 1


def test_get_with_a_body_at_the_idp_is_read_and_dropped(stack):
    smuggled = b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    host = stack["idp_url"][len("http://"):].encode()
    answer, _ = raw_exchange(stack["idp_url"], (
        b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: " + host + b"\r\nContent-Length: "
        + str(len(smuggled)).encode() + b"\r\n\r\n" + smuggled
        + b"GET /nothing HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"))
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert statuses == [b"200", b"404"]  # the jwks, then the real second request; the body was no request


def test_raw_non_ascii_byte_in_an_allowed_path_is_a_400(stack, alice_token):
    host = stack["cdn_url"][len("http://"):].encode()
    for path in (b"/videos/alice/\xe9t\xe9.webm", b"/videos/alice/caf\xc3\xa9.webm", b"/videos/alice/a b"):
        answer, _ = raw_exchange(stack["cdn_url"], b"GET " + path + b" HTTP/1.1\r\nHost: " + host
                                 + b"\r\nAuthorization: Bearer " + alice_token.encode() + b"\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 "), path


def test_clients_going_away_leave_the_edge_log_whole_json_lines(running_stack, stack, alice_token):
    path = seeded(stack, "alice")["path"].encode()
    host = stack["cdn_url"][len("http://"):].encode()
    request = (b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nAuthorization: Bearer " + alice_token.encode()
               + b"\r\nRange: bytes=0-1000000\r\n\r\n")
    def abandon(data, read_first):
        with socket.create_connection(host_port(stack["cdn_url"])) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
            sock.sendall(data)
            if read_first:
                sock.recv(1024)
    threads = [threading.Thread(target=abandon, args=(data, read_first))
               for _ in range(15) for data, read_first in ((request, True), (request, False),
                                                           (b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n", False),
                                                           (b"GET /vid", False), (b"", False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.5)
    httpx.get(stack["cdn_url"] + path.decode(), headers={"Authorization": f"Bearer {alice_token}", "Range": "bytes=0-0"})
    output = running_stack.output()
    assert "Traceback" not in output
    edge_lines = [line.split(" | ", 1)[1] for line in output.splitlines() if line.startswith("   edge | ")]
    assert len(edge_lines) >= 16  # at least the requests whose answer was read
    for line in edge_lines:
        json.loads(line)


def test_whole_lines_keeps_lines_from_threads_apart():
    read_end, write_end = os.pipe()
    stream = WholeLines(write_end)
    line = json.dumps({"outcome": "allow", "padding": "x" * 300})
    def write_many():
        for _ in range(200):
            print(line, file=stream)  # print writes the text and the newline separately
    threads = [threading.Thread(target=write_many) for _ in range(8)]
    received = bytearray()
    reader = threading.Thread(target=lambda: [received.extend(chunk) for chunk in iter(lambda: os.read(read_end, 65536), b"")])
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    os.close(write_end)
    reader.join()
    os.close(read_end)
    lines = received.decode().splitlines()
    assert len(lines) == 8 * 200 and set(lines) == {line}
