"""The media processor deployment: its function, trigger, role, failure queue, webhook secret and package."""
import importlib.metadata
import importlib.util
import json
import pathlib
import subprocess
import zipfile

import pytest

from edge.package import find_interpreter
from infra import lambda_package
from infra.config import ConfigError, key_prefix
from infra.media_processor import build_media_processor_package
from media_processor.settings import Settings as ProcessorSettings
from tests.infra.harness import ACCOUNT, REPO, STACK_REGION, is_secret, plain, run_program

FUNCTION_NAME = "edge-private-media-test-media-processor"
WEBHOOK_URL = "https://app.example.com/hooks/media"
SECRET_PARAMETER = "/edge-private-media/test/webhook-secret"
PYTHON_3_13 = find_interpreter("python3.13")
MiB = 2**20


@pytest.fixture(scope="module")
def processing():
    """Token service on (uploads and processing on by default), with a webhook."""
    return run_program({"tokenService": True, "webhookUrl": WEBHOOK_URL})


@pytest.fixture(scope="module")
def function(processing):
    return processing.one("aws:lambda/function:Function", "media-processor")


def _grants(deployment, policy_name):
    """Every (effect, action, resource, condition) the named role policy grants, one per pair."""
    statements = json.loads(deployment.one("aws:iam/rolePolicy:RolePolicy", policy_name).inputs["policy"])["Statement"]
    grants = set()
    for s in statements:
        assert "NotAction" not in s and "NotResource" not in s and "Principal" not in s
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        condition = json.dumps(s.get("Condition"), sort_keys=True) if "Condition" in s else None
        grants |= {(s["Effect"], a, r, condition) for a in actions for r in resources}
    return grants


