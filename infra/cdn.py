"""CloudFront in front of the private bucket: OAC to the origin, the edge gate on every viewer request."""
import pulumi
import pulumi_aws as aws

from infra.bucket import PrivateBucket, bucket_policy_document

ORIGIN_ID = "private-media-bucket"
VIEWER_METHODS = ["GET", "HEAD", "OPTIONS"]
# The browser needs these to play and seek: fetch() with a Range header, then read the 206's framing.
CORS_ALLOW_HEADERS = ["Authorization", "Range"]
CORS_EXPOSE_HEADERS = ["Content-Range", "Accept-Ranges", "Content-Length"]
CORS_MAX_AGE_SECONDS = 600
HSTS_MAX_AGE_SECONDS = 63072000  # two years
MIN_TLS = "TLSv1.2_2021"


class MediaCdn(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        bucket: PrivateBucket,
        viewer_request_lambda_arn: pulumi.Input[str],
        cors_allowed_origins: tuple,
        price_class: str,
        domain_name: str | None = None,
        certificate_arn: pulumi.Input[str] | None = None,
        hosted_zone_id: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
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
        headers_policy = _response_headers_policy(f"{name}-headers", cors_allowed_origins, child)

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
            )],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=ORIGIN_ID,
                viewer_protocol_policy="redirect-to-https",
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
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=price_class,
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none"),
            ),
            viewer_certificate=viewer_certificate,
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


def _response_headers_policy(name, cors_allowed_origins, opts):
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
            # Tokens travel in the Authorization header; cookie tokens are for same-site <video src>,
            # which makes no CORS request, so credentialed CORS is never needed.
            access_control_allow_credentials=False,
            access_control_max_age_sec=CORS_MAX_AGE_SECONDS,
            origin_override=True,
        )
    security = aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
        strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
            access_control_max_age_sec=HSTS_MAX_AGE_SECONDS, include_subdomains=True, override=True),
        content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
            override=True),
        frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
            frame_option="DENY", override=True),
        referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
            referrer_policy="strict-origin-when-cross-origin", override=True),
    )
    return aws.cloudfront.ResponseHeadersPolicy(
        name,
        comment="CORS for the configured origins and security headers",
        cors_config=cors,
        security_headers_config=security,
        opts=opts,
    )
