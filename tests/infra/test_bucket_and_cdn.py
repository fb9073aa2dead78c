"""The private bucket, its policy, the OAC and the distribution, as the program registers them."""
import json
import zipfile

import pytest

from edge.config import load_config
from edge.responses import cors_pairs
from tests.infra.conftest import ALIAS_CERTIFICATE_ARN, COOKIE_MODE
from tests.infra.harness import ACCOUNT, DISTRIBUTION_DOMAIN, DISTRIBUTION_ID, run_program

DISTRIBUTION_ARN = f"arn:aws:cloudfront::{ACCOUNT}:distribution/{DISTRIBUTION_ID}"


@pytest.mark.parametrize("deployed", ["deployment", "header_deployment", "full_deployment"])
def test_bucket_blocks_every_kind_of_public_access(deployed, request):
    # Uploads (on in the last two) need no public access: a presigned POST is signed by the token
    # service's role.
    deployment = request.getfixturevalue(deployed)
    bucket = deployment.one("aws:s3/bucket:Bucket")
    block = deployment.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.inputs["bucket"] == f"{bucket.name}-id"
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[flag] is True, flag


def test_bucket_owner_enforced_encrypted_versioned(deployment):
    ownership = deployment.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    encryption = deployment.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    versioning = deployment.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    for resource in (ownership, encryption, versioning):
        assert resource.inputs["bucket"] == "media-id"


def test_noncurrent_versions_expire(deployment):
    lifecycle = deployment.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.inputs["bucket"] == "media-id"
    rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}
    assert set(rules) == {"expire-noncurrent-versions", "expire-incoming"}  # the second: test_media_processor.py
    rule = rules["expire-noncurrent-versions"]
    assert rule["status"] == "Enabled"
    assert rule["filter"] == {"prefix": ""}  # every object
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert "expiration" not in rule  # current versions are never expired
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


def test_noncurrent_version_expiry_from_config():
    lifecycle = run_program({"noncurrentVersionExpirationDays": 7}).one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.inputs["rules"][0]["noncurrentVersionExpiration"] == {"noncurrentDays": 7}


def test_upload_cors_rule_lets_the_app_origins_post_and_nothing_else(header_deployment):
    cors = header_deployment.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
    assert cors.inputs["bucket"] == "media-id"
    [rule] = cors.inputs["corsRules"]
    assert rule["allowedMethods"] == ["POST"]
    assert rule["allowedOrigins"] == ["https://app.example.com", "https://admin.example.com"]
    assert rule["allowedHeaders"] == ["*"]
    assert rule["maxAgeSeconds"] > 0


@pytest.mark.parametrize("overrides", [
    {"tokenService": True, "uploadsEnabled": False},
    {"tokenService": False, "uploadsEnabled": True},  # uploads are the token service's
    {"tokenService": True, "corsAllowedOrigins": []},  # no page to upload from
], ids=["uploads off", "token service off", "no origins"])
def test_no_upload_cors_rule_without_browser_uploads(overrides):
    assert not run_program(overrides).of_type("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")


def test_no_force_destroy_unless_configured(deployment):
    assert deployment.one("aws:s3/bucket:Bucket").inputs["forceDestroy"] is False
    forced = run_program({"bucketForceDestroy": True})
    assert forced.one("aws:s3/bucket:Bucket").inputs["forceDestroy"] is True


