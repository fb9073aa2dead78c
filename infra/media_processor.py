"""The media processor: a Lambda function that turns each new upload into a published asset.

S3 invokes it (asynchronously) for every object created under the incoming prefix. Its role may
read and delete uploads there, write and delete under the published and status prefixes, read the
webhook secret, and send failed invocations to its queue; nothing else. Reserved concurrency caps
how many run at once (the cost cap): further uploads wait in Lambda's event queue.
"""
import pathlib

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra import iam
from infra.bucket import PrivateBucket
from infra.config import ASSET_STATUS_PREFIX, INCOMING_PREFIX, UPLOAD_PREFIX, ConfigError, Settings, key_prefix
from infra.function_logs import function_log_group
from infra.keys import STANDARD_TIER
from infra.lambda_package import build_python_package, pinned
from media_processor.settings import Settings as ProcessorSettings, SettingsError

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
HANDLER = "media_processor.handler.handle"
RUNTIME = "python3.13"
# boto3 is not listed: the Lambda runtime ships it. PyAV's manylinux wheel carries FFmpeg's libraries.
REQUIREMENTS = ("av",)
# A failure the processor sees it records itself (status `failed`). What reaches Lambda is a crash,
# an out-of-memory or a timeout, which a retry would repeat at the same cost: straight to the queue.
RETRY_ATTEMPTS = 0
# How long an invocation may wait for a free slot under the concurrency cap (Lambda's maximum, 6 h)
# before it goes to the failure queue unprocessed.
MAX_EVENT_AGE_SECONDS = 21600
FAILURE_RETENTION_SECONDS = 14 * 86400  # SQS's maximum: time for an operator to look
WEBHOOK_SECRET_LENGTH = 64  # letters and digits: about 380 bits
# Values that exist only once resources do, stood in while the environment is checked.
_DEPLOY_TIME_STAND_INS = {"MEDIA_PROCESSOR_REGION": "us-east-1"}


def package_sources() -> dict:
    """{path in the zip: local file}: the media_processor package."""
    return {p.relative_to(REPO_ROOT).as_posix(): p
            for p in sorted((REPO_ROOT / "media_processor").rglob("*.py")) if "__pycache__" not in p.parts}


def build_media_processor_package(build_dir: pathlib.Path) -> pathlib.Path:
    return build_python_package("media-processor", pinned(REQUIREMENTS), package_sources(), build_dir)


def media_processor_environment(settings: Settings) -> dict:
    """The MEDIA_PROCESSOR_* variables known from the stack config, checked by the processor's own
    parser: a value it would refuse stops the program before anything is deployed, instead of
    failing every upload. MediaProcessor adds the Region (the bucket's). The bucket comes with each
    event."""
    env = {
        "MEDIA_PROCESSOR_INCOMING_PREFIX": INCOMING_PREFIX,
        "MEDIA_PROCESSOR_PUBLISHED_PREFIX": UPLOAD_PREFIX,
        "MEDIA_PROCESSOR_ASSET_STATUS_PREFIX": ASSET_STATUS_PREFIX,
        "MEDIA_PROCESSOR_MAX_INPUT_BYTES": str(settings.upload_max_bytes),
        "MEDIA_PROCESSOR_MAX_DURATION_SECONDS": str(settings.media_max_duration_seconds),
        "MEDIA_PROCESSOR_MAX_INPUT_LONG_SIDE": str(settings.media_max_input_long_side),
        "MEDIA_PROCESSOR_MAX_INPUT_SHORT_SIDE": str(settings.media_max_input_short_side),
        "MEDIA_PROCESSOR_MAX_FRAME_RATE": str(settings.media_max_frame_rate),
        "MEDIA_PROCESSOR_MAX_OUTPUT_SHORT_SIDE": str(settings.media_max_output_short_side),
    }
    if settings.webhook_url:
        env.update({
            "MEDIA_PROCESSOR_WEBHOOK_URL": settings.webhook_url,
            "MEDIA_PROCESSOR_WEBHOOK_SECRET_SSM_PARAMETER": settings.webhook_secret_parameter_name,
        })
    try:
        ProcessorSettings.from_env({**env, **_DEPLOY_TIME_STAND_INS})
    except SettingsError as exc:
        raise ConfigError(f"media processor settings: {exc}") from None
    return env


