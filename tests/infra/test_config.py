"""Pulumi.yaml's schema, the example stack, and clear errors for bad stack config."""
import pulumi
import pytest
import yaml

from infra.config import ConfigError, load_settings
from tests.infra.conftest import COOKIE_MODE
from tests.infra.harness import BASE_CONFIG, PROJECT, REPO, RecordingMocks, project_schema, run_program, stack_config

REQUIRED = {"issuer", "audience", "signingKeys", "activeSigningKey"}


def test_project_runs_python_from_the_virtualenv_with_pip():
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}


def test_every_setting_is_typed_and_described():
    for key, spec in project_schema().items():
        assert spec["type"] in ("string", "integer", "boolean", "array"), key
        assert len(spec.get("description", "")) > 20, key
        if spec["type"] == "array":
            assert spec["items"] == {"type": "string"}, key
        if "default" in spec:
            expected = {"string": str, "integer": int, "boolean": bool, "array": list}[spec["type"]]
            assert isinstance(spec["default"], expected), key


def test_only_the_essentials_are_required():
    # A key without a default is required by the CLI ("missing configuration value").
    assert {key for key, spec in project_schema().items() if "default" not in spec} == REQUIRED


class _RecordingConfig:
    def __init__(self, values):
        self.values, self.read = values, set()

    def get(self, key):
        self.read.add(key)
        return self.values.get(key)


def test_program_reads_exactly_the_declared_settings():
    values = {key.split(":", 1)[1]: value for key, value in stack_config({}, BASE_CONFIG).items()}
    config = _RecordingConfig(values)
    load_settings(config, PROJECT, "dev")
    assert config.read == set(project_schema())


def test_example_stack_uses_only_declared_settings_and_no_secrets():
    stack = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())["config"]
    declared = set(project_schema())
    for key, value in stack.items():
        namespace, name = key.split(":", 1)
        assert namespace in (PROJECT, "aws"), key
        if namespace == PROJECT:
            assert name in declared, key
        assert not (isinstance(value, dict) and "secure" in value), key
    assert REQUIRED <= {key.split(":", 1)[1] for key in stack}


def test_example_stack_deploys():
    stack = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())["config"]
    overrides = {key.split(":", 1)[1]: value for key, value in stack.items() if key.startswith(f"{PROJECT}:")}
    deployment = run_program(overrides, base={})
    assert deployment.exports["tokenServiceUrl"].startswith("https://")
    assert len(deployment.of_type("tls:index/privateKey:PrivateKey")) == 1


