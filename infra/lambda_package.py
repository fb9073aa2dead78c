"""Zip a Python Lambda function with its third-party packages, built for the Lambda platform.

`pip install --platform ... --only-binary=:all:` fetches the manylinux wheels for the target
Python whatever machine runs `pulumi up`. Versions are pinned to the ones installed in this
virtualenv, the ones the tests ran against. The zip is cached under a hash of every input, so a
repeated `pulumi up` or test run reuses it, and the same inputs give the same bytes.

Every module's bytecode ships too (`__pycache__/*.cpython-313.pyc`), compiled by a python3.13 found
on this machine (PATH, then pyenv): Lambda's /var/task is read-only, so without it Python compiles
FastAPI, pydantic and the rest again on every cold start (docs/design.md, "Token service on
Lambda", has the figures). As for the edge zip (edge/package.py), the pycs are unchecked-hash
(PEP 552: no mtime, so builds are deterministic, and the source is not read at import). Without
that interpreter the builder says so in one line and ships source only, which works, slower.
"""
import hashlib
import importlib.metadata
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

from edge.package import cache_tag, find_interpreter

LAMBDA_PYTHON = "3.13"
# Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34); accept any wheel built for that or older.
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
_EPOCH = (1980, 1, 1, 0, 0, 0)
# Lambda's deployment package quotas (Lambda developer guide, "Lambda quotas"): 250 MB unzipped,
# layers included (the program uses none), and 50 MB for a zip sent in the API call, as the
# provider sends a FileArchive.
UNZIPPED_LIMIT_BYTES = 262_144_000
ZIPPED_LIMIT_BYTES = 52_428_800

# Run by the target interpreter, isolated (-I) so this environment cannot change the bytes. One
# process, sorted order (compile_dir sorts): marshal's output can depend on what was compiled before.
_COMPILE = r"""
import compileall, py_compile, sys
root = sys.argv[1]
ok = compileall.compile_dir(root, stripdir=root, quiet=1, workers=1, optimize=0,
                            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
sys.exit(0 if ok else 1)
"""


class PackageBuildError(RuntimeError):
    pass


def pinned(distributions) -> list:
    """`name==version` for each distribution as installed here."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in distributions]


def installed_constraints() -> list:
    """Every installed distribution pinned, so pip resolves transitive dependencies to them too."""
    pins = {f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions() if d.metadata["Name"]}
    return sorted(pins, key=str.lower)


def build_python_package(name: str, requirements: list, sources: dict, build_dir: pathlib.Path) -> pathlib.Path:
    """Zip `requirements` (installed for Lambda) plus `sources` ({path in zip: local file}).

    Returns the cached zip when one was built from the same inputs.
    """
    constraints = installed_constraints()
    runtime = f"python{LAMBDA_PYTHON}"
    python = find_interpreter(runtime)
    bytecode = cache_tag(runtime) if python else None
    digest = _inputs_digest(requirements, constraints, sources, bytecode)
    out_path = build_dir / f"{name}-{digest}.zip"
    if out_path.exists():
        return out_path
    build_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build_dir, prefix=f"{name}-") as tmp:
        site = pathlib.Path(tmp, "site")
        constraints_file = pathlib.Path(tmp, "constraints.txt")
        constraints_file.write_text("\n".join(constraints) + "\n")
        _pip_install(requirements, constraints_file, site)
        for arcname, path in sources.items():
            (site / arcname).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, site / arcname)
        if python:
            _compile(python, site)
        else:
            print(f"lambda_package: no {runtime} on this machine (PATH or pyenv): {name} ships without bytecode, "
                  f"so every cold start compiles its modules again", file=sys.stderr)
        files = {path.relative_to(site).as_posix(): path for path in _walk(site)}
        partial = pathlib.Path(tmp, "package.zip")
        _write_zip(partial, files)
        check_size(partial, name)
        os.replace(partial, out_path)  # atomic: a concurrent build sees no half-written zip
    return out_path


def unzipped_size(path: pathlib.Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def check_size(path: pathlib.Path, name: str) -> None:
    """Refuses a package Lambda would refuse, with its sizes, before anything is deployed."""
    unzipped, zipped = unzipped_size(path), path.stat().st_size
    if unzipped > UNZIPPED_LIMIT_BYTES or zipped > ZIPPED_LIMIT_BYTES:
        raise PackageBuildError(f"{name}: the package is {unzipped:,} bytes unzipped and {zipped:,} zipped; Lambda "
                                f"takes at most {UNZIPPED_LIMIT_BYTES:,} unzipped and {ZIPPED_LIMIT_BYTES:,} zipped")


def _inputs_digest(requirements, constraints, sources, bytecode) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([requirements, constraints, LAMBDA_PYTHON, PLATFORMS, bytecode]).encode())
    for arcname in sorted(sources):
        h.update(arcname.encode() + b"\0" + pathlib.Path(sources[arcname]).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _pip_install(requirements, constraints_file, target):
    platform_args = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target), "--implementation", "cp", "--python-version", LAMBDA_PYTHON,
        "--only-binary=:all:", *platform_args, "--constraint", str(constraints_file), *requirements,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise PackageBuildError(f"pip could not install {' '.join(requirements)} for Lambda "
                                f"(python {LAMBDA_PYTHON}, {PLATFORMS[0]}):\n{result.stderr.strip()}")


def _compile(python, root: pathlib.Path) -> None:
    result = subprocess.run([python, "-I", "-c", _COMPILE, str(root)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise PackageBuildError(f"{python} could not compile the package:\n{(result.stdout + result.stderr).strip()}")


def _walk(root: pathlib.Path):
    for directory, dirnames, filenames in os.walk(root):
        # pip's console scripts (bin/) are useless in the function (pip wrote no bytecode: --no-compile).
        dirnames[:] = sorted(d for d in dirnames if not (d == "bin" and pathlib.Path(directory) == root))
        for filename in sorted(filenames):
            yield pathlib.Path(directory, filename)


def _write_zip(path, files: dict) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for arcname in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[arcname].read_bytes(), compresslevel=6)
