"""The zip's bytecode: compiled for the target runtime, deterministic, and what a read-only /var/task imports."""
import json
import os
import pathlib
import stat
import subprocess
import sys
import zipfile

import pytest

from edge.package import PackageError, build_package, compile_bytecode, find_interpreter, runtime_modules
from tests.cf import bearer, viewer_request
from tests.edge.conftest import real_now

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAMBDA_RUNTIMES = {runtime: find_interpreter(runtime) for runtime in ("python3.12", "python3.13")}
ZIP_TARGET = 128 * 1024  # the edge zip budget (developers' guide): cold start grows with it


def needs(runtime):
    return pytest.mark.skipif(LAMBDA_RUNTIMES[runtime] is None, reason=f"no {runtime} on this machine")


def run_in(python, *args, cwd=None, path=None):
    """Run `python *args`, fresh, without this process's environment; its last stdout line as JSON."""
    env = {"PATH": "/usr/bin:/bin", **({"PYTHONPATH": str(path)} if path else {})}
    done = subprocess.run([python, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


PYC_FACTS = r"""
import importlib.util, json, sys, zipfile
archive = zipfile.ZipFile(sys.argv[1])
facts = {}
for name in archive.namelist():
    if name.endswith(".pyc"):
        pyc = archive.read(name)
        source = archive.read("edge/" + name.split("/")[-1].split(".")[0] + ".py")
        facts[name] = {"magic": pyc[:4] == importlib.util.MAGIC_NUMBER,
                       "flags": int.from_bytes(pyc[4:8], "little"),
                       "source_hash": pyc[8:16] == importlib.util.source_hash(source)}
print(json.dumps(facts))
"""


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_zip_carries_the_target_runtimes_bytecode_for_every_module(tmp_path, raw_config, runtime):
    if LAMBDA_RUNTIMES[runtime] is None:
        pytest.skip(f"no {runtime} on this machine")
    package = build_package(raw_config, tmp_path / "edge.zip", runtime=runtime)
    tag = "cpython-" + runtime.removeprefix("python").replace(".", "")
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    modules = [m.stem for m in runtime_modules()]
    assert [n for n in names if n.endswith(".pyc")] == [f"edge/__pycache__/{m}.{tag}.pyc" for m in modules]
    assert [n for n in names if n.endswith(".py")] == [f"edge/{m}.py" for m in modules]  # sources stay
    # Read by the target interpreter itself: its magic number, and an unchecked hash of the shipped source.
    facts = run_in(LAMBDA_RUNTIMES[runtime], "-c", PYC_FACTS, str(package))
    assert len(facts) == len(modules)
    for name, fact in facts.items():
        assert fact == {"magic": True, "flags": 0b01, "source_hash": True}, name  # 0b01: hash-based, unchecked
    assert package.stat().st_size <= ZIP_TARGET


def test_default_runtime_is_the_one_the_pulumi_program_deploys():
    from edge.package import DEFAULT_RUNTIME
    from infra.edge_function import RUNTIME
    assert DEFAULT_RUNTIME == RUNTIME


def test_two_builds_are_byte_identical_whatever_the_builders_environment(tmp_path, raw_config):
    (tmp_path / "config.json").write_text(json.dumps(raw_config))
    zips = []
    for extra in ({}, {"PYTHONHASHSEED": "1", "PYTHONOPTIMIZE": "2", "PYTHONDONTWRITEBYTECODE": "1"}):
        out = tmp_path / f"edge-{len(zips)}.zip"
        subprocess.run([sys.executable, "-m", "edge.package", "config.json", out.name], cwd=tmp_path, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT), **extra}, capture_output=True)
        zips.append(out.read_bytes())
    assert zips[0] == zips[1]


def test_without_the_target_interpreter_it_says_so_and_ships_source(tmp_path, raw_config):
    (tmp_path / "config.json").write_text(json.dumps(raw_config))
    (tmp_path / "empty").mkdir()
    env = {"PATH": str(tmp_path / "empty"), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "empty"),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "edge.package", "config.json", "edge.zip"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("edge.package: no python3.13 on this machine") and "source only" in line
    assert "without python3.13 bytecode" in done.stdout
    with zipfile.ZipFile(tmp_path / "edge.zip") as archive:
        assert not [n for n in archive.namelist() if "__pycache__" in n]


