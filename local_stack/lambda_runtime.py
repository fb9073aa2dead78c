"""Loads a Lambda deployment zip the way the Lambda runtime does, to run its handler here.

The runtime unzips the package into its task directory, puts that first on the import path and
imports the module named by the handler string. Doing the same means the stand-in runs exactly
the bytes `pulumi up` would publish, not the source tree next to it.
"""
import importlib
import pathlib
import sys
import time
import uuid
import zipfile


class PackageError(RuntimeError):
    pass


def load_handler(zip_path, task_dir, handler_string="edge.handler.handler"):
    """Unzip `zip_path` into the empty `task_dir` and return the handler function it names."""
    task_dir = pathlib.Path(task_dir).resolve()
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(task_dir)
    module_name, _, function_name = handler_string.rpartition(".")
    top_level = module_name.split(".")[0]
    if top_level in sys.modules:
        raise PackageError(f"'{top_level}' is already imported in this process; the package must be loaded fresh")
    sys.path.insert(0, str(task_dir))
    module = importlib.import_module(module_name)
    origin = pathlib.Path(module.__file__).resolve()
    if not origin.is_relative_to(task_dir):
        raise PackageError(f"{module_name} was imported from {origin}, not from the package")
    return getattr(module, function_name)


class LambdaContext:
    """The parts of the Lambda context object a handler may read; one per invocation."""

    def __init__(self, function_name, timeout_seconds=5):
        self._deadline = time.monotonic() + timeout_seconds
        self.function_name = function_name
        self.function_version = "1"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}:1"
        self.memory_limit_in_mb = "128"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/us-east-1.{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))