BAD_CONFIG = [
    ({"issuer": ""}, "config issuer: required"),
    ({"issuer": "https://tokens.example.com/ x"}, "config issuer: must not contain whitespace"),
    ({"audience": None}, "config audience: missing"),
    ({"signingKeys": "k1"}, "config signingKeys: not a list"),
    ({"signingKeys": []}, "config signingKeys: 1 to 4 key names"),
    ({"signingKeys": ["a", "b", "c", "d", "e"], "activeSigningKey": "a"}, "config signingKeys: 1 to 4"),
    ({"signingKeys": ["k1", "k1"], "activeSigningKey": "k1"}, "config signingKeys: names must be unique"),
    ({"signingKeys": ["bad/name"], "activeSigningKey": "bad/name"}, "config signingKeys: 'bad/name' is not a key"),
    ({"activeSigningKey": "2024-12"}, "config activeSigningKey: '2024-12' is not one of signingKeys"),
    ({"signingKeyBits": 1024}, "config signingKeyBits: one of 2048, 3072, 4096"),
    ({"signingKeyBits": "big"}, "config signingKeyBits: not an integer"),
    ({"tokenLifetimeSeconds": 7200}, "config tokenLifetimeSeconds: must be 1..maxTokenLifetimeSeconds"),
    ({"maxTokenLifetimeSeconds": 0}, "config maxTokenLifetimeSeconds: must be 1..86400"),
    ({"corsAllowedOrigins": ["https://app.example.com/path"]}, "config corsAllowedOrigins: 'https://app.example.com/path'"),
    ({"corsAllowedOrigins": ["app.example.com"]}, "config corsAllowedOrigins: 'app.example.com' is not an origin"),
    ({**COOKIE_MODE, "cookieName": "my cookie"}, "config cookieName: letters, digits"),
    ({"cookieDomain": "example.com"}, "config cookieDomain: needs cookieName"),
    # No host but the distribution's can set a cookie for it, and *.cloudfront.net is never the app's site.
    ({"cookieName": "media_token"}, "config cookieName: needs domainName"),
    ({**COOKIE_MODE, "cookieDomain": "other.example"}, "config cookieDomain: must be domainName (media.example.com) or a parent"),
    ({**COOKIE_MODE, "cookieDomain": "ample.com"}, "config cookieDomain: must be domainName"),
    ({**COOKIE_MODE, "cookieSameSite": "lax"}, "config cookieSameSite: one of Strict, Lax, None"),
    ({"priceClass": "PriceClass_Cheap"}, "config priceClass: one of PriceClass_100"),
    ({"domainName": "media.example.com"}, "config domainName: set exactly one of hostedZoneId"),
    ({"domainName": "media.example.com", "hostedZoneId": "Z0123456789", "certificateArn":
      "arn:aws:acm:us-east-1:123456789012:certificate/x"}, "config domainName: set exactly one"),
    ({"domainName": "Media.Example.com", "hostedZoneId": "Z0123456789"}, "config domainName: not a lower-case"),
    ({"domainName": "media.example.com", "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/x"},
     "config certificateArn: must be an ACM certificate ARN in us-east-1"),
    ({"domainName": "media.example.com", "hostedZoneId": "example.com"}, "config hostedZoneId: not a Route 53"),
    ({"hostedZoneId": "Z0123456789"}, "config hostedZoneId: only used with domainName"),
    ({"parameterPrefix": "media/prod"}, "config parameterPrefix: a path like /media/prod"),
    ({"parameterPrefix": "/aws/media"}, "config parameterPrefix"),
    ({"bucketForceDestroy": "yes"}, "config bucketForceDestroy: not true or false"),
    ({"tokenService": True, "idpJwksUrl": ""}, "config idpJwksUrl: required while tokenService is on"),
    ({"tokenService": True, "idpIssuer": ""}, "config idpIssuer: required while tokenService is on"),
    ({"tokenService": True, "idpJwksUrl": "http://idp.example.com/jwks"}, "config idpJwksUrl: must be an https"),
    # The token service allows http on loopback for a local IdP; a deployed stack has none.
    ({"tokenService": True, "idpJwksUrl": "http://127.0.0.1:8000/jwks"}, "config idpJwksUrl: must be an https"),
    ({"tokenService": True, "viewingPaths": ["videos/{sub}/"]}, "config viewingPaths: scope 'videos/member/' must start"),
    ({"tokenService": True, "viewingPaths": ["/videos/../{sub}/"]}, "config viewingPaths: scope '/videos/../member/' has an empty or dot"),
    ({"tokenService": True, "viewingPaths": ["/videos//{sub}/"]}, "config viewingPaths"),
    ({"tokenService": True, "viewingPaths": ["/videos/\x01/"]}, "config viewingPaths"),
    ({"tokenService": True, "viewingPaths": ["/videos/**/"]}, "config viewingPaths: scope '/videos/**/' has more than one"),
    ({"viewingPaths": ["/videos/{sub}/"]}, "config viewingPaths: a token service setting, but tokenService is off"),
    ({"tokenServiceSnapStart": True}, "config tokenServiceSnapStart: a token service setting"),
    ({"tokenService": True, "idpAlgorithms": ["HS256"]}, "token service settings: TOKEN_SERVICE_IDP_ALGORITHMS"),
    ({"tokenService": True, "idpAlgorithms": []}, "config idpAlgorithms: at least one"),
    ({"tokenService": True, "uploadMaxBytes": 0}, "config uploadMaxBytes: at least 1"),
    ({"tokenService": True, "uploadContentTypes": []}, "config uploadContentTypes: at least one type"),
    ({"tokenService": True, "uploadContentTypes": ["text/html; charset=utf-8"]}, "config uploadContentTypes: 'text/html; charset=utf-8'"),
    ({"tokenService": True, "uploadContentTypes": ["video"]}, "config uploadContentTypes: 'video' is not"),
    ({"edgeLeewaySeconds": 301}, "config edgeLeewaySeconds: must be 0..300"),
    ({"edgeLeewaySeconds": -1}, "config edgeLeewaySeconds"),
    ({"edgeKeyRefreshSeconds": 0}, "config edgeKeyRefreshSeconds: must be 1..86400"),
    ({"edgeKeyRefreshSeconds": 600, "edgeMaxKeyStalenessSeconds": 300}, "config edgeMaxKeyStalenessSeconds: must be edgeKeyRefreshSeconds (600)"),
    ({"edgeMaxKeyStalenessSeconds": 31 * 86400}, "config edgeMaxKeyStalenessSeconds"),
    ({"edgeLogRetentionDays": 31}, "config edgeLogRetentionDays: one of CloudWatch's retention periods"),
    ({"edgeLogRetentionDays": 0}, "config edgeLogRetentionDays"),
    ({"noncurrentVersionExpirationDays": 0}, "config noncurrentVersionExpirationDays: at least 1"),
    ({"uploadsEnabled": "maybe"}, "config uploadsEnabled: not true or false"),
    # Beyond infra's own checks, the token service's parser has the last word on its settings.
    ({"tokenService": True, "tokenLifetimeSeconds": 7200, "maxTokenLifetimeSeconds": 86400},
     "token service settings: TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_CONFIG, ids=[m for _, m in BAD_CONFIG])
def test_bad_config_stops_before_any_resource_with_a_message_naming_the_setting(overrides, message):
    mocks = RecordingMocks()
    with pytest.raises(ConfigError) as raised:
        run_program(overrides, mocks=mocks)
    assert message in str(raised.value)
    assert isinstance(raised.value, pulumi.RunError)  # Pulumi prints the message, not a traceback
    assert mocks.resources == []


def test_turning_the_token_service_off_needs_no_idp_settings():
    deployment = run_program({"tokenService": False, "idpIssuer": "", "idpAudience": "", "idpJwksUrl": ""})
    assert "tokenServiceUrl" not in deployment.exports
