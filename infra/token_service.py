"""The token service as a Lambda function behind a public function URL.

The URL needs no AWS authentication: POST /token authenticates callers itself with the app's
identity provider token. The function's role may read only the signing-key parameters and, with
uploads on, put objects under the upload prefix. With SnapStart on, the URL serves the alias
`live`, which points at the latest published version (SnapStart applies to versions only).
"""
import pathlib

import pulumi
import pulumi_aws as aws

from infra import iam
from infra.bucket import PrivateBucket
from infra.config import (
    ASSET_STATUS_PREFIX, EDGE_REGION, INCOMING_PREFIX, UPLOAD_PREFIX, ConfigError, Settings, key_prefix,
)
from infra.function_logs import function_log_group
from infra.keys import SigningKeys
from infra.lambda_package import build_python_package, pinned
from token_service.settings import Settings as TokenServiceSettings, SettingsError

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
HANDLER = "token_service_lambda.handler.handler"
RUNTIME = "python3.13"
# boto3 is not listed: the Lambda runtime ships it, and only uploads use it (keys are read from SSM
# without it, token_service/ssm.py).
REQUIREMENTS = ("fastapi", "mangum", "PyJWT", "cryptography", "httpx")
MEMORY_MB = 512  # Lambda's CPU share grows with memory; this keeps cold starts short
TIMEOUT_SECONDS = 10
ALIAS = "live"
# Values that exist only once resources do, stood in while the environment is checked before any
# resource, so that the token service's parser checks the upload settings too.
_DEPLOY_TIME_STAND_INS = {
    "TOKEN_SERVICE_UPLOAD_BUCKET": "media-bucket",
    "TOKEN_SERVICE_UPLOAD_BUCKET_REGION": "us-east-1",
    "TOKEN_SERVICE_MEDIA_BASE_URL": "https://media.example.com",
}


def package_sources() -> dict:
    """{path in the zip: local file}: the token_service package and the Lambda entry module."""
    sources = {p.relative_to(REPO_ROOT).as_posix(): p
               for p in sorted((REPO_ROOT / "token_service").rglob("*.py")) if "__pycache__" not in p.parts}
    sources["token_service_lambda/handler.py"] = REPO_ROOT / "infra" / "token_service_lambda" / "handler.py"
    return sources


def build_token_service_package(build_dir: pathlib.Path) -> pathlib.Path:
    return build_python_package("token-service", pinned(REQUIREMENTS), package_sources(), build_dir)


def token_service_environment(settings: Settings) -> dict:
    """The TOKEN_SERVICE_* variables known from the stack config, checked by the token service's
    own parser: a value it would refuse at start-up stops the program before anything is
    deployed, instead of failing every cold start. TokenService adds the rest (active kid, and
    with uploads the bucket, its Region and the media URL) once they exist."""
    env = {
        "TOKEN_SERVICE_ISSUER": settings.issuer,
        "TOKEN_SERVICE_AUDIENCE": settings.audience,
        "TOKEN_SERVICE_IDP_ISSUER": settings.idp_issuer,
        "TOKEN_SERVICE_IDP_AUDIENCE": settings.idp_audience,
        "TOKEN_SERVICE_IDP_AUDIENCE_CLAIM": settings.idp_audience_claim,
        "TOKEN_SERVICE_IDP_JWKS_URL": settings.idp_jwks_url,
        "TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER": ",".join(
            settings.signing_key_parameter_name(name) for name in settings.signing_keys),
        "TOKEN_SERVICE_SSM_REGION": EDGE_REGION,
        "TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS": str(settings.token_lifetime_seconds),
        "TOKEN_SERVICE_CORS_ALLOWED_ORIGINS": ",".join(settings.cors_allowed_origins),
        "TOKEN_SERVICE_COOKIE_NAME": settings.token_cookie_name or "",
        "TOKEN_SERVICE_COOKIE_DOMAIN": settings.cookie_domain or "",
        "TOKEN_SERVICE_COOKIE_SAMESITE": settings.cookie_samesite if settings.cookie_name else "",
        "TOKEN_SERVICE_IDP_ALGORITHMS": ",".join(settings.idp_algorithms),
        "TOKEN_SERVICE_DEFAULT_PATHS": ",".join(settings.viewing_paths),
        "TOKEN_SERVICE_DOCS_ENABLED": "true" if settings.token_service_docs else "false",
    }
    if settings.uploads:
        # Uploads land in the incoming prefix; the media processor publishes them under UPLOAD_PREFIX.
        env.update({
            "TOKEN_SERVICE_UPLOAD_PREFIX": UPLOAD_PREFIX,
            "TOKEN_SERVICE_UPLOAD_INCOMING_PREFIX": INCOMING_PREFIX,
            "TOKEN_SERVICE_ASSET_STATUS_PREFIX": ASSET_STATUS_PREFIX,
            "TOKEN_SERVICE_UPLOAD_MAX_BYTES": str(settings.upload_max_bytes),
            "TOKEN_SERVICE_UPLOAD_CONTENT_TYPES": ",".join(settings.upload_content_types),
        })
    env = {name: value for name, value in env.items() if value}
    stand_ins = _DEPLOY_TIME_STAND_INS if settings.uploads else {}
    try:
        TokenServiceSettings.from_env({**env, **stand_ins})
    except SettingsError as exc:
        raise ConfigError(f"token service settings: {exc}") from None
    return env


