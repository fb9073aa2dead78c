"""Reading the signing keys from SSM without boto3 (token_service/ssm.py): the SigV4 signature
against botocore's signer and against a moto server that verifies signatures and IAM policies,
and every way the call can fail."""
import contextlib
import datetime
import http.server
import json
import threading
import time

import boto3
import botocore.auth
import httpx
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from token_service import keyring, ssm
from token_service.app import create_app
from token_service.settings import Settings, SettingsError
from tests.servers import free_port

NOW = datetime.datetime(2025, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)
PARAMETER = "/media/signing/ssm-signing-test"


@pytest.mark.parametrize("session_token", [None, "FwoGZXIvYXdzEXAMPLE/session+token="])
@pytest.mark.parametrize("url", ["https://ssm.us-east-1.amazonaws.com/", "http://127.0.0.1:4566/"])
def test_signature_is_the_one_botocore_makes(monkeypatch, session_token, url):
    credentials = ssm.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", session_token)
    headers, body = ssm.signed_request("/a/b c", "us-east-1", credentials, url, NOW)
    request = AWSRequest("POST", url, data=body,
                         headers={name: value for name, value in headers.items() if name != "authorization"})
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))
    botocore.auth.SigV4Auth(BotoCredentials(*dataclass_values(credentials)), "ssm", "us-east-1").add_auth(request)
    assert headers["authorization"] == request.headers["Authorization"]
    assert json.loads(body) == {"Name": "/a/b c", "WithDecryption": True}
    assert headers.get("x-amz-security-token") == session_token


def dataclass_values(credentials):
    return credentials.access_key_id, credentials.secret_access_key, credentials.session_token


def test_credentials_never_show_in_repr():
    assert "secret" not in repr(ssm.Credentials("AKID", "secret", "token"))


