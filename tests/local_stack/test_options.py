"""`make dev` options over real HTTP: --allow-origin, --media, --header-timeout-seconds; bad values."""
import hashlib
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from local_stack.launcher import FREE_PORTS, REPO, RunningStack
from tests.local_stack.conftest import host_port, viewing_token

EXTRA_ORIGINS = ["http://localhost:5173", "https://app.example.com"]
NOT_GIVEN = "http://localhost:5174"


def run_local_stack(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "local_stack", *FREE_PORTS, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """DIR/<member>/<file> for both demo members, with hidden files beside them."""
    root = tmp_path_factory.mktemp("my-videos")
    files = {"alice/clip one é.mp4": os.urandom(300_000), "alice/notes.txt": b"plain text",
             "bob/holiday.webm": os.urandom(50_000), "bob/raw.mov": os.urandom(20_000),
             "alice/.DS_Store": b"hidden", ".cache/alice.mp4": b"hidden folder"}
    for name, data in files.items():
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_bytes(data)
    return root, files


@pytest.fixture(scope="module")
def optioned(tmp_path_factory, media):
    args = [arg for origin in EXTRA_ORIGINS for arg in ("--allow-origin", origin)]
    stack = RunningStack(tmp_path_factory.mktemp("optioned"), [*args, "--media", str(media[0]),
                                                               "--header-timeout-seconds", "1"])
    yield stack.info
    stack.stop()


def test_media_files_are_read_back_through_the_cdn_with_each_members_token(optioned, media):
    _, files = media
    types = {"alice/clip one é.mp4": "video/mp4", "alice/notes.txt": "text/plain", "bob/holiday.webm": "video/webm",
             "bob/raw.mov": "video/quicktime"}
    listed = {o["path"]: o for o in optioned["objects"]}
    with httpx.Client(timeout=10) as http:
        tokens = {name: viewing_token(http, optioned, name) for name in ("alice", "bob")}
        for name, content_type in types.items():
            owner = name.split("/")[0]
            path = f"/videos/{name}"
            assert listed[path]["owner"] == owner
            assert listed[path]["sha256"] == hashlib.sha256(files[name]).hexdigest()
            response = http.get(optioned["cdn_url"] + path, headers={"Authorization": f"Bearer {tokens[owner]}"})
            assert response.status_code == 200, (path, response.text)
            assert response.content == files[name] and response.headers["content-type"] == content_type
            other = "bob" if owner == "alice" else "alice"
            refused = http.get(optioned["cdn_url"] + path, headers={"Authorization": f"Bearer {tokens[other]}"})
            assert refused.status_code == 403
    assert not any(".DS_Store" in path or ".cache" in path for path in listed)
    assert "/videos/alice/profile.webm" in listed  # the demo's own files are still there


def preflight_origin(http, url, origin, method):
    response = http.options(url, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                          "Access-Control-Request-Headers": "authorization,content-type"})
    return response.headers.get("access-control-allow-origin")


def test_extra_origins_get_cors_from_the_token_service_cdn_idp_and_bucket_uploads(optioned):
    assert optioned["allowed_origins"][2:] == EXTRA_ORIGINS
    cdn_path = optioned["cdn_url"] + "/videos/alice/profile.webm"
    targets = [(f"{optioned['token_url']}/token", "POST"), (f"{optioned['token_url']}/uploads", "POST"),
               (cdn_path, "GET"), (f"{optioned['idp_url']}/login", "POST"),
               (f"{optioned['s3_endpoint']}/{optioned['bucket']}", "POST")]
    with httpx.Client(timeout=10) as http:
        for url, method in targets:
            for origin in EXTRA_ORIGINS:
                assert preflight_origin(http, url, origin, method) == origin, (url, origin)
            assert preflight_origin(http, url, NOT_GIVEN, method) is None, url
        token = viewing_token(http, optioned, "alice")
        for origin, granted in ((EXTRA_ORIGINS[0], EXTRA_ORIGINS[0]), (NOT_GIVEN, None)):
            response = http.get(cdn_path, headers={"Authorization": f"Bearer {token}", "Origin": origin,
                                                   "Range": "bytes=0-1"})
            assert response.status_code == 206 and response.headers.get("access-control-allow-origin") == granted
            login = http.post(f"{optioned['idp_url']}/login", headers={"Origin": origin},
                              json={"username": "bob", "password": "bob-demo-password"})
            assert login.status_code == 200 and login.headers.get("access-control-allow-origin") == granted


def test_the_header_timeout_option_reaches_every_stdlib_server(optioned):
    urls = [optioned[name] for name in ("cdn_url", "s3_endpoint", "idp_url", "demo_url")]
    sockets = [socket.create_connection(host_port(url)) for url in urls]
    started = time.monotonic()
    try:
        for sock in sockets:
            sock.sendall(b"GET /half")
            sock.settimeout(5)
        for url, sock in zip(urls, sockets):
            assert sock.recv(100) == b"", url  # closed, with nothing answered
        assert time.monotonic() - started < 8  # the option's 1 s, not the default 10 s (a loaded machine's slack)
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.parametrize("origin", ["http://localhost:5173/", "localhost:5173", "http://LOCALHOST:5173",
                                    "http://localhost:5173/app", "ftp://example.com", "http://a,b",
                                    "https://example.com:443", "http://user@example.com", "*"])
def test_a_bad_origin_is_one_clear_line(origin, tmp_path):
    result = run_local_stack("--state-dir", str(tmp_path), "--allow-origin", "http://localhost:5173",
                             "--allow-origin", origin)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"--allow-origin: {origin!r}" in result.stderr
    assert result.stdout == "" and not (tmp_path / "stack.json").exists()


@pytest.mark.parametrize("layout, named, why", [
    ({"carol/x.mp4": b"x"}, "carol", "not a demo member"),
    ({"alice.mp4": b"x"}, "alice.mp4", "put files in"),
    ({"alice/what?.mp4": b"x"}, "what?.mp4", "'?'"),
    ({"alice/50%.mp4": b"x"}, "50%.mp4", "'%'"),
    ({"alice/a+b.mp4": b"x"}, "a+b.mp4", "'+'"),
    ({"alice/back\\slash.mp4": b"x"}, "back\\slash.mp4", "'\\\\'"),
    ({"alice/tab\there.mp4": b"x"}, "tab", "control"),
    ({"alice/sub/x.mp4": b"x"}, "sub", "only files directly"),
    ({"alice/profile.webm": b"x"}, "profile.webm", "would replace"),
])
def test_a_bad_media_folder_is_one_clear_line_naming_the_file_and_why(tmp_path, layout, named, why):
    root = tmp_path / "media"
    for name, data in layout.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    result = run_local_stack("--state-dir", str(tmp_path / "state"), "--media", str(root))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("local stack: --media: ")
    assert named in result.stderr and why in result.stderr, result.stderr


def test_a_file_name_that_is_not_utf8_is_refused(tmp_path):
    root = tmp_path / "media"
    (root / "bob").mkdir(parents=True)
    (root / "bob").joinpath(os.fsdecode(b"caf\xe9.mp4")).write_bytes(b"x")
    result = run_local_stack("--state-dir", str(tmp_path / "state"), "--media", str(root))
    assert result.returncode == 2 and "not valid UTF-8" in result.stderr


def test_help_documents_the_options():
    result = subprocess.run([sys.executable, "-m", "local_stack", "--help"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    for option in ("--allow-origin ORIGIN", "--media DIR", "--header-timeout-seconds"):
        assert option in result.stdout
