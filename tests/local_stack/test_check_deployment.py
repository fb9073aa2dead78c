"""`python -m scripts.check_deployment` against `make dev` (whose CDN stand-in answers as CloudFront
does): every check passes on the stack as it is, and a planted fault (a hop in front of the CDN
that serves a path without a token) makes it fail, naming the check. No token is ever printed."""
import http.server
import os
import re
import subprocess
import sys
import threading
import urllib.request

import pytest

from tests.local_stack.conftest import REPO, app_token, seeded


def run_check(stack_json, app_token_value, *flags, timeout=180):
    env = {**os.environ, "APP_TOKEN": app_token_value}
    return subprocess.run([sys.executable, "-m", "scripts.check_deployment", "--stack-json", str(stack_json), *flags],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def lines_of(result):
    """{check: PASS/FAIL/SKIP} from the check lines (the last line is the verdict)."""
    return {match[2]: match[1] for match in re.finditer(r"^(PASS|FAIL|SKIP)  ([^:]+):", result.stdout, re.M)}


def test_every_check_passes_against_make_dev(running_stack, stack, http):
    token = app_token(http, stack, "alice")
    result = run_check(running_stack.state_dir / "stack.json", token, "--media-path", seeded(stack, "alice")["path"])
    assert result.returncode == 0, result.stdout + result.stderr
    outcomes = lines_of(result)
    assert set(outcomes.values()) == {"PASS"}, result.stdout
    assert set(outcomes) == {"no token", "viewing token", "with the token", "a range", "another member's path",
                             "a tampered token", "CORS preflight", "upload form", "upload to the bucket",
                             "the incoming object is not served", "processed", "delete",
                             "bucket refuses unsigned reads"}
    assert token not in result.stdout + result.stderr and "eyJ" not in result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("OK: 0 check(s) failed")


class TokenInjectingHop(http.server.ThreadingHTTPServer):
    """The planted fault: a hop in front of the CDN that forwards tokenless requests with a token
    of its own, so media is served to anyone."""

    def __init__(self, cdn_url, token):
        cdn, token_header = cdn_url, f"Bearer {token}"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
                headers.setdefault("Authorization", token_header)
                request = urllib.request.Request(cdn + self.path, headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        status, answer_headers, body = answer.status, answer.headers, answer.read()
                except urllib.error.HTTPError as refused:
                    status, answer_headers, body = refused.code, refused.headers, refused.read()
                self.send_response(status)
                for name, value in answer_headers.items():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def leaky_hop(stack, http):
    from tests.local_stack.conftest import viewing_token
    hop = TokenInjectingHop(stack["cdn_url"], viewing_token(http, stack, "alice"))
    thread = threading.Thread(target=hop.serve_forever, daemon=True)
    thread.start()
    yield hop
    hop.shutdown()


def test_a_path_served_without_a_token_fails_the_check(running_stack, stack, http, leaky_hop):
    result = run_check(running_stack.state_dir / "stack.json", app_token(http, stack, "alice"),
                       "--media-path", seeded(stack, "alice")["path"], "--media-url", leaky_hop.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert lines_of(result)["no token"] == "FAIL"
    assert f"FAIL  no token: GET {seeded(stack, 'alice')['path']} answered 200" in result.stdout
    assert result.stdout.rstrip().endswith("check(s) failed") and "FAILED" in result.stdout


def test_missing_arguments_are_exit_2_with_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "scripts.check_deployment", "--media-url", "https://m.example"],
                            cwd=REPO, env={k: v for k, v in os.environ.items() if k != "APP_TOKEN"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "check_deployment: give --token-url, --media-path (or --outputs / --stack-json)"
