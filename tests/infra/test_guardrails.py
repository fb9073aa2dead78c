"""Least privilege and blast radius (issue 17), under Pulumi mocks: the permissions boundary on every
role, the edge zip's bytecode rule, the token service's log group, concurrency and WAF, security
headers on /token*, the __Host- cookie, SSE-KMS uploads refused, and the optional access logs."""
import json
import zipfile

import pytest

import edge.package
import infra.edge_function
from edge.package import PackageError, build_package, find_interpreter
from infra.access_logs import CLOUDFRONT_LOG_FIELDS
from infra.config import ConfigError
from tests.cf import viewer_request
from tests.infra.conftest import ALIAS_CERTIFICATE_ARN, COOKIE_MODE
from tests.infra.harness import ACCOUNT, RANDOM_HEX, STACK_REGION, RecordingMocks, project_schema, run_program
from tests.infra.test_keys_and_edge import _invoke_packaged_handler, _token, key_pems

BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/boundaries/media-boundary"
WEB_ACL_ARN = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/media/1a2b3c4d-1a2b-1a2b-1a2b-1a2b3c4d5e6f"
# Every part that makes a role or a log destination: the token service (uploads and processing on by
# default), SnapStart, cookie mode, and both access logs.
EVERYTHING = {"tokenService": True, "tokenServiceSnapStart": True, **COOKIE_MODE, "cdnAccessLogs": True,
              "bucketAccessLogs": True}


@pytest.fixture(scope="module")
def bounded():
    return run_program({**EVERYTHING, "permissionsBoundaryArn": BOUNDARY_ARN, "webAclArn": WEB_ACL_ARN})


def _statements(policy_json):
    return json.loads(policy_json)["Statement"]


# --- permissions boundary -------------------------------------------------------------------------

def test_every_role_the_stack_creates_carries_the_boundary(bounded):
    roles = bounded.of_type("aws:iam/role:Role")
    assert {"viewer-auth-role", "token-service-role"} <= {r.name for r in roles}
    for role in roles:
        assert role.inputs.get("permissionsBoundary") == BOUNDARY_ARN, role.name


def test_no_boundary_unless_configured(full_deployment):
    for role in full_deployment.of_type("aws:iam/role:Role"):
        assert "permissionsBoundary" not in role.inputs, role.name


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123456789012:role/media-boundary",       # a role, not a policy
    "arn:aws:iam::aws:policy/AdministratorAccess",         # an AWS managed policy, no account
    "media-boundary",
])
def test_boundary_must_be_a_customer_policy_arn(arn):
    with pytest.raises(ConfigError, match="config permissionsBoundaryArn: not an IAM policy ARN"):
        run_program({"permissionsBoundaryArn": arn})


# --- edge bytecode -------------------------------------------------------------------------------

def test_bytecode_default_without_the_interpreter_stops_before_any_resource(monkeypatch):
    monkeypatch.setattr(infra.edge_function, "find_interpreter", lambda runtime: None)
    mocks = RecordingMocks()
    with pytest.raises(ConfigError) as raised:
        run_program({"edgeBytecode": True}, mocks=mocks)
    message = str(raised.value)
    assert message == ("config edgeBytecode: the edge zip ships python3.13 bytecode and this machine has no "
                       "python3.13 (PATH or pyenv): install it, or `pulumi config set edgeBytecode false` "
                       "(source only: the same zip from every machine, slower cold starts)")
    assert "\n" not in message
    assert mocks.resources == []


def test_bytecode_is_on_by_default():
    assert project_schema()["edgeBytecode"]["default"] is True


def _zip_names(deployment):
    with zipfile.ZipFile(deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["code"].path) as z:
        return z.namelist()


def test_bytecode_off_ships_source_only_whatever_the_machine_has(deployment):
    names = _zip_names(deployment)  # the test stacks set edgeBytecode false (harness.BASE_CONFIG)
    assert "edge/handler.py" in names
    assert not [n for n in names if n.endswith(".pyc")]


@pytest.mark.skipif(find_interpreter("python3.13") is None, reason="no python3.13 on this machine")
def test_bytecode_on_ships_python_3_13_bytecode():
    names = _zip_names(run_program({"edgeBytecode": True}))
    assert "edge/__pycache__/handler.cpython-313.pyc" in names