class MediaProcessor(pulumi.ComponentResource):
    """`environment` is media_processor_environment(settings); the Region is added here.
    `webhook_secret_parameter` is the SSM SecureString holding the webhook's signing secret (None
    without a webhook); `failure_queue` receives the events of invocations that failed."""

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        bucket: PrivateBucket,
        environment: dict,
        account_id: pulumi.Input[str],
        build_dir: pathlib.Path,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("edge-private-media:infra:MediaProcessor", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        function_name = settings.media_processor_function_name

        log_group = function_log_group(name, function_name, settings.edge_log_retention_days, child)
        self.failure_queue = aws.sqs.Queue(
            f"{name}-failures",
            name=f"{function_name}-failures",
            message_retention_seconds=FAILURE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.webhook_secret_parameter = None
        if settings.webhook_url:
            # Made once and kept (as a secret) in the state; replace this resource to rotate it.
            secret = random.RandomPassword(f"{name}-webhook-secret", length=WEBHOOK_SECRET_LENGTH, special=False,
                                           opts=child)
            self.webhook_secret_parameter = aws.ssm.Parameter(
                f"{name}-webhook-secret",
                name=settings.webhook_secret_parameter_name,
                description="Secret the media processor signs webhook events with (HMAC-SHA256)",
                type="SecureString",
                tier=STANDARD_TIER,
                value=secret.result,  # a secret output: encrypted in the state
                opts=child,  # in the stack's Region, the processor's
            )
        secret_arn = self.webhook_secret_parameter.arn if self.webhook_secret_parameter else None

        role = iam.role(
            f"{name}-role",
            settings=settings,
            description="Media processor: reads and deletes uploads, publishes assets, writes its logs",
            services=("lambda.amazonaws.com",),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(account_id, log_group.arn, bucket.arn, self.failure_queue.arn, secret_arn)
            .apply(lambda args: media_processor_role_policy(*args)),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            name,
            name=function_name,
            description="Turns each upload into a web-playable MP4 and a poster, or a failure with a reason",
            runtime=RUNTIME,
            architectures=["x86_64"],  # PyAV's wheel in the package is built for it
            handler=HANDLER,
            memory_size=settings.media_processor_memory_mb,
            timeout=settings.media_processor_timeout_seconds,
            ephemeral_storage=aws.lambda_.FunctionEphemeralStorageArgs(
                size=settings.media_processor_ephemeral_storage_mb),
            reserved_concurrent_executions=settings.media_processor_reserved_concurrency,
            role=role.arn,
            code=pulumi.FileArchive(str(build_media_processor_package(build_dir))),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=bucket.region.apply(
                lambda region: {**environment, "MEDIA_PROCESSOR_REGION": region})),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoke-config",
            function_name=self.function.name,
            maximum_retry_attempts=RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=self.failure_queue.arn),
            ),
            # Lambda sends to the queue with the function's role.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        permission = aws.lambda_.Permission(
            f"{name}-s3-invoke",
            function=self.function.name,
            action="lambda:InvokeFunction",
            principal="s3.amazonaws.com",
            source_arn=bucket.arn,
            source_account=account_id,  # a bucket name can later belong to another account
            opts=child,
        )
        aws.s3.BucketNotification(
            f"{name}-trigger",
            bucket=bucket.bucket.id,
            lambda_functions=[aws.s3.BucketNotificationLambdaFunctionArgs(
                lambda_function_arn=self.function.arn,
                events=["s3:ObjectCreated:*"],
                filter_prefix=key_prefix(INCOMING_PREFIX),
            )],
            # S3 checks that it may invoke the function when the notification is saved.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        self.function_name = self.function.name
        self.register_outputs({"function_name": self.function_name, "failure_queue_url": self.failure_queue.url})


def media_processor_role_policy(account_id: str, log_group_arn: str, bucket_arn: str, failure_queue_arn: str,
                                webhook_secret_arn: str | None) -> str:
    """Uploads: read and delete. Published videos and posters, status records: write, and delete (a
    failed asset leaves nothing behind). No List, no other prefix. The webhook secret, read through
    SSM only. Sending failed events to its queue; its own log group."""
    def objects(template):
        return f"{bucket_arn}/{key_prefix(template)}*"

    webhook = []
    if webhook_secret_arn:
        region = webhook_secret_arn.split(":")[3]
        webhook = iam.secure_parameter_statements("WebhookSecret", region, account_id, [webhook_secret_arn])
    return iam.policy(
        {
            "Sid": "TakeUploads",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:DeleteObject"],
            "Resource": objects(INCOMING_PREFIX),
        },
        {
            "Sid": "PublishAssets",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": [objects(UPLOAD_PREFIX), objects(ASSET_STATUS_PREFIX)],
        },
        {
            "Sid": "SendFailedEvents",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": failure_queue_arn,
        },
        *webhook,
        iam.log_statement([log_group_arn]),
    )