def test_function_runtime_architecture_and_sizes(processing, function):
    inputs = function.inputs
    assert inputs["name"] == FUNCTION_NAME
    assert inputs["runtime"] == "python3.13"
    assert inputs["architectures"] == ["x86_64"]
    assert inputs["handler"] == "media_processor.handler.handle"
    assert inputs["memorySize"] == 3008
    assert inputs["timeout"] == 900
    assert inputs["reservedConcurrentExecutions"] == 4
    assert inputs["role"] == processing.one("aws:iam/role:Role", "media-processor-role").outputs["arn"]
    # /tmp holds the largest upload (200 MiB) and its largest output: the upload's size when
    # remuxed, 10 minutes at 20 Mbit/s (1.5 GB) when transcoded; plus 512 MiB.
    upload, output = 209715200, 600 * 20_000_000 // 8
    assert inputs["ephemeralStorage"] == {"size": -(-(upload + output) // MiB) + 512}
    assert inputs["ephemeralStorage"]["size"] >= 2 * upload // MiB + 512


def test_environment_is_accepted_by_the_processor_and_matches_the_token_service(processing, function):
    env = function.inputs["environment"]["variables"]
    settings = ProcessorSettings.from_env(env)
    assert settings.region == STACK_REGION  # the bucket's
    assert (settings.incoming_prefix, settings.published_prefix, settings.asset_status_prefix) == (
        "/incoming/{sub}/", "/videos/{sub}/", "/assets/{sub}/")
    assert settings.max_input_bytes == 209715200
    assert settings.max_duration_seconds == 600
    assert (settings.max_input_long_side, settings.max_input_short_side) == (3840, 2160)
    assert settings.max_frame_rate == 60 and settings.max_output_short_side == 1080
    assert settings.webhook_url == WEBHOOK_URL
    assert settings.webhook_secret_ssm_parameter == SECRET_PARAMETER
    assert not settings.s3_endpoint_url and not settings.ssm_endpoint_url  # the local stack's moto only

    token_env = processing.one("aws:lambda/function:Function", "token-service").inputs["environment"]["variables"]
    assert token_env["TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX"] == settings.incoming_prefix
    assert token_env["TOKEN_SERVICE_UPLOAD_PREFIX"] == settings.published_prefix
    assert token_env["TOKEN_SERVICE_ASSET_STATUS_PREFIX"] == settings.asset_status_prefix


def test_stack_config_reaches_the_processor():
    deployment = run_program({
        "tokenService": True, "mediaMaxDurationSeconds": 120, "mediaMaxInputLongSide": 1920,
        "mediaMaxInputShortSide": 1080, "mediaMaxFrameRate": 30, "mediaMaxOutputShortSide": 720,
        "mediaProcessorMemoryMb": 4096, "mediaProcessorTimeoutSeconds": 300, "mediaProcessorReservedConcurrency": 2,
        "uploadMaxBytes": 2 * 1024**3})
    inputs = deployment.one("aws:lambda/function:Function", "media-processor").inputs
    assert (inputs["memorySize"], inputs["timeout"], inputs["reservedConcurrentExecutions"]) == (4096, 300, 2)
    assert inputs["ephemeralStorage"] == {"size": 2 * 2048 + 512}  # a remuxed 2 GiB upload: in and out
    settings = ProcessorSettings.from_env(inputs["environment"]["variables"])
    assert settings.max_duration_seconds == 120 and settings.max_input_bytes == 2 * 1024**3
    assert (settings.max_input_long_side, settings.max_input_short_side) == (1920, 1080)
    assert (settings.max_frame_rate, settings.max_output_short_side) == (30, 720)
    assert settings.webhook_url is None
    assert "webhookSecretParameterName" not in deployment.exports


def test_s3_invokes_it_for_each_object_created_under_the_incoming_prefix(processing, function):
    bucket = processing.one("aws:s3/bucket:Bucket")
    notification = processing.one("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["bucket"] == "media-id"
    assert notification.inputs["lambdaFunctions"] == [{
        "lambdaFunctionArn": function.outputs["arn"], "events": ["s3:ObjectCreated:*"], "filterPrefix": "incoming/"}]
    assert not notification.inputs.get("queues") and not notification.inputs.get("topics")
    # Where the token service signs uploads is inside the filter.
    token_env = processing.one("aws:lambda/function:Function", "token-service").inputs["environment"]["variables"]
    assert key_prefix(token_env["TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX"]) == "incoming/"

    permission = processing.one("aws:lambda/permission:Permission", "media-processor-s3-invoke")
    assert permission.inputs == {"function": FUNCTION_NAME, "action": "lambda:InvokeFunction",
                                 "principal": "s3.amazonaws.com", "sourceArn": bucket.outputs["arn"],
                                 "sourceAccount": ACCOUNT}
    # The function is in the bucket's Region (S3 notifications reach only functions there).
    assert "region" not in function.inputs and bucket.outputs["bucketRegion"] == STACK_REGION


def test_role_has_exactly_its_permissions(processing):
    role = processing.one("aws:iam/role:Role", "media-processor-role")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": ["lambda.amazonaws.com"]} and trust["Action"] == "sts:AssumeRole"
    assert "managedPolicyArns" not in role.inputs

    bucket = processing.one("aws:s3/bucket:Bucket").outputs["arn"]
    queue = processing.one("aws:sqs/queue:Queue").outputs["arn"]
    log_group = processing.one("aws:cloudwatch/logGroup:LogGroup", "media-processor-logs").outputs["arn"]
    parameter = f"arn:aws:ssm:{STACK_REGION}:{ACCOUNT}:parameter{SECRET_PARAMETER}"
    decrypt_condition = json.dumps({"StringEquals": {
        "kms:ViaService": f"ssm.{STACK_REGION}.amazonaws.com",
        "kms:EncryptionContext:PARAMETER_ARN": [parameter]}}, sort_keys=True)
    assert _grants(processing, "media-processor-policy") == {
        ("Allow", "s3:GetObject", f"{bucket}/incoming/*", None),
        ("Allow", "s3:DeleteObject", f"{bucket}/incoming/*", None),
        ("Allow", "s3:PutObject", f"{bucket}/videos/*", None),
        ("Allow", "s3:DeleteObject", f"{bucket}/videos/*", None),
        ("Allow", "s3:PutObject", f"{bucket}/assets/*", None),
        ("Allow", "s3:DeleteObject", f"{bucket}/assets/*", None),
        ("Allow", "sqs:SendMessage", queue, None),
        ("Allow", "ssm:GetParameter", parameter, None),
        ("Allow", "kms:Decrypt", f"arn:aws:kms:{STACK_REGION}:{ACCOUNT}:key/*", decrypt_condition),
        ("Allow", "logs:CreateLogGroup", log_group, None),
        ("Allow", "logs:CreateLogGroup", log_group + ":*", None),
        ("Allow", "logs:CreateLogStream", log_group, None),
        ("Allow", "logs:CreateLogStream", log_group + ":*", None),
        ("Allow", "logs:PutLogEvents", log_group, None),
        ("Allow", "logs:PutLogEvents", log_group + ":*", None),
    }


def test_without_a_webhook_no_secret_and_no_ssm_right(header_deployment):
    assert not header_deployment.of_type("random:index/randomPassword:RandomPassword")
    assert not [p for p in header_deployment.of_type("aws:ssm/parameter:Parameter") if "webhook" in p.inputs["name"]]
    actions = {grant[1] for grant in _grants(header_deployment, "media-processor-policy")}
    assert not {a for a in actions if a.startswith(("ssm:", "kms:"))}
    env = header_deployment.one("aws:lambda/function:Function", "media-processor").inputs["environment"]["variables"]
    assert not [name for name in env if "WEBHOOK" in name]


def test_webhook_secret_is_generated_kept_secret_and_exported(processing):
    password = processing.one("random:index/randomPassword:RandomPassword")
    assert password.inputs["length"] == 64 and password.inputs["special"] is False
    parameter = processing.parameter(SECRET_PARAMETER)
    assert parameter.inputs["type"] == "SecureString"
    assert is_secret(parameter.inputs["value"]) and plain(parameter.inputs["value"]) == password.outputs["result"]
    assert "region" not in parameter.inputs  # the stack's Region, where the processor reads it
    assert processing.exports["webhookSecretParameterName"] == SECRET_PARAMETER


def test_failed_invocations_go_to_a_queue_without_retries(processing, function):
    queue = processing.one("aws:sqs/queue:Queue")
    assert queue.inputs["name"] == f"{FUNCTION_NAME}-failures"
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert queue.inputs["messageRetentionSeconds"] == 14 * 86400
    config = processing.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert config.inputs == {
        "functionName": FUNCTION_NAME, "maximumRetryAttempts": 0, "maximumEventAgeInSeconds": 21600,
        "destinationConfig": {"onFailure": {"destination": queue.outputs["arn"]}}}
    assert processing.exports["mediaProcessorFailureQueueUrl"] == queue.outputs["url"]
    assert processing.exports["mediaProcessorFunctionName"] == FUNCTION_NAME


def test_log_group_keeps_the_configured_retention():
    deployment = run_program({"tokenService": True, "edgeLogRetentionDays": 7})
    group = deployment.one("aws:cloudwatch/logGroup:LogGroup", "media-processor-logs")
    assert group.inputs["retentionInDays"] == 7
    # Suffixed (a group Lambda made itself under the plain name cannot make `up` fail), and the function's.
    assert group.inputs["name"] == f"/aws/lambda/{FUNCTION_NAME}-5eed0123"
    function = deployment.one("aws:lambda/function:Function", "media-processor")
    assert function.inputs["loggingConfig"] == {"logFormat": "Text", "logGroup": group.inputs["name"]}


def test_token_service_role_gets_exactly_the_asset_rights(processing):
    bucket = processing.one("aws:s3/bucket:Bucket").outputs["arn"]
    s3 = {g for g in _grants(processing, "token-service-policy") if g[1].startswith("s3:")}
    assert s3 == {
        ("Allow", "s3:PutObject", f"{bucket}/incoming/*", None),  # the presigned POST
        ("Allow", "s3:GetObject", f"{bucket}/assets/*", None),  # GET /uploads/{id}, GET /videos
        # Whether a record or a waiting upload exists; a member's records (GET /videos).
        ("Allow", "s3:ListBucket", bucket, json.dumps({"StringLike": {"s3:prefix": ["assets/*", "incoming/*"]}})),
        ("Allow", "s3:DeleteObject", f"{bucket}/videos/*", None),  # DELETE /videos/{id}
        ("Allow", "s3:DeleteObject", f"{bucket}/assets/*", None),
    }


def test_without_uploads_none_of_it_is_deployed():
    """Every upload is processed (there is no unprocessed upload path): the processor exists exactly
    when uploads do."""
    for overrides in ({"tokenService": True, "uploadsEnabled": False}, {}):
        deployment = run_program(overrides)
        assert not [r for r in deployment.resources if r.name.startswith("media-processor")], overrides
        assert not deployment.of_type("aws:s3/bucketNotification:BucketNotification")
        assert not {"mediaProcessorFunctionName", "mediaProcessorFailureQueueUrl"} & set(deployment.exports)
    env = run_program({"tokenService": True}).one("aws:lambda/function:Function", "token-service").inputs[
        "environment"]["variables"]
    assert (env["TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX"], env["TOKEN_SERVICE_ASSET_STATUS_PREFIX"],
            env["TOKEN_SERVICE_UPLOAD_PREFIX"]) == ("/incoming/{sub}/", "/assets/{sub}/", "/videos/{sub}/")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"mediaProcessorMemoryMb": 64}, "config mediaProcessorMemoryMb: 128..10240, got 64"),
    ({"mediaProcessorTimeoutSeconds": 901}, "config mediaProcessorTimeoutSeconds: 1..900, got 901"),
    ({"mediaProcessorReservedConcurrency": 0}, "config mediaProcessorReservedConcurrency: at least 1"),
    ({"mediaMaxDurationSeconds": 0}, "config mediaMaxDurationSeconds: at least 1, got 0"),
    ({"uploadMaxBytes": 5 * 1024**3}, "config uploadMaxBytes: the media processor keeps an upload and its output"),
    ({"webhookUrl": "http://app.example.com/hooks"}, "config webhookUrl: must be an https:// URL"),
    ({"webhookUrl": "https://user:pw@app.example.com/"}, "config webhookUrl: must be an https:// URL"),
    ({"webhookUrl": "https://["}, "config webhookUrl: must be an https:// URL"),
    ({"webhookUrl": WEBHOOK_URL, "uploadsEnabled": False}, "config webhookUrl: the media processor sends it"),
    ({"mediaMaxInputShortSide": 4000}, "media processor settings: MEDIA_PROCESSOR_MAX_INPUT_SHORT_SIDE: must not "
                                       "exceed MEDIA_PROCESSOR_MAX_INPUT_LONG_SIDE"),
    ({"mediaMaxFrameRate": 5000}, "media processor settings: MEDIA_PROCESSOR_MAX_FRAME_RATE: must be 1..1000"),
])
def test_bad_processing_settings_stop_the_program_naming_the_setting(overrides, message):
    with pytest.raises(ConfigError) as caught:
        run_program({"tokenService": True, **overrides})
    assert str(caught.value).startswith(message)
    if overrides.get("webhookUrl"):
        assert overrides["webhookUrl"] not in str(caught.value)  # receivers often carry a secret in it