def test_builder_refuses_to_ship_source_when_bytecode_is_required(deployment, tmp_path, monkeypatch):
    with zipfile.ZipFile(deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["code"].path) as z:
        config = json.loads(z.read("edge/config.json"))
    monkeypatch.setattr(edge.package, "find_interpreter", lambda runtime: None)
    with pytest.raises(PackageError, match="no python3.13 on this machine"):
        build_package(config, tmp_path / "edge.zip", bytecode=True)
    assert not list(tmp_path.iterdir())  # no zip left behind


# --- token service: log group, concurrency ---------------------------------------------------------

def test_token_service_log_group_is_named_per_deployment_and_the_function_logs_there(full_deployment):
    suffix = next(r for r in full_deployment.of_type("random:index/randomId:RandomId")
                  if r.parent_types[-1] == "edge-private-media:infra:TokenService")
    group = full_deployment.one("aws:cloudwatch/logGroup:LogGroup", "token-service-logs")
    assert group.inputs["name"] == f"/aws/lambda/edge-private-media-test-token-service-{RANDOM_HEX[:8]}"
    assert suffix.outputs["hex"] == RANDOM_HEX[:8]
    function = full_deployment.one("aws:lambda/function:Function", "token-service").inputs
    # Not /aws/lambda/<function>, which Lambda may have made itself: the function logs to this group.
    assert function["loggingConfig"] == {"logFormat": "Text", "logGroup": group.inputs["name"]}
    policy = _statements(full_deployment.one("aws:iam/rolePolicy:RolePolicy", "token-service-policy").inputs["policy"])
    [logs] = [s for s in policy if s["Sid"] == "WriteOwnLogs"]
    assert logs["Resource"][0] == group.outputs["arn"]


def test_token_service_reserves_concurrency(full_deployment):
    function = full_deployment.one("aws:lambda/function:Function", "token-service").inputs
    assert function["reservedConcurrentExecutions"] == 20
    assert run_program({"tokenService": True, "tokenServiceReservedConcurrency": 50}).one(
        "aws:lambda/function:Function", "token-service").inputs["reservedConcurrentExecutions"] == 50
    unreserved = run_program({"tokenService": True, "tokenServiceReservedConcurrency": 0})
    assert "reservedConcurrentExecutions" not in unreserved.one("aws:lambda/function:Function", "token-service").inputs
    with pytest.raises(ConfigError, match="config tokenServiceReservedConcurrency: 0 \\(none\\) or more, got -1"):
        run_program({"tokenService": True, "tokenServiceReservedConcurrency": -1})


# --- WAF -----------------------------------------------------------------------------------------

def test_web_acl_attached_when_configured(bounded, deployment):
    assert bounded.one("aws:cloudfront/distribution:Distribution").inputs["webAclId"] == WEB_ACL_ARN
    assert "webAclId" not in deployment.one("aws:cloudfront/distribution:Distribution").inputs


@pytest.mark.parametrize("arn", [
    WEB_ACL_ARN.replace("us-east-1", "eu-west-1"),                # CLOUDFRONT scope lives in us-east-1 only
    WEB_ACL_ARN.replace(":global/", ":regional/"),                # a REGIONAL ACL (ALB, API Gateway)
    "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",                       # a WAF Classic id
    WEB_ACL_ARN + "/extra",
])
def test_web_acl_must_be_a_cloudfront_scope_arn(arn):
    with pytest.raises(ConfigError, match="config webAclArn: must be a WAFv2 web ACL of scope CLOUDFRONT"):
        run_program({"webAclArn": arn})


# --- /token* security headers ----------------------------------------------------------------------

def test_token_route_gets_security_headers_fit_for_an_api_and_its_docs(full_deployment):
    policy = full_deployment.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "cdn-token-headers")
    security = policy.inputs["securityHeadersConfig"]
    assert security["strictTransportSecurity"] == {"accessControlMaxAgeSec": 63072000, "includeSubdomains": True,
                                                   "override": True}
    assert security["contentTypeOptions"] == {"override": True}
    assert security["frameOptions"] == {"frameOption": "DENY", "override": True}
    # frame-ancestors only: FastAPI's docs page loads its scripts and styles from a CDN.
    assert security["contentSecurityPolicy"] == {"contentSecurityPolicy": "frame-ancestors 'none'", "override": True}
    assert "corsConfig" not in policy.inputs  # the service's own CORS answers pass through
    [behavior] = full_deployment.one("aws:cloudfront/distribution:Distribution").inputs["orderedCacheBehaviors"]
    assert behavior["responseHeadersPolicyId"] == "cdn-token-headers-id"


