"""What a start does not do (docs/design.md, "Token service on Lambda"): with keys in SSM and
uploads on, nothing imports boto3 until the first upload, which makes the S3 client once."""
import json
import subprocess
import sys
import threading

import boto3
import pytest

from token_service.uploads import SigningUnavailable, Uploader
from tests.token_service.conftest import ROOT

BUCKET = "media-uploads"

START_THEN_UPLOAD = """
import json, sys
from token_service.app import create_app
app = create_app()
at_start = sorted(name for name in ("boto3", "botocore", "s3transfer") if name in sys.modules)
answer = app.state.uploader.presign("u42", "video/mp4", 10)
print(json.dumps({"at_start": at_start, "after_upload": "boto3" in sys.modules, "url": answer["url"]}))
"""


def test_a_start_with_keys_in_ssm_and_uploads_on_imports_no_boto3(moto_url, base_settings, signing_pems):
    boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_url, aws_access_key_id="testing",
                 aws_secret_access_key="testing").put_parameter(
        Name="/media/signing/lazy", Type="SecureString", Overwrite=True, Value=signing_pems["old"][0].read_text())
    settings = {**base_settings, "signing_key_ssm_parameter": "/media/signing/lazy", "ssm_endpoint_url": moto_url,
                "upload_bucket": BUCKET, "upload_bucket_region": "eu-west-1"}
    del settings["signing_key_file"]
    env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           **{f"TOKEN_SERVICE_{name.upper()}": str(value) for name, value in settings.items()}}
    result = subprocess.run([sys.executable, "-c", START_THEN_UPLOAD], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen == {"at_start": [], "after_upload": True,
                    "url": f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/"}


class CountingSession(boto3.session.Session):
    def __init__(self):
        super().__init__(aws_access_key_id="AKIDLAZY", aws_secret_access_key="secret")
        self.clients = 0

    def client(self, *args, **kwargs):
        self.clients += 1
        return super().client(*args, **kwargs)


def test_concurrent_first_uploads_make_one_s3_client():
    session = CountingSession()
    uploader = Uploader(BUCKET, "eu-west-1", session=session)
    assert session.clients == 0  # nothing made at start
    answers = []
    start = threading.Barrier(8)

    def upload():
        start.wait()
        answers.append(uploader.presign("u42", "video/mp4", 10))

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert session.clients == 1
    assert len({answer["path"] for answer in answers}) == 8
    assert all(answer["fields"]["x-amz-credential"].startswith("AKIDLAZY/") for answer in answers)


def test_a_broken_credential_source_met_at_the_first_upload_is_unavailable_not_a_crash(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    uploader = Uploader(BUCKET, "eu-west-1")  # a start that once would have failed here now succeeds
    with pytest.raises(SigningUnavailable, match="^could not sign the upload: ProfileNotFound$"):
        uploader.presign("u42", "video/mp4", 10)
    monkeypatch.delenv("AWS_PROFILE")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLATER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    # Nothing was kept from the failed attempt: once the source works, so do uploads.
    assert uploader.presign("u42", "video/mp4", 10)["fields"]["x-amz-credential"].startswith("AKIDLATER/")