def test_a_webhook_without_the_token_service_is_refused():
    with pytest.raises(ConfigError, match="config webhookUrl: the media processor sends it"):
        run_program({"webhookUrl": WEBHOOK_URL})


def test_incoming_objects_expire_after_a_day(processing):
    lifecycle = processing.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}
    assert rules["expire-incoming"] == {
        "id": "expire-incoming", "status": "Enabled", "filter": {"prefix": "incoming/"},
        "expiration": {"days": 1}, "noncurrentVersionExpiration": {"noncurrentDays": 1}}


def test_bucket_policy_refuses_the_unserved_prefixes_to_the_distribution(processing):
    bucket = processing.one("aws:s3/bucket:Bucket").outputs["arn"]
    statements = json.loads(processing.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]
    [deny] = [s for s in statements if s["Sid"] == "DenyCloudFrontUnservedPrefixes"]
    assert deny == {"Sid": "DenyCloudFrontUnservedPrefixes", "Effect": "Deny",
                    "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                    "Resource": [f"{bucket}/incoming/*", f"{bucket}/assets/*"]}


def test_edge_refuses_the_same_prefixes_whatever_the_token(processing):
    archive = processing.one("aws:lambda/function:Function", "viewer-auth").inputs["code"]
    with zipfile.ZipFile(archive.path) as package:
        config = json.loads(package.read("edge/config.json"))
    assert config["refused_prefixes"] == ["/incoming/", "/assets/"]
    bucket = processing.one("aws:s3/bucket:Bucket").outputs["arn"]
    statements = json.loads(processing.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]
    [deny] = [s for s in statements if s["Sid"] == "DenyCloudFrontUnservedPrefixes"]
    assert deny["Resource"] == [f"{bucket}{folder}*" for folder in config["refused_prefixes"]]


# The package: a real build (pip and, where it exists, python3.13), cached under build/pulumi/ by
# its inputs like the token service's; the first run downloads PyAV's wheel (~36 MB).

@pytest.fixture(scope="module")
def package_path(function):
    return pathlib.Path(function.inputs["code"].path)


def test_package_holds_the_processor_and_pyav_for_linux_x86_64(package_path):
    with zipfile.ZipFile(package_path) as package:
        names = set(package.namelist())
        dist_info = f"av-{importlib.metadata.version('av')}.dist-info/"
        wheel = package.read(dist_info + "WHEEL").decode()
    assert {"media_processor/__init__.py", "media_processor/handler.py", "media_processor/settings.py"} <= names
    tags = [line.removeprefix("Tag: ") for line in wheel.splitlines() if line.startswith("Tag: ")]
    assert tags and all("manylinux" in tag and tag.endswith("_x86_64") for tag in tags), tags
    assert any(name.startswith("av.libs/libavcodec") for name in names)
    assert any(name.startswith("av.libs/libx264") for name in names)  # GPL: docs/uploads.md says what follows
    assert not any(name.startswith(("boto3/", "botocore/", "bin/")) for name in names)


def test_package_fits_lambda_and_its_size_is_the_documented_one(package_path):
    unzipped = lambda_package.unzipped_size(package_path)
    assert unzipped <= lambda_package.UNZIPPED_LIMIT_BYTES
    assert package_path.stat().st_size <= lambda_package.ZIPPED_LIMIT_BYTES
    # docs/deploy.md states the measured size in whole MB; it must stay true.
    documented = (REPO / "docs" / "deploy.md").read_text()
    assert f"{round(unzipped / 1e6)} MB unzipped" in documented


@pytest.mark.skipif(PYTHON_3_13 is None, reason="no python3.13 on this machine")
def test_packaged_handler_imports_on_python_3_13_with_the_wheel_s_ffmpeg(package_path, tmp_path):
    """The zip as Lambda lays it out, imported by python3.13 with nothing but what Lambda's runtime
    adds (boto3, taken from this venv: pure Python): the handler, and PyAV's own FFmpeg libraries
    (this machine is Linux x86_64, as Lambda is)."""
    task, runtime = tmp_path / "task", tmp_path / "runtime"
    with zipfile.ZipFile(package_path) as package:
        package.extractall(task)
    runtime.mkdir()
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"):
        origin = pathlib.Path(importlib.util.find_spec(name).origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (runtime / source.name).symlink_to(source)
    script = ("import sys; sys.path[:0] = sys.argv[1:]; import media_processor.handler as h, av; "
              "assert callable(h.handle) and av.__file__.startswith(sys.argv[1]); "
              "print(av.__version__, 'libx264' in av.codecs_available)")
    result = subprocess.run([PYTHON_3_13, "-I", "-c", script, str(task), str(runtime)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [importlib.metadata.version("av"), "True"]


def test_package_over_lambda_s_limit_is_a_clear_error(tmp_path, monkeypatch):
    source = tmp_path / "app.py"
    source.write_bytes(b"x = 1\n" * 1000)
    monkeypatch.setattr(lambda_package, "UNZIPPED_LIMIT_BYTES", 5000)
    monkeypatch.setattr(lambda_package, "_pip_install", lambda *args: None)  # no requirements
    with pytest.raises(lambda_package.PackageBuildError, match=r"^t: the package is [\d,]+ bytes unzipped and "
                                                               r"[\d,]+ zipped; Lambda takes at most 5,000 unzipped"):
        lambda_package.build_python_package("t", [], {"app.py": source}, tmp_path / "build")
    assert not list((tmp_path / "build").glob("*.zip"))


def test_package_is_cached_by_its_inputs(monkeypatch):
    built = build_media_processor_package(REPO / "build" / "pulumi")

    def no_build(*args, **kwargs):
        raise AssertionError("rebuilt although nothing changed")

    monkeypatch.setattr(lambda_package, "_pip_install", no_build)
    monkeypatch.setattr(lambda_package, "_compile", no_build)
    assert build_media_processor_package(REPO / "build" / "pulumi") == built