def test_no_token_headers_policy_outside_cookie_mode(header_deployment):
    names = {p.name for p in header_deployment.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")}
    assert names == {"cdn-headers"}


# --- cookie mode -----------------------------------------------------------------------------------

def _edge_cookie_name(deployment):
    with zipfile.ZipFile(deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["code"].path) as z:
        return json.loads(z.read("edge/config.json"))["cookie_name"]


def test_host_only_cookie_is_host_prefixed_for_the_edge_and_the_service(full_deployment):
    env = full_deployment.one("aws:lambda/function:Function", "token-service").inputs["environment"]["variables"]
    assert env["TOKEN_SERVICE_COOKIE_NAME"] == "__Host-media_token"
    assert "TOKEN_SERVICE_COOKIE_DOMAIN" not in env
    assert _edge_cookie_name(full_deployment) == "__Host-media_token"


def test_packaged_edge_accepts_the_token_in_the_host_prefixed_cookie(full_deployment, tmp_path):
    with zipfile.ZipFile(full_deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["code"].path) as z:
        z.extractall(tmp_path)
    token = _token(key_pems("2025-02")[0])
    accepted = _invoke_packaged_handler(tmp_path, viewer_request(headers={"cookie": f"__Host-media_token={token}"}))
    assert "status" not in accepted, accepted
    refused = _invoke_packaged_handler(tmp_path, viewer_request(headers={"cookie": f"media_token={token}"}))
    assert refused["status"] == "401"


def test_parent_domain_cookie_is_refused_unless_accepted():
    with pytest.raises(ConfigError) as raised:
        run_program({**COOKIE_MODE, "cookieDomain": "example.com"})
    assert str(raised.value) == (
        'config cookieDomain: example.com sends the token cookie to every host under it, and lets any of them set '
        'one; leave it "" (a host-only __Host- cookie for media.example.com), or accept that with '
        '`pulumi config set cookieSharedWithSubdomains true`')
    shared = run_program({"tokenService": True, **COOKIE_MODE, "cookieDomain": "example.com",
                          "cookieSharedWithSubdomains": True})
    env = shared.one("aws:lambda/function:Function", "token-service").inputs["environment"]["variables"]
    assert (env["TOKEN_SERVICE_COOKIE_NAME"], env["TOKEN_SERVICE_COOKIE_DOMAIN"]) == ("media_token", "example.com")
    assert _edge_cookie_name(shared) == "media_token"  # a __Host- cookie cannot have a Domain
    # The host itself as Domain covers no other site host: no acceptance needed.
    own = run_program({**COOKIE_MODE, "cookieDomain": "media.example.com"})
    assert _edge_cookie_name(own) == "media_token"


def test_host_prefixed_name_with_a_domain_is_refused():
    with pytest.raises(ConfigError, match="config cookieName: a __Host- cookie has no Domain"):
        run_program({"cookieName": "__Host-media_token", "cookieDomain": "media.example.com",
                     "domainName": "media.example.com", "certificateArn": ALIAS_CERTIFICATE_ARN})
    kept = run_program({**COOKIE_MODE, "cookieName": "__Host-media_token"})
    assert _edge_cookie_name(kept) == "__Host-media_token"  # not prefixed twice


# --- SSE-KMS uploads ------------------------------------------------------------------------------

def test_bucket_policy_refuses_kms_encrypted_uploads(deployment):
    statements = _statements(deployment.one("aws:s3/bucketPolicy:BucketPolicy", "cdn-bucket-policy").inputs["policy"])
    [deny] = [s for s in statements if s["Sid"] == "DenyKmsEncryptedUploads"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:PutObject"
    assert deny["Resource"] == "arn:aws:s3:::media-a1b2c3/*"
    assert deny["Condition"] == {"StringEquals": {"s3:x-amz-server-side-encryption": ["aws:kms", "aws:kms:dsse"]}}


# --- access logs ----------------------------------------------------------------------------------

def test_no_log_bucket_by_default(header_deployment):
    assert not [r for r in header_deployment.resources if r.name.startswith("access-logs")]
    assert not header_deployment.of_type("aws:s3/bucketLogging:BucketLogging")
    assert not header_deployment.of_type("aws:cloudwatch/logDeliverySource:LogDeliverySource")


def test_log_bucket_is_private_and_expires_its_logs(bounded):
    [bucket] = [b for b in bounded.of_type("aws:s3/bucket:Bucket") if b.name == "access-logs"]
    blocks = bounded.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "access-logs-public-access-block")
    assert all(blocks.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    ownership = bounded.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "access-logs-ownership")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}  # ACLs off here too
    [rule] = bounded.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                         "access-logs-lifecycle").inputs["rules"]
    assert rule["status"] == "Enabled" and rule["expiration"] == {"days": 90}
    assert bucket.outputs["bucketRegion"] == STACK_REGION  # S3 logs only to a bucket in the source's Region
    days = run_program({"bucketAccessLogs": True, "accessLogExpirationDays": 14})
    [rule] = days.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                      "access-logs-lifecycle").inputs["rules"]
    assert rule["expiration"] == {"days": 14}
    with pytest.raises(ConfigError, match="config accessLogExpirationDays: at least 1"):
        run_program({"bucketAccessLogs": True, "accessLogExpirationDays": 0})


