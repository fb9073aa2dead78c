"""Signing keys, the JWKS, the edge role and function, and the edge package the program builds."""
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from edge.config import load_config
from tests.cf import bearer, viewer_request
from tests.infra.conftest import COOKIE_MODE
from tests.infra.harness import ACCOUNT, RANDOM_HEX, RecordingMocks, is_secret, plain, rsa_key_pems, run_program
from token_service.keys import public_jwk, thumbprint

PREFIX = "/edge-private-media/test"
# The name ends in the per-deployment RandomId (8 hex digits; the mocks answer RANDOM_HEX).
EDGE_NAME = f"edge-private-media-test-viewer-auth-{RANDOM_HEX[:8]}"
# Amazon CloudFront Developer Guide, "Choosing the AWS Region for Origin Shield": the Regions with
# a regional edge cache, where Lambda@Edge replicas run and log.
REGIONAL_EDGE_CACHE_REGIONS = {"us-east-1", "us-east-2", "us-west-2", "ap-south-1", "ap-northeast-1",
                               "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "eu-central-1", "eu-west-1",
                               "eu-west-2", "sa-east-1"}


def key_pems(name, bits=2048):
    return rsa_key_pems(f"signing-keys-{name}", bits)


def test_each_listed_key_is_generated_rsa_2048(deployment):
    keys = deployment.of_type("tls:index/privateKey:PrivateKey")
    assert sorted(k.name for k in keys) == ["signing-keys-2025-01", "signing-keys-2025-02"]
    for key in keys:
        assert key.inputs["algorithm"] == "RSA"
        assert key.inputs["rsaBits"] == 2048


def test_key_size_from_config():
    keys = run_program({"signingKeyBits": 3072}).of_type("tls:index/privateKey:PrivateKey")
    assert {k.inputs["rsaBits"] for k in keys} == {3072}


def test_private_keys_in_secure_strings_in_us_east_1(deployment):
    for name in ("2025-01", "2025-02"):
        parameter = deployment.parameter(f"{PREFIX}/signing-keys/{name}")
        assert parameter.inputs["type"] == "SecureString"
        assert parameter.inputs["tier"] == "Standard"
        assert parameter.inputs["region"] == "us-east-1"
        assert is_secret(parameter.inputs["value"])
        assert plain(parameter.inputs["value"]) == key_pems(name)[0]


def test_jwks_parameter_holds_every_listed_public_key(deployment):
    parameter = deployment.parameter(f"{PREFIX}/jwks")
    assert parameter.inputs["type"] == "String"
    assert parameter.inputs["tier"] == "Standard"
    assert parameter.inputs["region"] == "us-east-1"
    expected = [public_jwk(load_pem_public_key(key_pems(name)[1].encode())) for name in ("2025-01", "2025-02")]
    assert json.loads(plain(parameter.inputs["value"])) == {"keys": expected}
    for jwk in expected:  # the contract's shape
        assert (jwk["kty"], jwk["use"], jwk["alg"], jwk["e"]) == ("RSA", "sig", "RS256", "AQAB")


def test_active_kid_is_the_thumbprint_of_the_active_key(deployment):
    active = load_pem_public_key(key_pems("2025-02")[1].encode())
    assert deployment.exports["activeKid"] == thumbprint(active)


def test_retiring_a_key_removes_it_everywhere():
    deployment = run_program({"signingKeys": ["2025-02"], "activeSigningKey": "2025-02"})
    assert [k.name for k in deployment.of_type("tls:index/privateKey:PrivateKey")] == ["signing-keys-2025-02"]
    jwks = json.loads(plain(deployment.parameter(f"{PREFIX}/jwks").inputs["value"]))
    assert [k["kid"] for k in jwks["keys"]] == [deployment.exports["activeKid"]]
    assert list(deployment.exports["signingKeyParameterNames"]) == ["2025-02"]


def test_parameter_prefix_from_config():
    deployment = run_program({"parameterPrefix": "/media/prod"})
    names = sorted(p.inputs["name"] for p in deployment.of_type("aws:ssm/parameter:Parameter"))
    assert names == ["/media/prod/jwks", "/media/prod/signing-keys/2025-01", "/media/prod/signing-keys/2025-02"]


@pytest.mark.parametrize("overrides", [
    {},
    {"signingKeys": ["jwks"], "activeSigningKey": "jwks"},
    {"signingKeys": ["jwks", "2025-01", "signing-keys"], "activeSigningKey": "2025-01"},
    {"tokenService": True, **COOKIE_MODE},
    {"tokenService": True, "tokenServiceSnapStart": True, "domainName": "media.example.com",
     "hostedZoneId": "Z0123456789ABCDEFGHIJ"},
], ids=["base", "key named jwks", "keys named like resources", "cookie mode", "snapstart with alias"])
def test_no_two_resources_share_type_and_name(overrides):
    """A real engine gives a resource the URN <type>::<name> and refuses a second one; the mocks
    do not, so count them here."""
    mocks = RecordingMocks()
    run_program(overrides, mocks=mocks)
    seen = [(r.type, r.name) for r in mocks.resources]
    assert len(seen) == len(set(seen)), sorted({x for x in seen if seen.count(x) > 1})


