"""Stack configuration: read once, validated, turned into one immutable Settings.

Pulumi.yaml declares every key with its type and default (the CLI fills in defaults before the
program runs); this module checks what a schema cannot express and names the key in each error.
"""
import dataclasses
import json
import re
from urllib.parse import urlsplit

import pulumi

from token_service import scopes

# Lambda@Edge functions and the SSM parameters they read must live here.
EDGE_REGION = "us-east-1"
# Where CloudFront has regional edge caches, and so where Lambda@Edge replicas run and write their
# logs: the Origin Shield Regions ("CloudFront offers Origin Shield in AWS Regions where CloudFront
# has a regional edge cache"), Amazon CloudFront Developer Guide, "Choosing the AWS Region for
# Origin Shield", https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/origin-shield.html
REGIONAL_EDGE_CACHE_REGIONS = (
    "us-east-1", "us-east-2", "us-west-2", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
    "ap-southeast-1", "ap-southeast-2", "eu-central-1", "eu-west-1", "eu-west-2", "sa-east-1",
)
# CloudWatch Logs' allowed retention periods (PutRetentionPolicy, retentionInDays).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)

PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
KEY_BITS = (2048, 3072, 4096)
# Four 4096-bit JWKs still fit the 4 KB value limit of a standard-tier SSM parameter.
MAX_SIGNING_KEYS = 4
# The edge refuses lifetimes beyond its cap; a day bounds how long a leaked token lives.
MAX_LIFETIME_CAP_SECONDS = 86400
# The edge function's name ends in "-<this many hex digits>", new for every deployment (a RandomId).
EDGE_NAME_SUFFIX_HEX = 8
# Where members upload (TOKEN_SERVICE_UPLOAD_PREFIX): the token service's role may put objects
# under the part before {sub}, nowhere else.
UPLOAD_PREFIX = "/videos/{sub}/"
# Where uploads wait for the media processor, and where it records each asset's status: never served
# (the bucket policy refuses them to the distribution, the edge to every token). The processor
# publishes under UPLOAD_PREFIX. Same defaults as the token service's and the processor's settings.
INCOMING_PREFIX = "/incoming/{sub}/"
ASSET_STATUS_PREFIX = "/assets/{sub}/"
UNSERVED_PREFIXES = (INCOMING_PREFIX, ASSET_STATUS_PREFIX)


def key_prefix(template: str) -> str:
    """The S3 key prefix every key under a `{sub}` prefix template starts with: `/videos/{sub}/` -> `videos/`."""
    return template.split("{sub}", 1)[0].lstrip("/")


def refused_folders() -> list:
    """The edge's refused_prefixes: the folder of each unserved prefix, `/incoming/` and `/assets/`."""
    return ["/" + key_prefix(template) for template in UNSERVED_PREFIXES]


# Lambda's bounds (Lambda developer guide, "Lambda quotas"): memory 128..10240 MB (new accounts may be
# held at 3008 until a quota increase), timeout up to 900 s, /tmp 512..10240 MB.
LAMBDA_MEMORY_MB = (128, 10240)
LAMBDA_MAX_TIMEOUT_SECONDS = 900
LAMBDA_EPHEMERAL_STORAGE_MB = (512, 10240)
# The processor keeps the upload and its output in /tmp. A remuxed output is the input's size; a
# transcoded one is the duration limit at this bitrate: x264 at the processor's constant quality has
# no cap, and a noisy 1080p test pattern came out at 9.7 Mbit/s, so allow twice that.
OUTPUT_BITRATE_ALLOWANCE_BPS = 20_000_000
EPHEMERAL_MARGIN_MB = 512
SAMESITE_VALUES = ("Strict", "Lax", "None")
# The edge's own bounds (edge/config.py), checked here too so a bad value stops the program before
# any resource instead of failing the edge package build halfway through a deployment.
EDGE_LEEWAY_MAX_SECONDS = 300
EDGE_KEY_REFRESH_MAX_SECONDS = 86400
EDGE_MAX_KEY_STALENESS_MAX_SECONDS = 30 * 86400

_KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_COOKIE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_PARAMETER_PATH = re.compile(r"^(/[A-Za-z0-9_.-]+)+$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[A-Za-z0-9-]+$")
# CloudFront takes only web ACLs of scope CLOUDFRONT, which live in us-east-1 ("global" in the ARN).
_WEB_ACL_ARN = re.compile(r"^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global/webacl/[A-Za-z0-9_-]{1,128}/[a-f0-9-]{36}$")
# A customer managed policy (IAM names: letters, digits and +=,.@_-, under an optional path).
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:policy/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,128}$")
# A host-only cookie carries this prefix: browsers then refuse any cookie of that name that has a
# Domain, lacks Secure or has a Path other than / (RFC 6265bis, "The __Host- Prefix"), so no
# sibling host can plant or shadow it.
HOST_COOKIE_PREFIX = "__Host-"
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_NAME_PART = re.compile(r"[^A-Za-z0-9-]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


class ConfigError(pulumi.RunError):
    """A bad stack setting. RunError makes Pulumi print just the message, no traceback."""


@dataclasses.dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    issuer: str
    audience: str
    signing_keys: tuple
    active_signing_key: str
    signing_key_bits: int
    token_lifetime_seconds: int
    max_token_lifetime_seconds: int
    cors_allowed_origins: tuple
    cookie_name: str | None
    cookie_domain: str | None
    price_class: str
    domain_name: str | None
    hosted_zone_id: str | None
    certificate_arn: str | None
    bucket_force_destroy: bool
    parameter_prefix: str
    token_service: bool
    idp_issuer: str | None
    idp_audience: str | None
    idp_audience_claim: str
    idp_jwks_url: str | None
    idp_algorithms: tuple
    viewing_paths: tuple
    cookie_samesite: str
    token_service_docs: bool
    token_service_snap_start: bool
    edge_leeway_seconds: int
    edge_key_refresh_seconds: int
    edge_max_key_staleness_seconds: int
    edge_log_retention_days: int
    edge_allow_log_sample_rate: float
    edge_deny_rate_alarm_percent: int
    alarm_email: str | None
    noncurrent_version_expiration_days: int
    uploads_enabled: bool
    upload_max_bytes: int
    upload_content_types: tuple
    media_max_duration_seconds: int
    media_max_input_long_side: int
    media_max_input_short_side: int
    media_max_frame_rate: int
    media_max_output_short_side: int
    media_processor_memory_mb: int
    media_processor_timeout_seconds: int
    media_processor_reserved_concurrency: int
    webhook_url: str | None
    permissions_boundary_arn: str | None
    web_acl_arn: str | None
    cookie_shared_with_subdomains: bool
    edge_bytecode: bool
    token_service_reserved_concurrency: int
    cdn_access_logs: bool
    bucket_access_logs: bool
    access_log_expiration_days: int

    @property
    def resource_prefix(self) -> str:
        """`<project>-<stack>`, cut so that every function name built from it fits Lambda's limit
        (64 characters; the longest, the edge function's, adds 21)."""
        return _NAME_PART.sub("-", f"{self.project}-{self.stack}").strip("-")[:40]

    @property
    def edge_function_name_prefix(self) -> str:
        """The edge function's name without its per-deployment suffix (see infra/edge_function.py)."""
        return f"{self.resource_prefix}-viewer-auth-"

    @property
    def token_service_function_name(self) -> str:
        return f"{self.resource_prefix}-token-service"

    @property
    def jwks_parameter_name(self) -> str:
        return f"{self.parameter_prefix}/jwks"

    def signing_key_parameter_name(self, key_name: str) -> str:
        return f"{self.parameter_prefix}/signing-keys/{key_name}"

    @property
    def uploads(self) -> bool:
        """Uploads are a token service feature: on only with the token service."""
        return self.token_service and self.uploads_enabled

    @property
    def media_processor_function_name(self) -> str:
        return f"{self.resource_prefix}-media-processor"

    @property
    def webhook_secret_parameter_name(self) -> str:
        return f"{self.parameter_prefix}/webhook-secret"

    @property
    def media_processor_ephemeral_storage_mb(self) -> int:
        """/tmp for the largest upload plus its largest output, and a margin."""
        output_bytes = max(self.upload_max_bytes, self.media_max_duration_seconds * OUTPUT_BITRATE_ALLOWANCE_BPS // 8)
        needed = -(-(self.upload_max_bytes + output_bytes) // 2**20) + EPHEMERAL_MARGIN_MB
        return max(needed, LAMBDA_EPHEMERAL_STORAGE_MB[0])

    @property
    def token_service_behind_cdn(self) -> bool:
        """In cookie mode the distribution serves /token* from the token service, so the cookie it
        sets belongs to the media host (a cookie set by *.lambda-url.*.on.aws could not be)."""
        return self.token_service and self.cookie_name is not None

    @property
    def token_cookie_name(self) -> str | None:
        """The cookie's name as the edge and the token service use it: a host-only cookie (no
        cookieDomain) carries the __Host- prefix."""
        if self.cookie_name is None or self.cookie_domain or self.cookie_name.startswith(HOST_COOKIE_PREFIX):
            return self.cookie_name
        return HOST_COOKIE_PREFIX + self.cookie_name

    @property
    def access_logs(self) -> bool:
        """Whether a log bucket exists (either kind of access log is on)."""
        return self.cdn_access_logs or self.bucket_access_logs

    @property
    def alias_url(self) -> str | None:
        return f"https://{self.domain_name}" if self.domain_name else None


def load_settings(config: pulumi.Config, project: str, stack: str) -> Settings:
    reader = _Reader(config)
    settings = Settings(
        project=project,
        stack=stack,
        issuer=reader.text("issuer", required=True),
        audience=reader.text("audience", required=True),
        signing_keys=tuple(reader.text_list("signingKeys")),
        active_signing_key=reader.text("activeSigningKey", required=True),
        signing_key_bits=reader.integer("signingKeyBits"),
        token_lifetime_seconds=reader.integer("tokenLifetimeSeconds"),
        max_token_lifetime_seconds=reader.integer("maxTokenLifetimeSeconds"),
        cors_allowed_origins=tuple(reader.text_list("corsAllowedOrigins")),
        cookie_name=reader.text("cookieName"),
        cookie_domain=reader.text("cookieDomain"),
        price_class=reader.text("priceClass", required=True),
        domain_name=reader.text("domainName"),
        hosted_zone_id=reader.text("hostedZoneId"),
        certificate_arn=reader.text("certificateArn"),
        bucket_force_destroy=reader.boolean("bucketForceDestroy"),
        parameter_prefix=reader.text("parameterPrefix") or _default_prefix(project, stack),
        token_service=reader.boolean("tokenService"),
        idp_issuer=reader.text("idpIssuer"),
        idp_audience=reader.text("idpAudience"),
        idp_audience_claim=reader.text("idpAudienceClaim", required=True),
        idp_jwks_url=reader.text("idpJwksUrl"),
        idp_algorithms=tuple(reader.text_list("idpAlgorithms")),
        viewing_paths=tuple(reader.text_list("viewingPaths")),
        cookie_samesite=reader.text("cookieSameSite", required=True),
        token_service_docs=reader.boolean("tokenServiceDocs"),
        token_service_snap_start=reader.boolean("tokenServiceSnapStart"),
        edge_leeway_seconds=reader.integer("edgeLeewaySeconds"),
        edge_key_refresh_seconds=reader.integer("edgeKeyRefreshSeconds"),
        edge_max_key_staleness_seconds=reader.integer("edgeMaxKeyStalenessSeconds"),
        edge_log_retention_days=reader.integer("edgeLogRetentionDays"),
        edge_allow_log_sample_rate=reader.number("edgeAllowLogSampleRate"),
        edge_deny_rate_alarm_percent=reader.integer("edgeDenyRateAlarmPercent"),
        alarm_email=reader.text("alarmEmail"),
        noncurrent_version_expiration_days=reader.integer("noncurrentVersionExpirationDays"),
        uploads_enabled=reader.boolean("uploadsEnabled"),
        upload_max_bytes=reader.integer("uploadMaxBytes"),
        upload_content_types=tuple(reader.text_list("uploadContentTypes")),
        media_max_duration_seconds=reader.integer("mediaMaxDurationSeconds"),
        media_max_input_long_side=reader.integer("mediaMaxInputLongSide"),
        media_max_input_short_side=reader.integer("mediaMaxInputShortSide"),
        media_max_frame_rate=reader.integer("mediaMaxFrameRate"),
        media_max_output_short_side=reader.integer("mediaMaxOutputShortSide"),
        media_processor_memory_mb=reader.integer("mediaProcessorMemoryMb"),
        media_processor_timeout_seconds=reader.integer("mediaProcessorTimeoutSeconds"),
        media_processor_reserved_concurrency=reader.integer("mediaProcessorReservedConcurrency"),
        webhook_url=reader.text("webhookUrl"),
        permissions_boundary_arn=reader.text("permissionsBoundaryArn"),
        web_acl_arn=reader.text("webAclArn"),
        cookie_shared_with_subdomains=reader.boolean("cookieSharedWithSubdomains"),
        edge_bytecode=reader.boolean("edgeBytecode"),
        token_service_reserved_concurrency=reader.integer("tokenServiceReservedConcurrency"),
        cdn_access_logs=reader.boolean("cdnAccessLogs"),
        bucket_access_logs=reader.boolean("bucketAccessLogs"),
        access_log_expiration_days=reader.integer("accessLogExpirationDays"),
    )
    _validate(settings)
    return settings


class _Reader:
    """Typed access to pulumi.Config; every error names the key as `pulumi config set` spells it.

    Pulumi.yaml holds the only defaults: the CLI passes every declared key to the program, so a
    key missing here means the program ran outside the CLI without them.
    """

    def __init__(self, config: pulumi.Config):
        self._config = config

    def _raw(self, key):
        raw = self._config.get(key)
        if raw is None:
            raise ConfigError(f"config {key}: missing (pulumi config set {key} VALUE)")
        return raw

    def text(self, key, required=False):
        value = self._raw(key).strip()
        if required and not value:
            raise ConfigError(f"config {key}: required (pulumi config set {key} VALUE)")
        return value or None

    def integer(self, key):
        raw = self._raw(key)
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"config {key}: not an integer: {raw!r}") from None

    def number(self, key):
        raw = self._raw(key)
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"config {key}: not a number: {raw!r}") from None

    def boolean(self, key):
        raw = self._raw(key)
        if raw.lower() not in ("true", "false"):
            raise ConfigError(f"config {key}: not true or false: {raw!r}")
        return raw.lower() == "true"

    def text_list(self, key):
        raw = self._raw(key)
        try:
            value = json.loads(raw)
        except ValueError:
            raise ConfigError(f"config {key}: not a list: {raw!r} (pulumi config set --path '{key}[0]' VALUE)") from None
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise ConfigError(f"config {key}: must be a list of non-empty strings, got {raw!r}")
        return [item.strip() for item in value]


def _default_prefix(project, stack):
    return f"/{_NAME_PART.sub('-', project)}/{_NAME_PART.sub('-', stack)}"


def _validate(s: Settings) -> None:
    for key, value in (("issuer", s.issuer), ("audience", s.audience)):
        if any(c.isspace() for c in value):
            raise ConfigError(f"config {key}: must not contain whitespace: {value!r}")
    _validate_keys(s)
    if not 1 <= s.max_token_lifetime_seconds <= MAX_LIFETIME_CAP_SECONDS:
        raise ConfigError(f"config maxTokenLifetimeSeconds: must be 1..{MAX_LIFETIME_CAP_SECONDS}, "
                          f"got {s.max_token_lifetime_seconds}")
    if not 1 <= s.token_lifetime_seconds <= s.max_token_lifetime_seconds:
        raise ConfigError(f"config tokenLifetimeSeconds: must be 1..maxTokenLifetimeSeconds "
                          f"({s.max_token_lifetime_seconds}), got {s.token_lifetime_seconds}")
    for origin in s.cors_allowed_origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query or parts.fragment:
            raise ConfigError(f"config corsAllowedOrigins: {origin!r} is not an origin like https://app.example.com")
    if s.price_class not in PRICE_CLASSES:
        raise ConfigError(f"config priceClass: one of {', '.join(PRICE_CLASSES)}, got {s.price_class!r}")
    _validate_domain(s)
    _validate_cookie(s)
    _validate_edge(s)
    _validate_guardrails(s)
    if not _PARAMETER_PATH.match(s.parameter_prefix) or s.parameter_prefix.lower().startswith(("/aws", "/ssm")):
        raise ConfigError(f"config parameterPrefix: a path like /media/prod (letters, digits, - _ .; "
                          f"not under /aws or /ssm), got {s.parameter_prefix!r}")
    if s.noncurrent_version_expiration_days < 1:
        raise ConfigError(f"config noncurrentVersionExpirationDays: at least 1, "
                          f"got {s.noncurrent_version_expiration_days}")
    _validate_processing(s)
    if s.token_service:
        _validate_idp(s)
        _validate_viewing_paths(s)
        _validate_uploads(s)
    else:
        for key, value in (("viewingPaths", s.viewing_paths), ("tokenServiceSnapStart", s.token_service_snap_start),
                           ("tokenServiceDocs", s.token_service_docs)):
            if value:
                raise ConfigError(f"config {key}: a token service setting, but tokenService is off")


def _validate_keys(s: Settings) -> None:
    if not 1 <= len(s.signing_keys) <= MAX_SIGNING_KEYS:
        raise ConfigError(f"config signingKeys: 1 to {MAX_SIGNING_KEYS} key names, got {len(s.signing_keys)}")
    for name in s.signing_keys:
        if not _KEY_NAME.match(name):
            raise ConfigError(f"config signingKeys: {name!r} is not a key name (letters, digits, - _ .)")
    if len(set(s.signing_keys)) != len(s.signing_keys):
        raise ConfigError(f"config signingKeys: names must be unique, got {list(s.signing_keys)}")
    if s.active_signing_key not in s.signing_keys:
        raise ConfigError(f"config activeSigningKey: {s.active_signing_key!r} is not one of signingKeys "
                          f"{list(s.signing_keys)}")
    if s.signing_key_bits not in KEY_BITS:
        raise ConfigError(f"config signingKeyBits: one of {', '.join(map(str, KEY_BITS))}, got {s.signing_key_bits}")


def _validate_domain(s: Settings) -> None:
    if not s.domain_name:
        for key, value in (("hostedZoneId", s.hosted_zone_id), ("certificateArn", s.certificate_arn)):
            if value:
                raise ConfigError(f"config {key}: only used with domainName, which is not set")
        return
    if not _HOSTNAME.match(s.domain_name):
        raise ConfigError(f"config domainName: not a lower-case host name: {s.domain_name!r}")
    if bool(s.hosted_zone_id) == bool(s.certificate_arn):
        raise ConfigError("config domainName: set exactly one of hostedZoneId (the program issues the "
                          "certificate) or certificateArn (an existing certificate in us-east-1)")
    if s.hosted_zone_id and not _ZONE_ID.match(s.hosted_zone_id):
        raise ConfigError(f"config hostedZoneId: not a Route 53 zone id: {s.hosted_zone_id!r}")
    if s.certificate_arn and not _ACM_ARN.match(s.certificate_arn):
        raise ConfigError(f"config certificateArn: must be an ACM certificate ARN in us-east-1 "
                          f"(CloudFront reads certificates only there), got {s.certificate_arn!r}")


def _validate_cookie(s: Settings) -> None:
    if not s.cookie_name:
        if s.cookie_domain:
            raise ConfigError("config cookieDomain: needs cookieName (cookie tokens are on when cookieName is set)")
        return
    if not _COOKIE_NAME.match(s.cookie_name):
        raise ConfigError(f"config cookieName: letters, digits and - _ . only, got {s.cookie_name!r}")
    if not s.domain_name:
        # RFC 6265 section 5.3: a browser stores a cookie only for the host that set it or a parent
        # domain of it, and *.cloudfront.net is a public suffix. So only the distribution's own host
        # can set the media cookie, and <video src> on an app's page sends it only when that host is
        # the app's site.
        raise ConfigError("config cookieName: needs domainName (e.g. media.example.com under the app's site): the "
                          "token cookie must be set by the media host itself, and a <video src> on the app's "
                          "pages sends it only when that host is part of the app's site, which a "
                          "*.cloudfront.net name never is")
    if s.cookie_domain and not (s.domain_name == s.cookie_domain or s.domain_name.endswith("." + s.cookie_domain)):
        raise ConfigError(f"config cookieDomain: must be domainName ({s.domain_name}) or a parent domain of it "
                          f"(browsers drop a cookie whose Domain does not cover the host that set it), "
                          f"got {s.cookie_domain!r}")
    if s.cookie_domain and s.cookie_domain != s.domain_name and not s.cookie_shared_with_subdomains:
        raise ConfigError(f"config cookieDomain: {s.cookie_domain} sends the token cookie to every host under it, "
                          f"and lets any of them set one; leave it \"\" (a host-only __Host- cookie for "
                          f"{s.domain_name}), or accept that with `pulumi config set cookieSharedWithSubdomains true`")
    if s.cookie_domain and s.cookie_name.startswith(HOST_COOKIE_PREFIX):
        raise ConfigError(f"config cookieName: a {HOST_COOKIE_PREFIX} cookie has no Domain (browsers refuse it), "
                          f"but cookieDomain is {s.cookie_domain}")
    if s.cookie_samesite not in SAMESITE_VALUES:
        raise ConfigError(f"config cookieSameSite: one of {', '.join(SAMESITE_VALUES)}, got {s.cookie_samesite!r}")


def _validate_guardrails(s: Settings) -> None:
    if s.permissions_boundary_arn and not _POLICY_ARN.match(s.permissions_boundary_arn):
        raise ConfigError(f"config permissionsBoundaryArn: not an IAM policy ARN "
                          f"(arn:aws:iam::<account>:policy/<name>): {s.permissions_boundary_arn!r}")
    if s.web_acl_arn and not _WEB_ACL_ARN.match(s.web_acl_arn):
        raise ConfigError(f"config webAclArn: must be a WAFv2 web ACL of scope CLOUDFRONT "
                          f"(arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>), got {s.web_acl_arn!r}")
    if s.token_service_reserved_concurrency < 0:
        raise ConfigError(f"config tokenServiceReservedConcurrency: 0 (none) or more, "
                          f"got {s.token_service_reserved_concurrency}")
    if s.access_logs and s.access_log_expiration_days < 1:
        raise ConfigError(f"config accessLogExpirationDays: at least 1, got {s.access_log_expiration_days}")


def _validate_edge(s: Settings) -> None:
    if not 0 <= s.edge_leeway_seconds <= EDGE_LEEWAY_MAX_SECONDS:
        raise ConfigError(f"config edgeLeewaySeconds: must be 0..{EDGE_LEEWAY_MAX_SECONDS}, got {s.edge_leeway_seconds}")
    if not 1 <= s.edge_key_refresh_seconds <= EDGE_KEY_REFRESH_MAX_SECONDS:
        raise ConfigError(f"config edgeKeyRefreshSeconds: must be 1..{EDGE_KEY_REFRESH_MAX_SECONDS}, "
                          f"got {s.edge_key_refresh_seconds}")
    if not s.edge_key_refresh_seconds <= s.edge_max_key_staleness_seconds <= EDGE_MAX_KEY_STALENESS_MAX_SECONDS:
        raise ConfigError(f"config edgeMaxKeyStalenessSeconds: must be edgeKeyRefreshSeconds "
                          f"({s.edge_key_refresh_seconds})..{EDGE_MAX_KEY_STALENESS_MAX_SECONDS}, "
                          f"got {s.edge_max_key_staleness_seconds}")
    if s.edge_log_retention_days not in LOG_RETENTION_DAYS:
        raise ConfigError(f"config edgeLogRetentionDays: one of CloudWatch's retention periods "
                          f"{', '.join(map(str, LOG_RETENTION_DAYS))}, got {s.edge_log_retention_days}")
    # The edge's own rule (edge/config.py): its sampler's draw takes about 1/rate steps.
    if not (s.edge_allow_log_sample_rate == 0 or 0.0001 <= s.edge_allow_log_sample_rate <= 1):
        raise ConfigError(f"config edgeAllowLogSampleRate: 0 or a fraction 0.0001..1 of allowed requests to log, "
                          f"got {s.edge_allow_log_sample_rate}")
    if not 1 <= s.edge_deny_rate_alarm_percent <= 100:
        raise ConfigError(f"config edgeDenyRateAlarmPercent: 1..100, got {s.edge_deny_rate_alarm_percent}")
    if s.alarm_email and not _EMAIL.match(s.alarm_email):
        raise ConfigError(f"config alarmEmail: not an email address: {s.alarm_email!r}")


def _validate_viewing_paths(s: Settings) -> None:
    for entry in s.viewing_paths:
        # {sub} stands for a member id, which the token service only splices in when it is one
        # plain segment; a sample id checks the rest against the scope rule.
        try:
            scopes.check_scope(entry.replace(scopes.SUB_PLACEHOLDER, "member"))
        except ValueError as exc:
            raise ConfigError(f"config viewingPaths: {exc}") from None


def _validate_uploads(s: Settings) -> None:
    if not s.uploads_enabled:
        return
    if s.upload_max_bytes < 1:
        raise ConfigError(f"config uploadMaxBytes: at least 1, got {s.upload_max_bytes}")
    if not s.upload_content_types:
        raise ConfigError("config uploadContentTypes: at least one type, e.g. video/mp4 (or uploadsEnabled false)")
    for content_type in s.upload_content_types:
        if not _CONTENT_TYPE.match(content_type):
            raise ConfigError(f"config uploadContentTypes: {content_type!r} is not a lower-case type/subtype "
                              f"like video/mp4")


def _validate_processing(s: Settings) -> None:
    if not s.uploads:
        if s.webhook_url:
            raise ConfigError("config webhookUrl: the media processor sends it, but uploads are off "
                              "(uploadsEnabled, tokenService)")
        return
    # The limits are checked by the processor's own parser (infra/media_processor.py); these are Lambda's.
    if s.media_max_duration_seconds < 1:
        raise ConfigError(f"config mediaMaxDurationSeconds: at least 1, got {s.media_max_duration_seconds}")
    low, high = LAMBDA_MEMORY_MB
    if not low <= s.media_processor_memory_mb <= high:
        raise ConfigError(f"config mediaProcessorMemoryMb: {low}..{high}, got {s.media_processor_memory_mb}")
    if not 1 <= s.media_processor_timeout_seconds <= LAMBDA_MAX_TIMEOUT_SECONDS:
        raise ConfigError(f"config mediaProcessorTimeoutSeconds: 1..{LAMBDA_MAX_TIMEOUT_SECONDS}, "
                          f"got {s.media_processor_timeout_seconds}")
    if s.media_processor_reserved_concurrency < 1:
        raise ConfigError(f"config mediaProcessorReservedConcurrency: at least 1 (every upload is "
                          f"processed; to stop uploads, set uploadsEnabled false), got {s.media_processor_reserved_concurrency}")
    if s.media_processor_ephemeral_storage_mb > LAMBDA_EPHEMERAL_STORAGE_MB[1]:
        raise ConfigError(f"config uploadMaxBytes: the media processor keeps an upload and its output in /tmp, "
                          f"{s.media_processor_ephemeral_storage_mb} MB with this and mediaMaxDurationSeconds, "
                          f"more than Lambda's {LAMBDA_EPHEMERAL_STORAGE_MB[1]} MB")
    if s.webhook_url:
        # The event names the member and the asset: it must not travel in clear. The URL is not
        # echoed: receivers often carry a secret in it.
        try:
            parts = urlsplit(s.webhook_url)
            valid = parts.scheme == "https" and parts.hostname and not (parts.username or parts.password)
        except ValueError:
            valid = False
        if not valid:
            raise ConfigError("config webhookUrl: must be an https:// URL with a host and no user or password")


def _validate_idp(s: Settings) -> None:
    for key, value in (("idpIssuer", s.idp_issuer), ("idpAudience", s.idp_audience), ("idpJwksUrl", s.idp_jwks_url)):
        if not value:
            raise ConfigError(f"config {key}: required while tokenService is on "
                              f"(pulumi config set {key} VALUE, or pulumi config set tokenService false)")
    if not s.idp_algorithms:
        raise ConfigError("config idpAlgorithms: at least one, e.g. RS256")
    # No loopback exception here (the token service allows http on loopback for a local IdP): a
    # deployed token service has no local IdP, and the IdP's keys must not travel in clear.
    parts = urlsplit(s.idp_jwks_url)
    if parts.scheme != "https" or not parts.netloc:
        raise ConfigError(f"config idpJwksUrl: must be an https:// URL, got {s.idp_jwks_url!r}")
