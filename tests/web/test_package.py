"""web/ as an npm package (web/package.json): what `npm pack` ships, its hand-written types under
`tsc --strict`, and every export of the JavaScript declared in them.

TypeScript (and, for the Vite test, vite and React) come from the npm registry, pinned, installed
by the `npm_tools` fixture into pytest's cache folder on first use (nothing is downloaded at import).
"""
import json
import pathlib
import re
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
WEB = REPO / "web"
TYPES = pathlib.Path(__file__).parent / "types"
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