def test_bucket_policy_allows_only_this_distribution_and_denies_plain_http(deployment):
    bucket = deployment.one("aws:s3/bucket:Bucket")
    bucket_arn = bucket.outputs["arn"]
    policy = deployment.one("aws:s3/bucketPolicy:BucketPolicy")
    assert policy.inputs["bucket"] == "media-id"
    statements = json.loads(policy.inputs["policy"])["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    denies = {s["Sid"]: s for s in statements if s["Effect"] == "Deny"}
    assert len(allows) == 1
    # DenyCloudFrontUnservedPrefixes: test_media_processor.py.
    assert {"DenyInsecureTransport", "DenyCloudFrontUnservedPrefixes"} <= set(denies)

    allow = allows[0]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Resource"] == f"{bucket_arn}/*"
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}}

    deny = denies["DenyInsecureTransport"]
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert sorted(deny["Resource"]) == sorted([bucket_arn, f"{bucket_arn}/*"])
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_origin_access_control_signs_every_request(deployment):
    oac = deployment.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert oac.inputs["originAccessControlOriginType"] == "s3"
    assert oac.inputs["signingProtocol"] == "sigv4"
    assert oac.inputs["signingBehavior"] == "always"


def test_distribution_reads_the_bucket_through_the_oac(deployment):
    bucket = deployment.one("aws:s3/bucket:Bucket")
    oac = deployment.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    distribution = deployment.one("aws:cloudfront/distribution:Distribution")
    [origin] = distribution.inputs["origins"]
    assert origin["domainName"] == bucket.outputs["bucketRegionalDomainName"]
    assert origin["originAccessControlId"] == f"{oac.name}-id"
    assert "s3OriginConfig" not in origin and "customOriginConfig" not in origin  # no OAI, not a web origin
    assert distribution.inputs["defaultCacheBehavior"]["targetOriginId"] == origin["originId"]


def test_distribution_viewer_settings(deployment):
    distribution = deployment.one("aws:cloudfront/distribution:Distribution").inputs
    behavior = distribution["defaultCacheBehavior"]
    assert distribution["enabled"] is True
    assert behavior["allowedMethods"] == ["GET", "HEAD", "OPTIONS"]
    assert behavior["compress"] is True
    assert distribution["httpVersion"] == "http2and3"
    assert distribution["priceClass"] == "PriceClass_100"
    assert behavior["cachePolicyId"] == "cdn-cache-id"
    assert behavior["responseHeadersPolicyId"] == "cdn-headers-id"
    assert "forwardedValues" not in behavior  # the cache policy decides, not legacy settings


@pytest.mark.parametrize("deployed", ["deployment", "full_deployment"])
def test_every_behavior_refuses_plain_http(deployed, request):
    # A redirect would come too late: the first http:// request has already carried its token in clear.
    distribution = request.getfixturevalue(deployed).one("aws:cloudfront/distribution:Distribution").inputs
    behaviors = [distribution["defaultCacheBehavior"], *distribution.get("orderedCacheBehaviors", [])]
    assert len(behaviors) == (2 if deployed == "full_deployment" else 1)
    for behavior in behaviors:
        assert behavior["viewerProtocolPolicy"] == "https-only", behavior.get("pathPattern", "default")


def test_price_class_from_config():
    distribution = run_program({"priceClass": "PriceClass_All"}).one("aws:cloudfront/distribution:Distribution")
    assert distribution.inputs["priceClass"] == "PriceClass_All"


def test_edge_function_attached_as_viewer_request_by_published_version(deployment):
    function = deployment.one("aws:lambda/function:Function", "viewer-auth")
    behavior = deployment.one("aws:cloudfront/distribution:Distribution").inputs["defaultCacheBehavior"]
    [association] = behavior["lambdaFunctionAssociations"]
    assert association["eventType"] == "viewer-request"
    assert association["lambdaArn"] == function.outputs["qualifiedArn"]
    assert association["lambdaArn"].rsplit(":", 1)[1].isdigit()  # a numbered version, never $LATEST
    assert association["includeBody"] is False


def test_cache_key_never_holds_authorization_or_the_token_cookie(full_deployment):
    policy = full_deployment.one("aws:cloudfront/cachePolicy:CachePolicy").inputs
    params = policy["parametersInCacheKeyAndForwardedToOrigin"]
    assert params["headersConfig"] == {"headerBehavior": "none"}
    assert params["cookiesConfig"] == {"cookieBehavior": "none"}
    assert params["queryStringsConfig"] == {"queryStringBehavior": "none"}
    keyed_on = json.dumps(params).lower()
    assert "authorization" not in keyed_on and "media_token" not in keyed_on


def test_response_headers_policy_cors_for_configured_origins(deployment):
    cors = deployment.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
                          "cdn-headers").inputs["corsConfig"]
    assert cors["accessControlAllowOrigins"]["items"] == ["https://app.example.com", "https://admin.example.com"]
    assert {"Authorization", "Range"} <= set(cors["accessControlAllowHeaders"]["items"])
    assert "*" not in cors["accessControlAllowHeaders"]["items"]  # * does not cover Authorization
    assert set(cors["accessControlExposeHeaders"]["items"]) == {"Content-Range", "Accept-Ranges", "Content-Length"}
    assert cors["accessControlAllowMethods"]["items"] == ["GET", "HEAD", "OPTIONS"]
    assert cors["accessControlAllowCredentials"] is False
    assert cors["originOverride"] is True


def _edge_config(deployment):
    archive = deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["code"]
    with zipfile.ZipFile(archive.path) as package:
        return load_config(json.loads(package.read("edge/config.json")))


@pytest.mark.parametrize(("deployed", "credentials"), [("header_deployment", False), ("full_deployment", True)])
def test_edge_answers_and_headers_policy_agree_on_credentials(deployed, credentials, request):
    """The edge answers 401/403 and preflights itself; CloudFront adds the policy's headers to what
    the bucket serves. A browser must get the same credentials grant from both, or in cookie mode
    it would see a 401 but never the video."""
    deployment = request.getfixturevalue(deployed)
    policy = deployment.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
                            "cdn-headers").inputs["corsConfig"]
    edge_grant = dict(cors_pairs(_edge_config(deployment), "https://app.example.com"))
    assert policy["accessControlAllowCredentials"] is credentials
    assert ("Access-Control-Allow-Credentials" in edge_grant) is credentials
    if credentials:
        assert edge_grant["Access-Control-Allow-Credentials"] == "true"
        assert "*" not in policy["accessControlAllowOrigins"]["items"]  # a credentialed grant names its origin


def test_response_headers_policy_security_headers(deployment):
    security = deployment.one(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "cdn-headers").inputs["securityHeadersConfig"]
    hsts = security["strictTransportSecurity"]
    assert hsts["accessControlMaxAgeSec"] >= 31536000 and hsts["override"] is True
    assert security["contentTypeOptions"] == {"override": True}
    assert security["frameOptions"] == {"frameOption": "DENY", "override": True}
    assert security["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"


def test_no_browser_cache_keeps_an_answer(deployment):
    """Every answer is one member's: browsers are told not to store it (web/'s worker relies on this,
    not on its requests' cache mode, so that one preflight serves every range)."""
    custom = deployment.one(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "cdn-headers").inputs["customHeadersConfig"]
    assert custom["items"] == [{"header": "Cache-Control", "value": "private, no-store", "override": True}]


def test_media_never_runs_as_a_page(deployment):
    # Objects are bytes members uploaded: no sniffing them into HTML, no scripts if opened as a page.
    security = deployment.one(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "cdn-headers").inputs["securityHeadersConfig"]
    assert security["contentTypeOptions"] == {"override": True}  # X-Content-Type-Options: nosniff
    csp = security["contentSecurityPolicy"]
    assert csp["override"] is True
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp["contentSecurityPolicy"].split(";")}
    assert directives["default-src"] == "default-src 'none'"
    assert directives["sandbox"] == "sandbox"  # no allow-scripts, no allow-same-origin
    assert directives["media-src"] == "media-src 'self'"
    assert "script-src" not in directives


def test_token_service_served_under_the_media_host_in_cookie_mode(full_deployment):
    distribution = full_deployment.one("aws:cloudfront/distribution:Distribution").inputs
    function_url = full_deployment.one("aws:lambda/functionUrl:FunctionUrl").outputs["functionUrl"]
    [behavior] = distribution["orderedCacheBehaviors"]
    token_origin = next(o for o in distribution["origins"] if o["originId"] == behavior["targetOriginId"])
    assert function_url == f"https://{token_origin['domainName']}/"
    assert token_origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert "originAccessControlId" not in token_origin  # no signing: the URL is public, the service checks callers
    assert behavior["pathPattern"] == "/token*"
    assert {"POST", "OPTIONS", "GET"} <= set(behavior["allowedMethods"])
    assert behavior["cachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert behavior["originRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    # The gate must not run here: a token request carries the app's token, not a viewing token.
    assert not behavior.get("lambdaFunctionAssociations")
    # Security headers only (tests/infra/test_guardrails.py): the service answers CORS itself.
    token_headers = full_deployment.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
                                        "cdn-token-headers")
    assert behavior["responseHeadersPolicyId"] == f"{token_headers.name}-id"
    assert "corsConfig" not in token_headers.inputs
    assert full_deployment.exports["tokenUrl"] == "https://media.example.com/token"


def test_token_service_not_under_the_media_host_in_header_mode(header_deployment):
    distribution = header_deployment.one("aws:cloudfront/distribution:Distribution").inputs
    assert "orderedCacheBehaviors" not in distribution
    assert len(distribution["origins"]) == 1
    assert header_deployment.exports["tokenUrl"] == header_deployment.exports["tokenServiceUrl"] + "token"


def test_no_cors_config_without_origins():
    policy = run_program({"corsAllowedOrigins": []}).one(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "cdn-headers")
    assert "corsConfig" not in policy.inputs
    assert "securityHeadersConfig" in policy.inputs


def test_default_certificate_without_alias(deployment):
    distribution = deployment.one("aws:cloudfront/distribution:Distribution").inputs
    assert distribution["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert "aliases" not in distribution
    assert not deployment.of_type("aws:acm/certificate:Certificate")
    assert not deployment.of_type("aws:route53/record:Record")
    assert deployment.exports["mediaUrl"] == f"https://{DISTRIBUTION_DOMAIN}"


@pytest.fixture(scope="module")
def aliased():
    return run_program({"domainName": "media.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"})


def test_alias_gets_a_dns_validated_certificate_in_us_east_1(aliased):
    certificate = aliased.one("aws:acm/certificate:Certificate")
    assert certificate.inputs["domainName"] == "media.example.com"
    assert certificate.inputs["validationMethod"] == "DNS"
    assert certificate.inputs["region"] == "us-east-1"
    validation_record = aliased.one("aws:route53/record:Record", "alias-certificate-validation")
    option = certificate.outputs["domainValidationOptions"][0]
    assert validation_record.inputs["zoneId"] == "Z0123456789ABCDEFGHIJ"
    assert validation_record.inputs["name"] == option["resourceRecordName"]
    assert validation_record.inputs["type"] == "CNAME"
    assert validation_record.inputs["records"] == [option["resourceRecordValue"]]
    validation = aliased.one("aws:acm/certificateValidation:CertificateValidation")
    assert validation.inputs["certificateArn"] == certificate.outputs["arn"]
    assert validation.inputs["validationRecordFqdns"] == [validation_record.outputs["fqdn"]]
    assert validation.inputs["region"] == "us-east-1"


def test_alias_distribution_uses_the_validated_certificate_with_modern_tls(aliased):
    certificate = aliased.one("aws:acm/certificate:Certificate")
    distribution = aliased.one("aws:cloudfront/distribution:Distribution").inputs
    assert distribution["aliases"] == ["media.example.com"]
    assert distribution["viewerCertificate"] == {
        "acmCertificateArn": certificate.outputs["arn"],
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    assert aliased.exports["mediaUrl"] == "https://media.example.com"


def test_alias_records_point_at_the_distribution(aliased):
    for record_type in ("A", "AAAA"):
        record = aliased.one("aws:route53/record:Record", f"cdn-alias-{record_type.lower()}")
        assert record.inputs["type"] == record_type
        assert record.inputs["name"] == "media.example.com"
        assert record.inputs["zoneId"] == "Z0123456789ABCDEFGHIJ"
        assert record.inputs["aliases"] == [
            {"name": DISTRIBUTION_DOMAIN, "zoneId": "Z2FDTNDATAQYW2", "evaluateTargetHealth": False}]


def test_alias_with_an_existing_certificate():
    arn = ALIAS_CERTIFICATE_ARN
    deployment = run_program({"domainName": "media.example.com", "certificateArn": arn})
    distribution = deployment.one("aws:cloudfront/distribution:Distribution").inputs
    assert distribution["aliases"] == ["media.example.com"]
    assert distribution["viewerCertificate"]["acmCertificateArn"] == arn
    assert distribution["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert not deployment.of_type("aws:acm/certificate:Certificate")
    assert not deployment.of_type("aws:route53/record:Record")  # DNS is the operator's, elsewhere
