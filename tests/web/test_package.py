"""web/ as an npm package (web/package.json): what `npm pack` ships, its hand-written types under
`tsc --strict`, every export of the JavaScript declared in them, and a Vite + React app that
installed it, in StrictMode in Chromium (the usePrivateMedia hook, web/react.js).

TypeScript (and, for the Vite test, vite and React) come from the npm registry, pinned, installed
by the `npm_tools` fixture into pytest's cache folder on first use (nothing is downloaded at import).
"""
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from tests.web.conftest import SEEK_BOUND_MS, wait_until
from tests.web.frontend import JS

REPO = pathlib.Path(__file__).resolve().parents[2]
WEB = REPO / "web"
TYPES = pathlib.Path(__file__).parent / "types"
REACT_APP = pathlib.Path(__file__).parent / "react_app"
PACKAGE = json.loads((WEB / "package.json").read_text())
NPM_TOOLS = {"typescript": "5.9.3", "vite": "7.3.8", "react": "19.2.0", "react-dom": "19.2.0"}


def run(argv, cwd, timeout=300):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def npm_tools(request, tmp_path_factory):
    """A folder whose node_modules holds NPM_TOOLS, kept in pytest's cache between runs."""
    npm = shutil.which("npm")
    assert npm, "npm is needed for web/'s package tests (scripts/ensure-system-deps installs node and npm)"
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    folder = cache.mkdir("web-npm-tools") if cache else tmp_path_factory.mktemp("web-npm-tools")
    manifest = json.dumps({"private": True, "devDependencies": NPM_TOOLS}, indent=1)
    installed = folder / "node_modules" / ".installed.json"
    if not installed.exists() or installed.read_text() != manifest:
        (folder / "package.json").write_text(manifest)
        result = run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], folder)
        assert result.returncode == 0, result.stdout + result.stderr
        installed.write_text(manifest)
    return folder / "node_modules"


def test_npm_pack_ships_every_file_the_exports_name():
    result = run(["npm", "pack", "--dry-run", "--json"], WEB, timeout=60)
    assert result.returncode == 0, result.stderr
    shipped = {entry["path"] for entry in json.loads(result.stdout)[0]["files"]}
    assert shipped == set(PACKAGE["files"]) | {"package.json"}
    targets = {PACKAGE["main"], PACKAGE["types"]}
    for target in PACKAGE["exports"].values():
        targets |= set(target.values()) if isinstance(target, dict) else {target}
    assert {target.removeprefix("./") for target in targets} <= shipped
    assert PACKAGE["type"] == "module" and "dependencies" not in PACKAGE
    assert PACKAGE["peerDependenciesMeta"]["react"]["optional"] is True


@pytest.mark.parametrize("source, declarations", [("private-media.js", "private-media.d.ts"), ("react.js", "react.d.ts")])
def test_every_export_is_declared(npm_tools, source, declarations):
    result = run(["node", str(TYPES / "exports.mjs"), str(npm_tools / "typescript"), str(WEB / source),
                  str(WEB / declarations)], REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    names = json.loads(result.stdout)
    assert names["source"], result.stdout  # the compiler read the module's exports
    missing = set(names["source"]) - set(names["declared"])
    assert not missing, f"{source} exports {sorted(missing)}, which {declarations} does not declare"


def type_check(npm_tools, tmp_path, name):
    """tsc --strict on tests/web/types/<name> in a project that installed web/ as a package:
    {line: [error codes]}."""
    project = tmp_path / "project"
    (project / "node_modules" / "@edge-private-media").mkdir(parents=True)
    (project / "node_modules" / "@edge-private-media" / "web").symlink_to(WEB)  # as `npm install ./web` links it
    shutil.copy(TYPES / name, project / name)
    (project / "tsconfig.json").write_text(json.dumps({"compilerOptions": {
        "strict": True, "noEmit": True, "target": "es2022", "module": "esnext", "moduleResolution": "bundler",
        "lib": ["es2022", "dom"], "types": [], "skipLibCheck": False}, "files": [name]}))
    result = run(["node", str(npm_tools / "typescript" / "bin" / "tsc"), "-p", "tsconfig.json", "--pretty", "false"],
                 project, timeout=120)
    errors = {}
    for line, code in re.findall(rf"^{re.escape(name)}\((\d+),\d+\): error (TS\d+)", result.stdout, re.M):
        errors.setdefault(int(line), []).append(code)
    assert errors or result.returncode == 0, result.stdout + result.stderr  # errors elsewhere count too
    return errors, result.stdout


def test_documented_use_type_checks_under_strict(npm_tools, tmp_path):
    errors, output = type_check(npm_tools, tmp_path, "ok.ts")
    assert errors == {}, output


def test_misuse_fails_to_type_check_on_each_marked_line(npm_tools, tmp_path):
    marked = {number for number, line in enumerate((TYPES / "bad.ts").read_text().splitlines(), 1)
              if "// error:" in line}
    errors, output = type_check(npm_tools, tmp_path, "bad.ts")
    assert marked and set(errors) == marked, output


@pytest.fixture(scope="module")
def react_app(npm_tools, tmp_path_factory, frontend, web_stack):
    """tests/web/react_app as an adopter builds it: `npm install --install-links web/`, the worker
    copied from the package into public/, a Vite build (development: React's StrictMode mounts each
    effect twice only there); served by the test frontend under /react-app/. Its URL."""
    app = tmp_path_factory.mktemp("react-app")
    for name in ("index.html", "main.js", "vite.config.js"):
        shutil.copy(REACT_APP / name, app / name)
    versions = {name: NPM_TOOLS[name] for name in ("react", "react-dom", "vite")}
    (app / "package.json").write_text(json.dumps({"private": True, "type": "module", "dependencies": versions}))
    install = run(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error",
                   "--install-links", str(WEB)], app)
    assert install.returncode == 0, install.stdout + install.stderr
    (app / "public").mkdir()
    shutil.copy(app / "node_modules" / "@edge-private-media" / "web" / "private-media-sw.js", app / "public")
    build = subprocess.run(["node", "node_modules/vite/bin/vite.js", "build", "--mode", "development"], cwd=app,
                           capture_output=True, text=True, timeout=300, env={**os.environ, "NODE_ENV": "development"})
    assert build.returncode == 0, build.stdout + build.stderr
    dist = app / "dist"
    assert (dist / "private-media-sw.js").read_bytes() == (WEB / "private-media-sw.js").read_bytes()  # public/ as it is
    for path in dist.rglob("*"):
        if path.is_file():
            kind = {".html": "text/html; charset=utf-8", ".js": JS}.get(path.suffix, "application/octet-stream")
            frontend.files[f"/react-app/{path.relative_to(dist)}"] = (path.read_bytes(), kind)
    frontend.files["/react-app/"] = frontend.files["/react-app/index.html"]
    return frontend.origin + "/react-app/"


