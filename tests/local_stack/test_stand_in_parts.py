"""Pieces of the CloudFront stand-in on their own: loading a Lambda zip, and CloudFront's result checks."""
import zipfile

import pytest

from local_stack.cdn import LambdaValidationError, check_result, viewer_request_event
from local_stack.lambda_runtime import PackageError, load_handler


def make_zip(path, package, body):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{package}/__init__.py", "")
        archive.writestr(f"{package}/handler.py", body)
    return path


def test_handler_is_imported_from_the_unzipped_package(tmp_path):
    package = "zipprobe_a"
    zip_path = make_zip(tmp_path / "fn.zip", package, "def handler(event, context):\n    return {'from': __file__}\n")
    handler = load_handler(zip_path, tmp_path / "task", f"{package}.handler.handler")
    assert handler({}, None)["from"] == str(tmp_path / "task" / package / "handler.py")


def test_a_package_already_imported_is_refused(tmp_path):
    package = "zipprobe_b"
    load_handler(make_zip(tmp_path / "one.zip", package, "def handler(e, c):\n    return 1\n"), tmp_path / "t1",
                 f"{package}.handler.handler")
    with pytest.raises(PackageError, match="already imported"):
        load_handler(make_zip(tmp_path / "two.zip", package, "def handler(e, c):\n    return 2\n"), tmp_path / "t2",
                     f"{package}.handler.handler")


def sent(event):
    headers = event["Records"][0]["cf"]["request"]["headers"]
    return {name: headers.get(name) for name in ("content-length", "host", "transfer-encoding", "via")}


def test_results_cloudfront_would_refuse():
    event = viewer_request_event("GET", "/a", "", [("Host", "cdn.local"), ("Range", "bytes=0-1")], "127.0.0.1", "cdn")
    request = event["Records"][0]["cf"]["request"]
    assert request["headers"]["host"] == [{"key": "Host", "value": "cdn.local"}]
    check_result(sent(event), request)  # the request as it came: fine
    check_result(sent(event), {"status": "401", "headers": {}, "body": "x" * 1000})
    with pytest.raises(LambdaValidationError, match="40 KB"):
        check_result(sent(event), {"status": "401", "headers": {}, "body": "x" * 41_000})
    with pytest.raises(LambdaValidationError, match="status"):
        check_result(sent(event), {"status": "two hundred"})
    changed = {**request, "headers": {**request["headers"], "host": [{"key": "Host", "value": "evil"}]}}
    with pytest.raises(LambdaValidationError, match="host"):
        check_result(sent(event), changed)
    with pytest.raises(LambdaValidationError):
        check_result(sent(event), None)
