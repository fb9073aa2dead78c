"""A frontend of its own for web/ (not the demo page), the real local stack behind it, and Chromium.

- `frontend`: a small server on its own origin serving web/'s two files as docs/frontend.md says
  (the worker at the root, with the page's Content-Security-Policy) and the test page
  (tests/web/harness/), recording every request it gets;
- `third_origin`: another origin that records every request (headers included) and grants CORS;
- `web_stack`: `python -m local_stack` with 20 s viewing tokens (renewal is seen in a test), the
  frontend's origin allowed (--allow-origin) and the generated videos in the bucket (--media);
- `media`: the videos, generated into pytest's cache directory on first use (local_stack.media.long_video).
"""
import json
import time

import pytest
from playwright.sync_api import sync_playwright

from local_stack.launcher import RunningStack
from local_stack.media.long_video import make_mp4
from tests.web import engines
from tests.web.frontend import RecordingServer, serve_frontend

CHROMIUM = "/usr/bin/chromium"  # Debian's; `make test` installs it (scripts/ensure-system-deps)
TOKEN_LIFETIME_SECONDS = 20
# A seek takes well under a second here, but this runs on a loaded 2-core CI machine: the bound
# only catches a seek that hangs or waits for the whole file (speed is bench_web's business).
SEEK_BOUND_MS = 10_000
SMALL_BYTES = 1_000_000
LARGE_BYTES = 60_000_000  # at least 50 MB: far past what a page would download before playing


@pytest.fixture(scope="session")
def media(request, tmp_path_factory):
    """{name: (path on the CDN, size in bytes)}, and "root": the folder as `--media` takes it
    (<member>/<file>, seeded as /videos/<member>/<file>). Kept in pytest's cache between runs."""
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    root = cache.mkdir("web-media") if cache else tmp_path_factory.mktemp("web-media")
    made = {}
    for name, size in (("small", SMALL_BYTES), ("large", LARGE_BYTES)):
        path = root / "alice" / f"{name}.mp4"
        if not path.exists() or path.stat().st_size < size:
            path.parent.mkdir(parents=True, exist_ok=True)
            make_mp4(path, size)
        made[name] = (f"/videos/alice/{name}.mp4", path.stat().st_size)
    made["root"] = root
    return made


@pytest.fixture(scope="session")
def third_origin():
    server = RecordingServer(files={"/data": (b"{}", "application/json"), "/pixel.svg": (b"<svg/>", "image/svg+xml")},
                             cors=True)
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def frontend(third_origin):
    """The test frontend's server; its files are served once the stack is up (the stack must know
    the frontend's origin first)."""
    server = RecordingServer()
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def running_web_stack(tmp_path_factory, media, frontend, third_origin):
    stack = RunningStack(tmp_path_factory.mktemp("web-stack"), extra_args=[
        "--token-lifetime-seconds", str(TOKEN_LIFETIME_SECONDS), "--allow-origin", frontend.origin,
        "--media", str(media["root"])])
    serve_frontend(frontend, stack.info, [third_origin.origin, stack.info["s3_endpoint"]])  # s3: uploads
    frontend.files["/own"] = (b"{}", "application/json")
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def web_stack(running_web_stack):
    """The stack's stack.json."""
    return running_web_stack.info


@pytest.fixture
def edge_decisions(running_web_stack):
    """edge_decisions(uri) -> the edge function's log records for `uri` since the test began (it
    logs one JSON line per decision; the stack's output has them as `edge | {...}`)."""
    output = running_web_stack.output_path
    start = output.stat().st_size

    def decisions(uri, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            with open(output, "rb") as file:
                file.seek(start)
                lines = file.read().decode(errors="replace").splitlines()
            found = [json.loads(line.split("|", 1)[1]) for line in lines
                     if line.lstrip().startswith("edge |") and f'"uri": {json.dumps(uri)}' in line]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    return decisions


@pytest.fixture(scope="module")  # per module, as tests/local_stack's: one sync Playwright at a time
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


def wait_until(page, expression, timeout=15):
    """Poll a JS expression from here (page.wait_for_function would eval() inside the page, which
    its Content-Security-Policy forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def engine(request):
    """The browser engine open_frontend opens pages in: Chromium (Playwright's `browser`), or the
    engine a test is parametrized with through `in_every_engine` (tests/web/engines.py)."""
    name = getattr(request, "param", "chromium")
    if name == "chromium":
        yield request.getfixturevalue("browser")
    else:
        with engines.launch(name) as launched:
            yield launched


# A test marked with this runs in Chromium, Firefox and WebKitGTK (all of one engine's tests in a
# module run before the next engine starts).
in_every_engine = pytest.mark.parametrize("engine", engines.ENGINES, indirect=True)


@pytest.fixture
def open_frontend(engine, frontend, web_stack):
    """open_frontend(member) -> a new tab of a new browser profile (first visit: no worker yet)
    on the test frontend, started with private-media as `member` (None: not started; options go
    to startPrivateMedia), controlled by the worker without a reload; open_frontend(member,
    context) opens another tab in that profile. In `engine`: Chromium unless the test says."""
    contexts = []

    def open_page(member, context=None, **options):
        if context is None:
            context = engine.new_context()
            contexts.append(context)
        page = context.new_page()
        page.errors = []
        if hasattr(page, "on"):  # Playwright reports the page's uncaught errors; Marionette and WebDriver do not
            page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(frontend.origin + "/")
        wait_until(page, "window.harness")
        if member is not None:
            assert page.evaluate("([member, options]) => harness.start(member, options)", [member, options]) is True
        return page

    yield open_page
    for context in contexts:
        context.close()