@pytest.fixture
def open_app(browser, react_app):
    """open_app(query) -> a new profile (no worker yet) on the React app; `app` is its window.app."""
    contexts = []

    def open_page(query=""):
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(react_app + query)
        wait_until(page, "window.app && window.app.setLogin")
        return page

    yield open_page
    for context in contexts:
        context.close()


def status_of(page, web_stack, member):
    """The status of the page's own fetch of `member`'s file: the worker adds the page's token to it.
    (cache: "no-store": this asks the CDN, whatever the HTTP cache holds from an earlier answer.)"""
    return page.evaluate("url => fetch(url, {headers: {Range: 'bytes=0-99'}, cache: 'no-store'}).then(r => r.status)",
                         f"{web_stack['cdn_url']}/videos/{member}/profile.webm")


def plays(page):
    page.evaluate("() => document.getElementById('video').play()")
    wait_until(page, "document.getElementById('video').currentTime > 0.2", timeout=SEEK_BOUND_MS / 1000)
    return True


# How long a late message (a stale start's configure or forget) is given to arrive, once the event
# that would send it (its getToken answering) has happened: the page posts it at once if at all.
LATE_MESSAGE_MS = 500


def test_strict_mode_start_stop_start_with_a_slow_token_leaves_the_token_in_place(open_app, web_stack):
    page = open_app("?member=alice&delayMs=800")  # logged in at mount, when StrictMode runs effects twice
    wait_until(page, "app.shown.includes('alice')")
    assert page.evaluate("app.effectRuns") == 2  # StrictMode: effects mounted, cleaned up, mounted again
    wait_until(page, "app.tokens.length === app.getTokenCalls")  # a cleaned-up start's token too, late
    page.wait_for_timeout(LATE_MESSAGE_MS)
    assert status_of(page, web_stack, "alice") == 206
    assert plays(page)
    page.evaluate("() => app.setLogin(null)")  # logout: the hook stops it
    wait_until(page, "!document.getElementById('video')")
    page.wait_for_timeout(LATE_MESSAGE_MS)
    assert status_of(page, web_stack, "alice") == 401
    assert page.errors == []


def test_another_member_logging_in_while_the_first_token_is_slow_never_gets_the_first_members_token(
        open_app, web_stack):
    page = open_app()
    page.evaluate("() => app.setLogin({member: 'alice', delayMs: 1500})")
    wait_until(page, "app.getTokenCalls >= 1")
    page.evaluate("() => app.setLogin({member: 'bob', delayMs: 0})")  # alice logs out, bob logs in
    wait_until(page, "app.shown.includes('bob')")
    wait_until(page, "app.tokens.includes('alice')")  # alice's token came after all
    page.wait_for_timeout(LATE_MESSAGE_MS)
    assert status_of(page, web_stack, "bob") == 206
    assert status_of(page, web_stack, "alice") == 403  # the page holds bob's token, not alice's
    assert plays(page)
    assert set(page.evaluate("app.shown")) == {"bob"}  # the hook never handed out alice's media
    assert page.errors == []