@pytest.mark.parametrize("environ, expected", [
    ({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}, ("AKID", "s", "t")),
    ({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"}, ("AKID", "s", None)),
    ({"AWS_ACCESS_KEY_ID": "AKID"}, None),
    ({"AWS_SECRET_ACCESS_KEY": "s", "AWS_PROFILE": "dev"}, None),
    ({}, None),
])
def test_environment_credentials(environ, expected):
    found = ssm.environment_credentials(environ)
    assert (dataclass_values(found) if found else None) == expected


# Against a moto server that checks signatures and IAM policies

@pytest.fixture(scope="module")
def iam_users(moto_url, signing_pems):
    """A reader allowed ssm:GetParameter and a user with no SSM right, in moto."""
    admin = {"region_name": "us-east-1", "endpoint_url": moto_url,
             "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    boto3.client("ssm", **admin).put_parameter(Name=PARAMETER, Type="SecureString", Overwrite=True,
                                               Value=signing_pems["old"][0].read_text())
    iam = boto3.client("iam", **admin)
    users = {}
    for name, actions in (("ssm-signing-reader", ["ssm:GetParameter"]), ("ssm-signing-nobody", ["s3:GetObject"])):
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        users[name] = ssm.Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    return users


@pytest.fixture
def iam_moto(moto_url, iam_users):
    """moto checking every signature and IAM policy (switched on over moto's own API) during the test."""
    httpx.post(f"{moto_url}/moto-api/reset-auth", content=b"0").raise_for_status()
    try:
        yield moto_url, iam_users
    finally:
        httpx.post(f"{moto_url}/moto-api/reset-auth", content=b"inf").raise_for_status()


def test_moto_verifying_signatures_accepts_ours(iam_moto, signing_pems):
    url, users = iam_moto
    parameter = ssm.get_parameter(PARAMETER, "us-east-1", users["ssm-signing-reader"], url)
    assert parameter["Type"] == "SecureString"
    assert parameter["Value"] == signing_pems["old"][0].read_text()


def test_a_wrong_secret_or_a_missing_right_is_the_aws_error_code(iam_moto):
    url, users = iam_moto
    reader = users["ssm-signing-reader"]
    with pytest.raises(ssm.SsmError, match="^SignatureDoesNotMatch$"):
        ssm.get_parameter(PARAMETER, "us-east-1", ssm.Credentials(reader.access_key_id, "wrong"), url)
    with pytest.raises(ssm.SsmError, match="^AccessDenied"):
        ssm.get_parameter(PARAMETER, "us-east-1", users["ssm-signing-nobody"], url)


def test_the_service_starts_with_keys_read_by_a_role_that_may_read_them(iam_moto, base_settings, signing_pems,
                                                                        monkeypatch):
    url, users = iam_moto
    reader = users["ssm-signing-reader"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", reader.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", reader.secret_access_key)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    settings = {**base_settings, "signing_key_ssm_parameter": PARAMETER, "ssm_endpoint_url": url}
    del settings["signing_key_file"]
    app = create_app(Settings.from_env({f"TOKEN_SERVICE_{k.upper()}": str(v) for k, v in settings.items()}))
    assert app.state.keyring.active.kid == signing_pems["old"][1]


# Which path reads the keys

@pytest.fixture
def ssm_env(moto_url, base_settings, signing_pems):
    boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_url, aws_access_key_id="testing",
                 aws_secret_access_key="testing").put_parameter(
        Name=PARAMETER, Type="SecureString", Overwrite=True, Value=signing_pems["old"][0].read_text())
    settings = {**base_settings, "signing_key_ssm_parameter": PARAMETER, "ssm_endpoint_url": moto_url}
    del settings["signing_key_file"]
    return {f"TOKEN_SERVICE_{k.upper()}": str(v) for k, v in settings.items()}


def test_credentials_in_the_environment_are_used_without_boto3(ssm_env, signing_pems, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")

    def no_boto3(*args, **kwargs):
        raise AssertionError("boto3 used")

    monkeypatch.setattr(boto3, "client", no_boto3)
    assert create_app(Settings.from_env(ssm_env)).state.keyring.active.kid == signing_pems["old"][1]


def test_other_credential_sources_go_through_boto3(ssm_env, signing_pems, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))

    def not_here(*args, **kwargs):
        raise AssertionError("signed without the environment's credentials")

    monkeypatch.setattr(ssm, "get_parameter", not_here)
    assert create_app(Settings.from_env(ssm_env)).state.keyring.active.kid == signing_pems["old"][1]


def test_unreachable_ssm_through_boto3_names_the_parameter(ssm_env, monkeypatch, tmp_path):
    """The same fault on the signed-here path is in test_ssm_keys.py."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "credentials").write_text("[default]\naws_access_key_id = t\naws_secret_access_key = t\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    env = {**ssm_env, "TOKEN_SERVICE_SSM_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    with pytest.raises(SettingsError, match=f"TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER {PARAMETER}: "
                                            "Could not connect to the endpoint URL"):
        create_app(Settings.from_env(env))


# Failures, from a stand-in SSM that answers what each test tells it to

@contextlib.contextmanager
def stand_in_ssm(answers):
    """Serves `answers` ((status, body bytes), "hang", or ("stall", status): a body that stops
    half-way for 1 s) in turn, then the last one again; yields (url, requests seen)."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            answer = answers[min(len(seen), len(answers)) - 1]
            if answer == "hang":
                time.sleep(3)
                return
            status, body = answer
            stall = status == "stall"
            if stall:
                status, body = body, b'{"__type": "Throttl'
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body) * (2 if stall else 1)))
            self.end_headers()
            self.wfile.write(body)
            if stall:
                self.wfile.flush()
                time.sleep(1)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


GOOD = (200, json.dumps({"Parameter": {"Name": PARAMETER, "Type": "SecureString", "Value": "pem"}}).encode())
CREDENTIALS = ssm.Credentials("AKIDEXAMPLE", "secret", "session")


def error(status, code):
    return status, json.dumps({"__type": code, "message": "details"}).encode()


@pytest.mark.parametrize("first", [error(400, "ThrottlingException"), error(500, "InternalServerError"),
                                   error(503, "com.amazonaws.ssm#ServiceUnavailable"), (502, b"<html>gateway</html>")])