@needs("python3.13")
def test_source_the_target_cannot_compile_is_an_error_not_a_silent_fallback():
    with pytest.raises(PackageError) as error:
        compile_bytecode(LAMBDA_RUNTIMES["python3.13"], {"fine": b"x = 1\n", "broken": b"def (:\n"})
    assert "could not compile the edge modules:" in str(error.value)
    assert 'File "edge/broken.py", line 1' in str(error.value) and "SyntaxError" in str(error.value)
    assert "Traceback" not in str(error.value)


def test_unknown_runtime_is_refused(tmp_path, raw_config):
    with pytest.raises(ValueError, match="runtime: must be one of python3.11, python3.12, python3.13"):
        build_package(raw_config, tmp_path / "edge.zip", runtime="python2.7")
    assert list(tmp_path.iterdir()) == []


# Counts the edge modules the import system compiles from source (SourceLoader.source_to_code is
# where a module without usable bytecode is compiled), then serves one request.
COLD_START = r"""
import importlib._bootstrap_external as external, json, sys
compiled = []
to_code = external.SourceLoader.source_to_code
def spy(self, data, path, *args, **kwargs):
    compiled.append(path.rpartition("/edge/")[2])
    return to_code(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = spy
import edge.handler
result = edge.handler.handler(json.loads(sys.argv[1]), None)
edge_modules = sorted(m for m in sys.modules if m.startswith("edge"))
print(json.dumps({"compiled": sorted(c for c in compiled if c), "modules": edge_modules,
                  "from": sorted({m.__file__.rpartition("/edge/")[0] for n, m in sys.modules.items()
                                  if n.startswith("edge") and getattr(m, "__file__", None)}),
                  "status": result.get("status", "forward")}))
"""


def extract_read_only(package, task):
    with zipfile.ZipFile(package) as archive:
        archive.extractall(task)
    for path in sorted(task.rglob("*"), reverse=True) + [task]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(task):
    for path in [task, *task.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def source_files(modules):
    """["edge", "edge.keys"] -> ["__init__.py", "keys.py"]"""
    return sorted(f"{m.removeprefix('edge').removeprefix('.') or '__init__'}.py" for m in modules)


def files_in(task):
    return sorted(str(p.relative_to(task)) for p in task.rglob("*"))


@pytest.fixture
def cold_start(tmp_path, tokens):
    """cold_start(task, python) runs a first request in a fresh `python` from `task`, as Lambda does."""
    now = real_now()
    event = json.dumps(viewer_request(headers=bearer(tokens.make(iat=now, nbf=now, exp=now + 300))))

    def run(task, python):
        # -B as well as no write permission: this suite may run as root, which chmod does not stop.
        return run_in(python, "-B", "-c", COLD_START, event, cwd=task, path=task)
    return run


@needs("python3.13")
def test_read_only_task_dir_imports_the_shipped_bytecode(tmp_path, raw_config, cold_start):
    python = LAMBDA_RUNTIMES["python3.13"]
    package = build_package(raw_config, tmp_path / "edge.zip")
    task = tmp_path / "task"
    extract_read_only(package, task)
    before = files_in(task)
    try:
        ran = cold_start(task, python)
        assert ran["status"] == "forward"
        assert ran["from"] == [str(task)]  # the package's modules, not this source tree
        assert ran["compiled"] == []  # nothing compiled: every module came from its .pyc
        assert len(source_files(ran["modules"])) > 5
        assert files_in(task) == before  # and nothing was written

        # The same task without the bytecode: now every imported module is compiled at cold start,
        # which is what the spy above would have seen had the shipped .pyc not been used.
        make_writable(task)
        for pyc in (task / "edge/__pycache__").iterdir():
            pyc.unlink()
        ran = cold_start(task, python)
        assert ran["status"] == "forward"
        assert ran["compiled"] == source_files(ran["modules"])
    finally:
        make_writable(task)


@needs("python3.13")
def test_the_source_is_not_even_read_when_bytecode_is_shipped(tmp_path, raw_config, cold_start):
    # Unchecked-hash pycs are used as they are: the .py files could be anything. (A timestamp or
    # checked-hash pyc would be recompiled from these and fail.)
    package = build_package(raw_config, tmp_path / "edge.zip")
    task = tmp_path / "task"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(task)
    for module in (task / "edge").glob("*.py"):
        module.write_text("raise SystemExit('compiled from source')\n")
    assert cold_start(task, LAMBDA_RUNTIMES["python3.13"])["status"] == "forward"
