"""CloudFront in front of the private bucket: OAC to the origin, the edge gate on every viewer request.

In cookie mode the distribution also serves the token service at /token*, so that the cookie
POST /token sets belongs to the media host (see infra.config.Settings.token_service_behind_cdn).
"""
import pulumi
import pulumi_aws as aws

from infra.bucket import PrivateBucket, bucket_policy_document
from infra.response_headers import (
    CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS, FRAME_OPTION, HSTS_MAX_AGE_SECONDS,
    MEDIA_CONTENT_SECURITY_POLICY, REFERRER_POLICY, TOKEN_CONTENT_SECURITY_POLICY, VIEWER_CACHE_CONTROL,
)

ORIGIN_ID = "private-media-bucket"
TOKEN_ORIGIN_ID = "token-service"
TOKEN_PATH_PATTERN = "/token*"
VIEWER_METHODS = ["GET", "HEAD", "OPTIONS"]
# CloudFront takes only three method sets; POST is in the full one only.
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
# Managed policies (CloudFront Developer Guide, "Use managed cache policies" and "Use managed origin
# request policies"). CachingDisabled: every token request reaches the service. AllViewerExceptHostHeader:
# every viewer header, cookie and query string but Host, which a function URL must see as its own.
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
MIN_TLS = "TLSv1.2_2021"