def test_s3_server_access_logs_of_the_media_bucket(bounded):
    logging = bounded.one("aws:s3/bucketLogging:BucketLogging").inputs
    assert logging["bucket"] == "media-id" and logging["targetBucket"] == "access-logs-id"
    assert logging["targetPrefix"] == "s3-access/"
    statements = {s["Sid"]: s for s in _statements(bounded.one("aws:s3/bucketPolicy:BucketPolicy",
                                                                "access-logs-policy").inputs["policy"])}
    grant = statements["S3ServerAccessLogs"]
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"} and grant["Action"] == "s3:PutObject"
    assert grant["Resource"] == "arn:aws:s3:::access-logs-a1b2c3/s3-access/*"
    assert grant["Condition"] == {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::media-a1b2c3"},
                                  "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_cloudfront_standard_logs_v2_without_cookie_or_query(bounded):
    source = bounded.one("aws:cloudwatch/logDeliverySource:LogDeliverySource").inputs
    destination = bounded.one("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination").inputs
    delivery = bounded.one("aws:cloudwatch/logDelivery:LogDelivery").inputs
    assert source["logType"] == "ACCESS_LOGS"
    assert source["resourceArn"] == f"arn:aws:cloudfront::{ACCOUNT}:distribution/EDFDVBD6EXAMPLE"
    assert {source["region"], destination["region"], delivery["region"]} == {"us-east-1"}
    assert destination["deliveryDestinationConfiguration"] == {
        "destinationResourceArn": "arn:aws:s3:::access-logs-a1b2c3/cloudfront"}
    assert delivery["deliverySourceName"] == source["name"]
    # Never a token in a log: the cookie and the query string (the edge's opt-in query token) stay out.
    assert delivery["recordFields"] == CLOUDFRONT_LOG_FIELDS
    assert not {"cs(Cookie)", "cs-uri-query"} & set(delivery["recordFields"])
    assert {"date", "time", "c-ip", "cs-uri-stem", "sc-status"} <= set(delivery["recordFields"])
    grant = {s["Sid"]: s for s in _statements(bounded.one("aws:s3/bucketPolicy:BucketPolicy",
                                                           "access-logs-policy").inputs["policy"])}
    grant = grant["CloudFrontLogDelivery"]
    assert grant["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert grant["Resource"] == "arn:aws:s3:::access-logs-a1b2c3/cloudfront/*"
    assert grant["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:delivery-source:*"}


def test_each_access_log_is_on_by_itself():
    cdn_only = run_program({"cdnAccessLogs": True})
    assert cdn_only.of_type("aws:cloudwatch/logDelivery:LogDelivery")
    assert not cdn_only.of_type("aws:s3/bucketLogging:BucketLogging")
    s3_only = run_program({"bucketAccessLogs": True})
    assert s3_only.of_type("aws:s3/bucketLogging:BucketLogging")
    assert not s3_only.of_type("aws:cloudwatch/logDelivery:LogDelivery")