def test_key_named_jwks_gets_its_own_parameter():
    deployment = run_program({"signingKeys": ["jwks"], "activeSigningKey": "jwks"})
    assert deployment.parameter(f"{PREFIX}/signing-keys/jwks").inputs["type"] == "SecureString"
    assert deployment.parameter(f"{PREFIX}/jwks").inputs["type"] == "String"


def test_edge_role_trusts_lambda_and_edgelambda_only(deployment):
    role = deployment.one("aws:iam/role:Role", "viewer-auth-role")
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert sorted(statement["Principal"]["Service"]) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]


def test_edge_role_has_one_inline_policy_and_nothing_managed(deployment):
    role = deployment.one("aws:iam/role:Role", "viewer-auth-role")
    assert "managedPolicyArns" not in role.inputs and "inlinePolicies" not in role.inputs
    assert not deployment.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not deployment.of_type("aws:iam/policyAttachment:PolicyAttachment")
    policies = [p for p in deployment.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == "viewer-auth-role-id"]
    assert len(policies) == 1


def test_edge_policy_reads_only_the_jwks_and_writes_only_its_logs(deployment):
    policy = deployment.one("aws:iam/rolePolicy:RolePolicy", "viewer-auth-policy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    jwks_arn = deployment.parameter(f"{PREFIX}/jwks").outputs["arn"]
    log_group = f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/lambda/us-east-1.{EDGE_NAME}"
    assert all(s["Effect"] == "Allow" for s in statements)
    grants = {}
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            grants.setdefault(action, set()).update(resources)
    assert grants == {
        "ssm:GetParameter": {jwks_arn},
        "logs:CreateLogGroup": {log_group, f"{log_group}:*"},
        "logs:CreateLogStream": {log_group, f"{log_group}:*"},
        "logs:PutLogEvents": {log_group, f"{log_group}:*"},
    }


def test_edge_function_settings(deployment):
    function = deployment.one("aws:lambda/function:Function", "viewer-auth").inputs
    assert function["name"] == EDGE_NAME
    assert function["region"] == "us-east-1"
    assert function["runtime"] == "python3.13"
    assert function["handler"] == "edge.handler.handler"
    assert function["memorySize"] == 128
    assert function["timeout"] == 5
    assert function["publish"] is True
    assert function["architectures"] == ["x86_64"]
    assert function["role"] == deployment.one("aws:iam/role:Role", "viewer-auth-role").outputs["arn"]
    # Lambda@Edge allows none of these.
    for forbidden in ("environment", "layers", "vpcConfig"):
        assert forbidden not in function


def test_edge_function_survives_destroy(deployment):
    # Replicas make DeleteFunction fail for hours; the provider must leave the function alone.
    assert deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["skipDestroy"] is True


def test_edge_function_name_is_new_for_each_deployment(deployment):
    """`destroy` leaves the function behind, so the next `up` must pick another name: the suffix
    is a RandomId, made once per deployment and kept in the state."""
    suffix = deployment.one("random:index/randomId:RandomId")
    assert suffix.inputs["byteLength"] == 4
    assert suffix.parent_types[-1] == "edge-private-media:infra:EdgeFunction"
    name = deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["name"]
    assert name == f"edge-private-media-test-viewer-auth-{suffix.outputs['hex']}"
    assert deployment.exports["edgeFunctionName"] == name


def test_edge_function_name_fits_lambda_and_its_log_permission_follows_it():
    stack = "a-rather-long-stack-name-for-the-production-environment"
    deployment = run_program(stack=stack)
    name = deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["name"]
    assert len(name) <= 64
    assert name.endswith(f"-viewer-auth-{RANDOM_HEX[:8]}")
    policy = json.loads(deployment.one("aws:iam/rolePolicy:RolePolicy", "viewer-auth-policy").inputs["policy"])
    [logs] = [s for s in policy["Statement"] if s["Sid"] == "WriteOwnLogs"]
    group = f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/lambda/us-east-1.{name}"
    assert logs["Resource"] == [group, f"{group}:*"]
    for log_group in deployment.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert log_group.inputs["name"] == f"/aws/lambda/us-east-1.{name}"


def test_edge_log_groups_in_every_regional_edge_cache_region_with_retention(deployment):
    groups = [g for g in deployment.of_type("aws:cloudwatch/logGroup:LogGroup")
              if g.parent_types[-1] == "edge-private-media:infra:EdgeFunction"]
    assert {g.inputs["region"] for g in groups} == REGIONAL_EDGE_CACHE_REGIONS
    assert len(groups) == len(REGIONAL_EDGE_CACHE_REGIONS)
    for group in groups:
        assert group.inputs["name"] == f"/aws/lambda/us-east-1.{EDGE_NAME}"
        assert group.inputs["retentionInDays"] == 30


def test_log_retention_from_config_for_the_edge_and_the_token_service():
    deployment = run_program({"edgeLogRetentionDays": 7, "tokenService": True})
    groups = deployment.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == len(REGIONAL_EDGE_CACHE_REGIONS) + 2  # and the token service's and the media processor's
    assert {g.inputs["retentionInDays"] for g in groups} == {7}


@pytest.fixture(scope="module")
def edge_package(deployment, tmp_path_factory):
    """The edge zip the program built, unpacked: (directory, config.json dict, zip size)."""
    archive = deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["code"]
    directory = tmp_path_factory.mktemp("edge-package")
    with zipfile.ZipFile(archive.path) as package:
        package.extractall(directory)
    config = json.loads((directory / "edge" / "config.json").read_text())
    return directory, config, os.path.getsize(archive.path)


def test_edge_package_config_is_built_from_stack_config_and_keys(deployment, edge_package):
    _, config, _ = edge_package
    assert config["issuer"] == "https://tokens.example.com"
    assert config["audience"] == "https://media.example.com"
    assert config["jwks"] == json.loads(plain(deployment.parameter(f"{PREFIX}/jwks").inputs["value"]))
    assert config["ssm_parameter"] == f"{PREFIX}/jwks"
    assert config["ssm_region"] == "us-east-1"
    assert config["ssm_endpoint_url"] is None
    assert config["cors_allowed_origins"] == ["https://app.example.com", "https://admin.example.com"]
    assert config["cookie_name"] is None
    assert config["max_token_lifetime_seconds"] == 3600
    assert (config["leeway_seconds"], config["key_refresh_seconds"], config["max_key_staleness_seconds"]) == (
        30, 300, 86400)
    load_config(config)  # the edge accepts it as it is


def test_edge_package_is_far_under_the_viewer_request_limit(edge_package):
    directory, _, size = edge_package
    assert size <= 1_048_576
    assert (directory / "edge" / "handler.py").is_file()
    assert not (directory / "edge" / "package.py").exists()  # build-only module


def test_edge_package_carries_cookie_name_and_lifetime_cap(full_deployment):
    archive = full_deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["code"]
    with zipfile.ZipFile(archive.path) as package:
        config = json.loads(package.read("edge/config.json"))
    assert config["cookie_name"] == "__Host-media_token"  # the name the token service sets (host-only)
    capped = run_program({"maxTokenLifetimeSeconds": 900})
    with zipfile.ZipFile(capped.one("aws:lambda/function:Function", "viewer-auth").inputs["code"].path) as package:
        assert json.loads(package.read("edge/config.json"))["max_token_lifetime_seconds"] == 900


def test_edge_clock_and_key_settings_from_config():
    deployment = run_program({"edgeLeewaySeconds": 5, "edgeKeyRefreshSeconds": 60, "edgeMaxKeyStalenessSeconds": 3600})
    with zipfile.ZipFile(deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["code"].path) as package:
        config = load_config(json.loads(package.read("edge/config.json")))
    assert (config.leeway_seconds, config.key_refresh_seconds, config.max_key_staleness_seconds) == (5, 60, 3600)


def _token(private_pem, **overrides):
    key = load_pem_private_key(private_pem.encode(), password=None)
    now = int(time.time())
    claims = {"iss": "https://tokens.example.com", "aud": "https://media.example.com", "sub": "u42",
              "iat": now, "nbf": now, "exp": now + 300, "jti": uuid.uuid4().hex, **overrides}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": thumbprint(key.public_key())})


def _invoke_packaged_handler(directory, event):
    """The packaged handler in a fresh interpreter that sees only the unpacked zip, with no AWS
    credentials or metadata service, so nothing here can reach a real AWS endpoint."""
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]); from edge.handler import handler; "
              "print(json.dumps(handler(json.load(sys.stdin), None)))")
    env = {"PATH": os.environ["PATH"], "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    result = subprocess.run([sys.executable, "-I", "-c", script, str(directory)], input=json.dumps(event),
                            capture_output=True, text=True, env=env, timeout=30, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_packaged_edge_accepts_tokens_of_the_generated_keys(edge_package):
    directory, _, _ = edge_package
    for name in ("2025-01", "2025-02"):  # the retiring key still passes during the overlap
        token = _token(key_pems(name)[0])
        result = _invoke_packaged_handler(directory, viewer_request(headers=bearer(token)))
        assert "status" not in result, result  # forwarded to the origin
        assert "authorization" not in result["headers"]


def test_packaged_edge_refuses_a_token_for_another_audience(edge_package):
    directory, _, _ = edge_package
    token = _token(key_pems("2025-02")[0], aud="https://other.example.com")
    result = _invoke_packaged_handler(directory, viewer_request(headers=bearer(token)))
    assert result["status"] == "401"
