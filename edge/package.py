"""Build the deployable Lambda@Edge zip: `python -m edge.package CONFIG.json OUT.zip [--runtime python3.12]`.

The zip holds the edge runtime modules under `edge/` at its root, `edge/config.json` (the
validated configuration with every default filled in) and the modules' bytecode for the target
runtime in `edge/__pycache__/`. Lambda's /var/task is read-only, so without that bytecode Python
compiles every module again on every cold start (about half of it, docs/design.md). The bytecode
is compiled by an interpreter of the target version found on this machine (PATH, then pyenv);
without one the builder says so and ships source only. The Pulumi program asks for one or the
other (`bytecode=True` or `False`), so its zip never depends on what the deploying machine has.

The same input gives the same bytes (fixed timestamps and order; unchecked-hash pycs hold no
mtime), so `pulumi up` publishes a new version only when something really changed. A bad config
is a ConfigError listing every fault, and leaves no zip behind.
"""
import argparse
import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

from edge.config import ConfigError, load_config

SOURCE_DIR = pathlib.Path(__file__).parent
BUILD_ONLY = {"package.py"}  # modules not needed at run time
RUNTIMES = ("python3.11", "python3.12", "python3.13")  # the Lambda runtimes the edge is tested on
DEFAULT_RUNTIME = "python3.13"  # what infra/edge_function.py deploys
_EPOCH = (1980, 1, 1, 0, 0, 0)

# Run by the target interpreter. UNCHECKED_HASH: the pyc holds a hash of the source instead of its
# mtime (deterministic), and the import system uses it without reading the source at all.
_COMPILE = r"""
import py_compile, sys
source_dir, *names = sys.argv[1:]
for name in names:
    try:
        py_compile.compile(f"{source_dir}/{name}.py", cfile=f"{source_dir}/{name}.pyc", dfile=f"edge/{name}.py",
                           doraise=True, optimize=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError as exc:
        sys.exit(exc.msg)
"""


class PackageError(RuntimeError):
    """The zip could not be built for a reason other than the config (the message says why)."""


def runtime_modules():
    return sorted(p for p in SOURCE_DIR.glob("*.py") if p.name not in BUILD_ONLY)


def cache_tag(runtime):
    """The bytecode file tag of a Lambda runtime: python3.13 -> cpython-313."""
    return "cpython-" + runtime.removeprefix("python").replace(".", "")


def find_interpreter(runtime):
    """A CPython of `runtime`'s version on this machine, or None.

    Looks on PATH, then in pyenv's versions (pyenv's shims refuse a version that is installed but
    not selected), and keeps the first that really runs and has the right bytecode tag.
    """
    version = runtime.removeprefix("python")
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = [shutil.which(runtime), *sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/{runtime}"))]
    for candidate in filter(None, candidates):
        try:
            done = subprocess.run([candidate, "-c", "import sys; print(sys.implementation.cache_tag)"],
                                  capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip() == cache_tag(runtime):
            return candidate
    return None


def compile_bytecode(python, sources: dict) -> dict:
    """{module name: pyc bytes} for {module name: source bytes}, compiled by the interpreter `python`."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in sources.items():
            pathlib.Path(tmp, f"{name}.py").write_bytes(data)
        # -I: nothing from this environment (PYTHONPATH, PYTHONOPTIMIZE, user site) changes the bytes.
        done = subprocess.run([python, "-I", "-c", _COMPILE, tmp, *sources], capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise PackageError(f"{python} could not compile the edge modules:\n{done.stderr.strip()}")
        return {name: pathlib.Path(tmp, f"{name}.pyc").read_bytes() for name in sources}


def _add(archive, name, data):
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data, compresslevel=9)


def build_package(config: dict, out_path, runtime=DEFAULT_RUNTIME, bytecode=None) -> pathlib.Path:
    """Validate `config` and write the zip for `runtime` to `out_path` atomically.

    `bytecode`: None ships it when this machine has the runtime's interpreter; True requires it
    (PackageError without that interpreter); False never ships it.
    ConfigError (listing every fault) if the config is unusable; no zip is written then.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime: must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    rendered = json.dumps(load_config(config).to_json(), indent=1, sort_keys=True) + "\n"
    sources = {module.stem: module.read_bytes() for module in runtime_modules()}
    files = {f"edge/{name}.py": data for name, data in sources.items()}
    files["edge/config.json"] = rendered.encode()
    python = find_interpreter(runtime) if bytecode is not False else None
    if python:
        tag = cache_tag(runtime)
        files.update({f"edge/__pycache__/{name}.{tag}.pyc": pyc
                      for name, pyc in sorted(compile_bytecode(python, sources).items())})
    elif bytecode:
        raise PackageError(f"no {runtime} on this machine (looked on PATH and in pyenv) to compile the edge's bytecode")
    elif bytecode is None:
        print(f"edge.package: no {runtime} on this machine (looked on PATH and in pyenv): shipping source only, "
              f"so every cold start compiles the edge modules again", file=sys.stderr)
    out_path = pathlib.Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=out_path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w") as archive:
            for name, data in files.items():
                _add(archive, name, data)
        os.replace(tmp, out_path)
    except BaseException:
        os.unlink(tmp)
        raise
    return out_path


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m edge.package", description="Build the Lambda@Edge zip.")
    parser.add_argument("config", help="the edge config, a JSON file (docs/reference.md, 'Edge config')")
    parser.add_argument("out", help="where to write the zip")
    parser.add_argument("--runtime", choices=RUNTIMES, default=DEFAULT_RUNTIME,
                        help=f"the Lambda runtime to ship bytecode for (default {DEFAULT_RUNTIME})")
    args = parser.parse_args(argv)
    try:
        with open(args.config, encoding="utf-8") as f:
            config = json.load(f)
        path = build_package(config, args.out, args.runtime)
    except ConfigError as exc:
        print(f"edge.package: {args.config}: {len(exc.errors)} config error(s), no zip written:", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    except (OSError, ValueError, PackageError) as exc:  # unreadable file, not JSON, no compiler
        print(f"edge.package: error: {exc}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(path) as archive:
        bytecode = any(name.endswith(".pyc") for name in archive.namelist())
    print(f"{path} ({path.stat().st_size} bytes, {'with' if bytecode else 'without'} {args.runtime} bytecode)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