class MediaCdn(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        bucket: PrivateBucket,
        viewer_request_lambda_arn: pulumi.Input[str],
        cors_allowed_origins: tuple,
        cookie_mode: bool,
        price_class: str,
        domain_name: str | None = None,
        certificate_arn: pulumi.Input[str] | None = None,
        hosted_zone_id: str | None = None,
        token_service_url: pulumi.Input[str] | None = None,
        web_acl_arn: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`cookie_mode`: the edge accepts a token cookie (credentialed CORS). `token_service_url`:
        the token service's function URL, to serve at /token* (no gate: it authenticates callers).
        `web_acl_arn`: an existing WAF web ACL (scope CLOUDFRONT) in front of every request."""
        super().__init__("edge-private-media:infra:MediaCdn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # "always" signs every origin request and replaces any viewer Authorization header, so
        # the viewer's token never reaches S3 and S3 never sees an unsigned request.
        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            description="Signed reads from the private media bucket",
            opts=child,
        )
        cache_policy = _cache_policy(f"{name}-cache", child)
        headers_policy = _response_headers_policy(f"{name}-headers", cors_allowed_origins, cookie_mode, child)

        token_origins, token_behaviors = [], []
        if token_service_url is not None:
            token_headers = aws.cloudfront.ResponseHeadersPolicy(
                f"{name}-token-headers",
                comment="The token service's answers: HSTS, nosniff, never framed; its own CORS passes through",
                security_headers_config=_security_headers(TOKEN_CONTENT_SECURITY_POLICY),
                opts=child,
            )
            token_origins, token_behaviors = _token_service_route(token_service_url, token_headers.id)

        if domain_name:
            viewer_certificate = aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version=MIN_TLS,
            )
        else:
            viewer_certificate = aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True)

        self.distribution = aws.cloudfront.Distribution(
            name,
            enabled=True,
            comment="Private media; every viewer request is checked by the Lambda@Edge gate",
            aliases=[domain_name] if domain_name else None,
            origins=[aws.cloudfront.DistributionOriginArgs(
                origin_id=ORIGIN_ID,
                domain_name=bucket.regional_domain_name,
                origin_access_control_id=oac.id,
            )] + token_origins,
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=ORIGIN_ID,
                # Not redirect-to-https: the first http:// request would carry its token in clear
                # before any redirect. Plain http gets 403 and never reaches the gate.
                viewer_protocol_policy="https-only",
                allowed_methods=VIEWER_METHODS,
                cached_methods=["GET", "HEAD"],
                compress=True,
                cache_policy_id=cache_policy.id,
                response_headers_policy_id=headers_policy.id,
                lambda_function_associations=[
                    aws.cloudfront.DistributionDefaultCacheBehaviorLambdaFunctionAssociationArgs(
                        event_type="viewer-request",
                        lambda_arn=viewer_request_lambda_arn,
                        include_body=False,
                    ),
                ],
            ),
            ordered_cache_behaviors=token_behaviors or None,
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=price_class,
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none"),
            ),
            viewer_certificate=viewer_certificate,
            # WAFv2 takes the web ACL's ARN here (the field's name is from WAF Classic's ids).
            web_acl_id=web_acl_arn,
            opts=child,
        )

        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.bucket.id,
            policy=pulumi.Output.all(bucket.arn, self.distribution.arn).apply(
                lambda arns: bucket_policy_document(*arns)),
            # S3 refuses concurrent changes to one bucket's access settings.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[bucket.public_access_block]),
        )

        if domain_name and hosted_zone_id:
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"{name}-alias-{record_type.lower()}",
                    zone_id=hosted_zone_id,
                    name=domain_name,
                    type=record_type,
                    aliases=[aws.route53.RecordAliasArgs(
                        name=self.distribution.domain_name,
                        zone_id=self.distribution.hosted_zone_id,
                        evaluate_target_health=False,
                    )],
                    opts=child,
                )

        self.id = self.distribution.id
        self.arn = self.distribution.arn
        self.domain_name = self.distribution.domain_name
        self.url = pulumi.Output.concat("https://", domain_name or self.distribution.domain_name)
        self.register_outputs({"id": self.id, "domain_name": self.domain_name, "url": self.url})


def _token_service_route(function_url, headers_policy_id):
    """The token service's origin and its /token* behavior: no caching, the viewer's headers,
    cookies and body passed through, and no edge function (the service authenticates callers)."""
    host = pulumi.Output.from_input(function_url).apply(lambda url: url.removeprefix("https://").rstrip("/"))
    origin = aws.cloudfront.DistributionOriginArgs(
        origin_id=TOKEN_ORIGIN_ID,
        domain_name=host,
        custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
            http_port=80,
            https_port=443,
            origin_protocol_policy="https-only",
            origin_ssl_protocols=["TLSv1.2"],
        ),
    )
    behavior = aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
        path_pattern=TOKEN_PATH_PATTERN,
        target_origin_id=TOKEN_ORIGIN_ID,
        viewer_protocol_policy="https-only",
        allowed_methods=ALL_METHODS,
        cached_methods=["GET", "HEAD"],
        cache_policy_id=CACHING_DISABLED_POLICY_ID,
        origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST_POLICY_ID,
        response_headers_policy_id=headers_policy_id,
    )
    return [origin], [behavior]


def _cache_policy(name, opts):
    """Keyed on the path alone. Headers, cookies and query strings stay out of the key, so the
    Authorization header, the token cookie and any query token never split or leak into the cache,
    and S3 (which needs none of them) is not sent them either. The viewer-request function runs
    before the cache lookup, so a cached object is still served only to a verified token."""
    return aws.cloudfront.CachePolicy(
        name,
        comment="Path-only cache key: never Authorization, cookies or query strings",
        min_ttl=0,
        default_ttl=86400,
        max_ttl=31536000,
        parameters_in_cache_key_and_forwarded_to_origin=aws.cloudfront.
        CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
            headers_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                header_behavior="none"),
            cookies_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                cookie_behavior="none"),
            query_strings_config=aws.cloudfront.
            CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(query_string_behavior="none"),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        ),
        opts=opts,
    )


def _response_headers_policy(name, cors_allowed_origins, cookie_mode, opts):
    cors = None
    if cors_allowed_origins:
        cors = aws.cloudfront.ResponseHeadersPolicyCorsConfigArgs(
            access_control_allow_origins=aws.cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowOriginsArgs(
                items=list(cors_allowed_origins)),
            access_control_allow_methods=aws.cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowMethodsArgs(
                items=VIEWER_METHODS),
            access_control_allow_headers=aws.cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowHeadersArgs(
                items=CORS_ALLOW_HEADERS),
            access_control_expose_headers=aws.cloudfront.ResponseHeadersPolicyCorsConfigAccessControlExposeHeadersArgs(
                items=CORS_EXPOSE_HEADERS),
            # In cookie mode a page's fetch() or <video crossorigin="use-credentials"> sends the
            # cookie, and the browser hands over the answer only with this grant. The edge's own
            # answers (401/403, preflights) say the same (edge/responses.py, cors_pairs).
            access_control_allow_credentials=cookie_mode,
            access_control_max_age_sec=CORS_MAX_AGE_SECONDS,
            origin_override=True,
        )
    return aws.cloudfront.ResponseHeadersPolicy(
        name,
        comment="CORS for the configured origins; security headers that keep any object from acting as a page",
        cors_config=cors,
        security_headers_config=_security_headers(MEDIA_CONTENT_SECURITY_POLICY),
        custom_headers_config=aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigArgs(items=[
            aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigItemArgs(
                header="Cache-Control", value=VIEWER_CACHE_CONTROL, override=True)]),
        opts=opts,
    )


def _security_headers(content_security_policy):
    """HSTS, nosniff, no framing, the referrer policy and `content_security_policy`, each overriding
    what the origin sent (infra.response_headers.security_headers lists the same as pairs)."""
    return aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
        strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
            access_control_max_age_sec=HSTS_MAX_AGE_SECONDS, include_subdomains=True, override=True),
        content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
            override=True),
        frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
            frame_option=FRAME_OPTION, override=True),
        referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
            referrer_policy=REFERRER_POLICY, override=True),
        content_security_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
            content_security_policy=content_security_policy, override=True),
    )
