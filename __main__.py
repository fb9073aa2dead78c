"""The Pulumi program: stack config -> components (infra/) -> stack outputs."""
import pathlib

import pulumi
import pulumi_aws as aws

from infra.access_logs import AccessLogs
from infra.bucket import PrivateBucket
from infra.cdn import MediaCdn
from infra.certificate import AliasCertificate
from infra.config import load_settings
from infra.edge_function import EdgeFunction, check_edge_bytecode
from infra.keys import SigningKeys
from infra.monitoring import Monitoring
from infra.media_processor import MediaProcessor, media_processor_environment
from infra.token_service import TokenService, token_service_environment

# Built Lambda packages, named by the hash of their inputs (git-ignored).
BUILD_DIR = pathlib.Path(__file__).resolve().parent / "build" / "pulumi"

settings = load_settings(pulumi.Config(), pulumi.get_project(), pulumi.get_stack())
check_edge_bytecode(settings)
# Checked by the token service's own parser before any resource is declared.
token_service_env = token_service_environment(settings) if settings.token_service else None
processor_env = media_processor_environment(settings) if settings.uploads else None
account_id = aws.get_caller_identity_output().account_id

keys = SigningKeys(
    "signing-keys",
    key_names=settings.signing_keys,
    active_key_name=settings.active_signing_key,
    key_bits=settings.signing_key_bits,
    jwks_parameter_name=settings.jwks_parameter_name,
    key_parameter_name=settings.signing_key_parameter_name,
)
edge = EdgeFunction("viewer-auth", settings=settings, keys=keys, account_id=account_id, build_dir=BUILD_DIR)
bucket = PrivateBucket(
    "media",
    force_destroy=settings.bucket_force_destroy,
    noncurrent_version_expiration_days=settings.noncurrent_version_expiration_days,
    upload_origins=settings.cors_allowed_origins if settings.uploads else (),
)

processor = None
if settings.uploads:
    processor = MediaProcessor("media-processor", settings=settings, bucket=bucket, environment=processor_env,
                               account_id=account_id, build_dir=BUILD_DIR)

certificate_arn = settings.certificate_arn
if settings.domain_name and settings.hosted_zone_id:
    certificate_arn = AliasCertificate("alias-certificate", settings.domain_name, settings.hosted_zone_id).arn


def token_service(media_base_url):
    return TokenService("token-service", settings=settings, environment=token_service_env, keys=keys,
                        account_id=account_id, build_dir=BUILD_DIR, media_base_url=media_base_url,
                        upload_bucket=bucket if settings.uploads else None)


# Behind the CDN (cookie mode) the distribution needs the token service's URL, so the service comes
# first; its media URL is then the alias, which cookie mode requires. Otherwise the service comes
# after the distribution, whose domain is its media URL.
token = token_service(settings.alias_url) if settings.token_service_behind_cdn else None
cdn = MediaCdn(
    "cdn",
    bucket=bucket,
    viewer_request_lambda_arn=edge.qualified_arn,
    cors_allowed_origins=settings.cors_allowed_origins,
    cookie_mode=settings.cookie_name is not None,
    price_class=settings.price_class,
    domain_name=settings.domain_name,
    certificate_arn=certificate_arn,
    hosted_zone_id=settings.hosted_zone_id,
    token_service_url=token.url if token else None,
    web_acl_arn=settings.web_acl_arn,
)
if settings.access_logs:
    access_logs = AccessLogs("access-logs", settings=settings, media_bucket_name=bucket.bucket.id,
                             media_bucket_arn=bucket.arn, distribution_arn=cdn.arn, account_id=account_id)
if settings.token_service and token is None:
    token = token_service(cdn.url)
monitoring = Monitoring("monitoring", settings=settings, edge_log_groups=edge.log_groups,
                        token_service_function=token.function if token else None)

pulumi.export("bucketName", bucket.name)
pulumi.export("distributionId", cdn.id)
pulumi.export("distributionDomain", cdn.domain_name)
pulumi.export("mediaUrl", cdn.url)
pulumi.export("issuer", settings.issuer)
pulumi.export("audience", settings.audience)
pulumi.export("jwksParameterName", keys.jwks_parameter.name)
pulumi.export("signingKeyParameterNames", {name: p.name for name, p in keys.key_parameters.items()})
pulumi.export("activeKid", keys.active_kid)
pulumi.export("edgeFunctionName", edge.function_name)
pulumi.export("edgeFunctionQualifiedArn", edge.qualified_arn)
pulumi.export("dashboardName", monitoring.dashboard.dashboard_name)
pulumi.export("alarmTopicArns", monitoring.topic_arns)

if token:
    pulumi.export("tokenServiceUrl", token.url)
    # Where a frontend asks for viewing tokens: through the media host in cookie mode (so the cookie
    # is the media host's), else the function URL.
    pulumi.export("tokenUrl", pulumi.Output.concat(cdn.url, "/token") if settings.token_service_behind_cdn
                  else pulumi.Output.concat(token.url, "token"))

if processor:
    pulumi.export("mediaProcessorFunctionName", processor.function_name)
    pulumi.export("mediaProcessorFailureQueueUrl", processor.failure_queue.url)
    if processor.webhook_secret_parameter:
        # The app's backend reads the secret from here (the stack's Region) to verify webhook signatures.
        pulumi.export("webhookSecretParameterName", processor.webhook_secret_parameter.name)