def test_throttling_and_server_errors_are_retried(first):
    with stand_in_ssm([first, first, GOOD]) as (url, seen):
        assert ssm.get_parameter(PARAMETER, "us-east-1", CREDENTIALS, url)["Value"] == "pem"
    assert len(seen) == 3
    # Each attempt is signed afresh, and sends what the signature covers.
    headers, body = seen[-1]
    assert headers["X-Amz-Target"] == "AmazonSSM.GetParameter" and headers["X-Amz-Security-Token"] == "session"
    assert json.loads(body) == {"Name": PARAMETER, "WithDecryption": True}


def test_retries_stop_after_three_attempts_with_the_last_error():
    with stand_in_ssm([error(400, "ThrottlingException")]) as (url, seen):
        with pytest.raises(ssm.SsmError, match="^ThrottlingException$"):
            ssm.get_parameter(PARAMETER, "us-east-1", CREDENTIALS, url)
    assert len(seen) == ssm.ATTEMPTS == 3


@pytest.mark.parametrize("answer, message", [
    (error(400, "ParameterNotFound"), "^ParameterNotFound$"),
    (error(400, "AccessDeniedException"), "^AccessDeniedException$"),
    (error(403, "com.amazon.coral.service#UnrecognizedClientException"), "^UnrecognizedClientException$"),
    (error(400, "Not a code <script>"), "^HTTP 400$"),  # the answer's text is not echoed
    ((400, b"not json"), "^HTTP 400$"),
    ((200, b"not json"), "^the answer is not a GetParameter result$"),
    ((200, b'{"Parameter": {"Type": "SecureString"}}'), "^the answer is not a GetParameter result$"),
    ((200, b'{"Parameter": "x"}'), "^the answer is not a GetParameter result$"),
    ((200, b"[" * 100_000), "^the answer is not a GetParameter result$"),  # over the size limit: not parsed
])
def test_refusals_and_bad_answers_are_one_clear_error_and_not_retried(answer, message):
    with stand_in_ssm([answer, GOOD]) as (url, seen):
        with pytest.raises(ssm.SsmError, match=message):
            ssm.get_parameter(PARAMETER, "us-east-1", CREDENTIALS, url)
    assert len(seen) == 1


def test_an_error_answer_that_stalls_mid_body_is_an_ssm_error(monkeypatch):
    """The read of the error's body times out: still SsmError (start-up names the parameter),
    not a raw TimeoutError."""
    monkeypatch.setattr(ssm, "TIMEOUT_SECONDS", 0.3)
    with stand_in_ssm([("stall", 400)]) as (url, seen):
        with pytest.raises(ssm.SsmError, match="^HTTP 400$"):
            ssm.get_parameter(PARAMETER, "us-east-1", CREDENTIALS, url)
    assert len(seen) == 1


def test_a_silent_endpoint_times_out_and_is_retried(monkeypatch):
    monkeypatch.setattr(ssm, "TIMEOUT_SECONDS", 0.3)
    with stand_in_ssm(["hang", GOOD]) as (url, seen):
        started = time.monotonic()
        assert ssm.get_parameter(PARAMETER, "us-east-1", CREDENTIALS, url)["Value"] == "pem"
    assert len(seen) == 2 and time.monotonic() - started < 2.5  # not the 3 s hang


def test_a_plain_string_parameter_is_refused_by_name(monkeypatch):
    plain = (200, json.dumps({"Parameter": {"Name": PARAMETER, "Type": "String", "Value": "pem"}}).encode())
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with stand_in_ssm([plain]) as (url, _):
        settings = Settings(issuer="i", audience="a", idp_issuer="i", idp_audience="a", idp_public_key_file="x",
                            signing_key_ssm_parameter=(PARAMETER,), ssm_endpoint_url=url)
        with pytest.raises(keyring.KeyLoadError, match=f"{PARAMETER}: must be a SecureString"):
            keyring.load_keyring(settings)


def test_the_real_endpoint_is_regional_https():
    assert ssm.endpoint("eu-west-1") == "https://ssm.eu-west-1.amazonaws.com/"
