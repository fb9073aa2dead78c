"""The Lambda@Edge viewer-request gate: its package, its least-privilege role, the function itself."""
import hashlib
import json
import pathlib

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from edge.package import build_package, find_interpreter
from infra import iam
from infra.config import (
    EDGE_NAME_SUFFIX_HEX, EDGE_REGION, REGIONAL_EDGE_CACHE_REGIONS, ConfigError, Settings, refused_folders,
)
from infra.keys import SigningKeys

HANDLER = "edge.handler.handler"
RUNTIME = "python3.13"
# Viewer-request limits (CloudFront developer guide, "Quotas on Lambda@Edge").
MEMORY_MB = 128
TIMEOUT_SECONDS = 5


def check_edge_bytecode(settings: Settings) -> None:
    """With edgeBytecode (the default) the zip must carry the runtime's bytecode, whatever machine
    deploys: without the runtime's interpreter here, stop before any resource, naming both fixes."""
    if settings.edge_bytecode and find_interpreter(RUNTIME) is None:
        raise ConfigError(f"config edgeBytecode: the edge zip ships {RUNTIME} bytecode and this machine has no "
                          f"{RUNTIME} (PATH or pyenv): install it, or `pulumi config set edgeBytecode false` "
                          f"(source only: the same zip from every machine, slower cold starts)")


class EdgeFunction(pulumi.ComponentResource):
    """`qualified_arn` is the numbered published version CloudFront must be associated with;
    `function_name` is the function's name (with its per-deployment suffix)."""

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        keys: SigningKeys,
        account_id: pulumi.Input[str],
        build_dir: pathlib.Path,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("edge-private-media:infra:EdgeFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # `destroy` leaves the function behind (skip_destroy, below) and CloudFront's replicas keep
        # it undeletable for hours, so the next `up` must not reuse its name. The suffix is random
        # once per deployment and then kept in the state, so later updates keep the name (and the
        # log groups and permissions that name it).
        suffix = random.RandomId(f"{name}-name-suffix", byte_length=EDGE_NAME_SUFFIX_HEX // 2, opts=child)
        function_name = pulumi.Output.concat(settings.edge_function_name_prefix, suffix.hex)

        # Replicas log to /aws/lambda/us-east-1.<name> in the Region that served the viewer, where
        # Lambda would otherwise create the group itself, with no retention. Made first, with
        # the configured retention, in every Region with a regional edge cache.
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-logs-{region}",
                name=pulumi.Output.concat(f"/aws/lambda/{EDGE_REGION}.", function_name),
                retention_in_days=settings.edge_log_retention_days,
                region=region,
                opts=child,
            )
            for region in REGIONAL_EDGE_CACHE_REGIONS
        ]
        self.log_groups = dict(zip(REGIONAL_EDGE_CACHE_REGIONS, log_groups))  # Region -> group, for monitoring

        role = iam.role(
            f"{name}-role",
            settings=settings,
            description="Lambda@Edge viewer-request gate: reads the JWKS parameter, writes its logs",
            services=("lambda.amazonaws.com", "edgelambda.amazonaws.com"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(function_name, keys.jwks_parameter.arn, account_id).apply(
                lambda args: edge_role_policy(*args)),
            opts=child,
        )

        archive = pulumi.Output.all(keys.jwks, keys.jwks_parameter.name).apply(
            lambda args: _package(edge_package_config(settings, *args), build_dir, settings.edge_bytecode))
        self.function = aws.lambda_.Function(
            name,
            name=function_name,
            description="Verifies the RS256 viewing token on every viewer request",
            region=EDGE_REGION,
            runtime=RUNTIME,
            architectures=["x86_64"],  # the only architecture Lambda@Edge runs
            handler=HANDLER,
            memory_size=MEMORY_MB,
            timeout=TIMEOUT_SECONDS,
            publish=True,
            role=role.arn,
            code=archive,
            # JSON log format with system log level WARN: Lambda leaves out its START/END/REPORT lines (about
            # 250 bytes a request, more than the edge logs; Lambda@Edge supports these controls, docs/operations.md,
            # "Logs"). The edge prints its lines, and Lambda passes printed lines on as they are.
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", system_log_level="WARN"),
            # CloudFront keeps replicas of the function for hours after the distribution lets go
            # of it, and deleting it meanwhile fails. skip_destroy leaves the function behind on
            # destroy (docs/operations.md, "Tearing down", says how to delete it later) so
            # `pulumi destroy` succeeds.
            skip_destroy=True,
            # No replica runs before its log group exists (a distribution needs the function first).
            opts=pulumi.ResourceOptions(parent=self, depends_on=log_groups),
        )
        self.function_name = self.function.name
        self.qualified_arn = self.function.qualified_arn
        self.register_outputs({"qualified_arn": self.qualified_arn, "function_name": self.function_name,
                               "role_arn": role.arn})


def edge_package_config(settings: Settings, jwks: dict, jwks_parameter_name: str) -> dict:
    """The edge's config.json (edge.config documents every field; the rest keep their defaults)."""
    return {
        "issuer": settings.issuer,
        "audience": settings.audience,
        "jwks": jwks,
        "ssm_parameter": jwks_parameter_name,
        "ssm_region": EDGE_REGION,
        "cors_allowed_origins": list(settings.cors_allowed_origins),
        # The prefixes the bucket policy refuses to the distribution (infra/bucket.py), refused here
        # first whatever the token says.
        "refused_prefixes": refused_folders(),
        "cookie_name": settings.token_cookie_name,
        "max_token_lifetime_seconds": settings.max_token_lifetime_seconds,
        "leeway_seconds": settings.edge_leeway_seconds,
        "key_refresh_seconds": settings.edge_key_refresh_seconds,
        "max_key_staleness_seconds": settings.edge_max_key_staleness_seconds,
        "allow_log_sample_rate": settings.edge_allow_log_sample_rate,
    }


def edge_role_policy(function_name: str, jwks_parameter_arn: str, account_id: str) -> str:
    """Only the JWKS parameter, and only the log groups of this function's replicas.

    Replicas log in the region that served the request, to `/aws/lambda/us-east-1.<name>`,
    hence the region wildcard (CreateLogGroup stays for a Region with no group made in advance).
    """
    log_group = f"arn:aws:logs:*:{account_id}:log-group:/aws/lambda/{EDGE_REGION}.{function_name}"
    return iam.policy(
        {
            "Sid": "ReadJwksParameter",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": jwks_parameter_arn,
        },
        iam.log_statement([log_group]),
    )


def _package(config: dict, build_dir: pathlib.Path, bytecode: bool) -> pulumi.FileArchive:
    # Named by content: the builder is deterministic, so equal configs share one file and an
    # unchanged config gives Pulumi the same archive (no new version published).
    digest = hashlib.sha256(json.dumps([config, bytecode], sort_keys=True).encode()).hexdigest()[:16]
    path = build_package(config, build_dir / f"edge-{digest}.zip", bytecode=bytecode)
    return pulumi.FileArchive(str(path))