class TokenService(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        environment: dict,
        keys: SigningKeys,
        account_id: pulumi.Input[str],
        build_dir: pathlib.Path,
        media_base_url: pulumi.Input[str],
        upload_bucket: PrivateBucket | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`environment` is token_service_environment(settings); the active kid is added here, and
        with `upload_bucket` (uploads on) the bucket, its Region and `media_base_url`."""
        super().__init__("edge-private-media:infra:TokenService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        function_name = settings.token_service_function_name
        key_parameters = list(keys.key_parameters.values())
        upload_bucket_arn = upload_bucket.arn if upload_bucket else None

        log_group = function_log_group(name, function_name, settings.edge_log_retention_days, child)
        role = iam.role(
            f"{name}-role",
            settings=settings,
            description="Token service: reads its signing keys from SSM, writes its logs",
            services=("lambda.amazonaws.com",),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(account_id, log_group.arn, upload_bucket_arn, *[p.arn for p in key_parameters])
            .apply(lambda args: token_service_role_policy(args[0], args[1], args[3:], upload_bucket_arn=args[2])),
            opts=child,
        )
        deployed = {"TOKEN_SERVICE_ACTIVE_KID": keys.active_kid}
        if upload_bucket:
            deployed.update({
                "TOKEN_SERVICE_UPLOAD_BUCKET": upload_bucket.name,
                "TOKEN_SERVICE_UPLOAD_BUCKET_REGION": upload_bucket.region,
                "TOKEN_SERVICE_MEDIA_BASE_URL": media_base_url,
            })
        snap_start = settings.token_service_snap_start
        self.function = aws.lambda_.Function(
            name,
            name=function_name,
            description="Exchanges an app access token for a short-lived viewing token",
            runtime=RUNTIME,
            architectures=["x86_64"],  # the wheels in the package are built for it
            handler=HANDLER,
            memory_size=MEMORY_MB,
            timeout=TIMEOUT_SECONDS,
            # Lambda@Edge replicas draw on each Region's concurrency too: reserved, the service's
            # share is capped (a flood of token requests cannot throttle the gate) and guaranteed.
            reserved_concurrent_executions=settings.token_service_reserved_concurrency or None,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
            role=role.arn,
            code=pulumi.FileArchive(str(build_token_service_package(build_dir))),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=pulumi.Output.all(**deployed).apply(
                lambda values: {**environment, **values})),
            # SnapStart snapshots a version when it is published, with the signing keys already
            # read from SSM (docs/deploy.md, "SnapStart", has the caveats).
            snap_start=aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions") if snap_start else None,
            publish=snap_start,
            # Ready to serve once created: its keys, its permission to read them, its log group.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy, *key_parameters]),
        )
        qualifier = None
        if snap_start:
            qualifier = aws.lambda_.Alias(
                f"{name}-alias",
                name=ALIAS,
                function_name=self.function.name,
                function_version=self.function.version,
                description="The published version (with its SnapStart snapshot) the function URL serves",
                opts=child,
            ).name
        function_url = aws.lambda_.FunctionUrl(
            f"{name}-url",
            function_name=self.function.name,
            qualifier=qualifier,
            authorization_type="NONE",
            opts=child,
        )
        # A public function URL needs both grants (Lambda developer guide, "Control access to
        # Lambda function URLs"): InvokeFunctionUrl for auth type NONE, and InvokeFunction
        # limited to calls that come through a function URL.
        aws.lambda_.Permission(
            f"{name}-url-public",
            function=self.function.name,
            action="lambda:InvokeFunctionUrl",
            principal="*",
            function_url_auth_type="NONE",
            qualifier=qualifier,
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-url-invoke",
            function=self.function.name,
            action="lambda:InvokeFunction",
            principal="*",
            invoked_via_function_url=True,
            qualifier=qualifier,
            opts=child,
        )
        self.url = function_url.function_url
        self.register_outputs({"url": self.url, "function_arn": self.function.arn})


def token_service_role_policy(account_id: str, log_group_arn: str, key_parameter_arns,
                              upload_bucket_arn: str | None = None) -> str:
    """GetParameter on the key parameters only; Decrypt only as SSM, only for those parameters.

    With uploads, PutObject where uploads land (a presigned POST is signed with the role's
    credentials and carries exactly the role's rights): under the incoming prefix. Also what the
    asset endpoints need
    (token_service/assets.py), on the caller-facing prefixes only: read status records (GET
    /uploads/{id}, GET /videos); list under the status and incoming prefixes, which is how the
    service asks whether a record or a waiting upload exists (without ListBucket S3 answers a
    missing key 403, not 404) and lists a member's records; delete a published asset and its record
    (DELETE /videos/{id}).
    """
    key_parameter_arns = list(key_parameter_arns)
    s3 = []
    if upload_bucket_arn:
        def objects(*templates):
            return [f"{upload_bucket_arn}/{key_prefix(t)}*" for t in templates]

        s3.append({
            "Sid": "PutUploads",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": objects(INCOMING_PREFIX)[0],
        })
        s3 += [
            {
                "Sid": "ReadAssetStatus",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": objects(ASSET_STATUS_PREFIX),
            },
            {
                "Sid": "ListAssets",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": upload_bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [
                    f"{key_prefix(t)}*" for t in (ASSET_STATUS_PREFIX, INCOMING_PREFIX)]}},
            },
            {
                "Sid": "DeleteAssets",
                "Effect": "Allow",
                "Action": "s3:DeleteObject",
                "Resource": objects(UPLOAD_PREFIX, ASSET_STATUS_PREFIX),
            },
        ]
    return iam.policy(
        *iam.secure_parameter_statements("SigningKeyParameters", EDGE_REGION, account_id, key_parameter_arns),
        iam.log_statement([log_group_arn]),
        *s3,
    )
