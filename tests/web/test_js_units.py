"""The pure JavaScript logic of web/ (origin and token checks, renewal and backoff schedule), run
with node's own test runner so `make test` runs it too. node comes with the machine image."""
import pathlib
import shutil
import subprocess

HERE = pathlib.Path(__file__).parent


def test_node_unit_tests_pass():
    node = shutil.which("node")
    assert node, "node is needed for web/'s unit tests (tests/web/js)"
    run = subprocess.run([node, "--test", str(HERE / "js")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
