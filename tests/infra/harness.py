"""Runs the real Pulumi program (__main__.py) against pulumi.runtime mocks and records what it registers.

There is no Pulumi CLI or AWS here, so the mocks stand in for the engine: they record each
resource's inputs exactly as the program sent them, and answer with the outputs AWS would compute
(ARNs, domain names). pulumi-tls keys are answered with real RSA keys generated here, so the JWKS
the program derives is real. Like the CLI, the harness fills in Pulumi.yaml's defaults.
"""
import dataclasses
import json
import pathlib
import runpy

import pulumi
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pulumi.runtime import rpc, settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

REPO = pathlib.Path(__file__).resolve().parents[2]
PROJECT = "edge-private-media"
STACK = "test"
ACCOUNT = "123456789012"
STACK_REGION = "eu-west-1"
DISTRIBUTION_ID = "EDFDVBD6EXAMPLE"
DISTRIBUTION_DOMAIN = "d111111abcdef8.cloudfront.net"
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"
RANDOM_HEX = "5eed0123456789abcdef"  # what pulumi-random's RandomId answers, as many digits as asked

# A complete, valid stack config; tests override single keys.
BASE_CONFIG = {
    "issuer": "https://tokens.example.com",
    "audience": "https://media.example.com",
    "signingKeys": ["2025-01", "2025-02"],
    "activeSigningKey": "2025-02",
    "corsAllowedOrigins": ["https://app.example.com", "https://admin.example.com"],
    "idpIssuer": "https://idp.example.com/",
    "idpAudience": "app-api",
    "idpJwksUrl": "https://idp.example.com/.well-known/jwks.json",
    "tokenService": False,
    # Source only: the same zip on every machine, with or without python3.13 (CI has none). The
    # bytecode default is tested on its own (tests/infra/test_guardrails.py).
    "edgeBytecode": False,
}


def project_schema() -> dict:
    return yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]


def stack_config(overrides: dict, base: dict) -> dict:
    """What the CLI passes the program: Pulumi.yaml defaults, then the stack's values, as strings."""
    values = {key: spec["default"] for key, spec in project_schema().items() if "default" in spec}
    values.update(base)
    values.update(overrides)
    return {f"{PROJECT}:{key}": _config_string(value) for key, value in values.items() if value is not None}


def _config_string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


@dataclasses.dataclass
class Resource:
    type: str
    name: str
    inputs: dict
    outputs: dict
    urn: str = ""

    @property
    def parent_types(self) -> list:
        """Types of the ancestors, outermost first, as the URN spells them."""
        return self.urn.split("::")[2].split("$")[:-1]


@dataclasses.dataclass
class Deployment:
    resources: list
    exports: dict
    urns_with_outputs: set  # components that called register_outputs

    def of_type(self, type_token: str) -> list:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def parameter(self, parameter_name: str) -> Resource:
        found = [r for r in self.of_type("aws:ssm/parameter:Parameter") if r.inputs.get("name") == parameter_name]
        assert len(found) == 1, f"no SSM parameter named {parameter_name}"
        return found[0]


def is_secret(value) -> bool:
    """Whether a recorded input was sent as a Pulumi secret (encrypted in state, masked in output)."""
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def plain(value):
    return value["value"] if is_secret(value) else value


_rsa_keys = {}


def rsa_key_pems(name: str, bits: int) -> tuple:
    """(private PEM, public PEM) of a real RSA key, one per resource name and size per session."""
    if (name, bits) not in _rsa_keys:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        _rsa_keys[name, bits] = (private, public)
    return _rsa_keys[name, bits]


class RecordingMonitor(pulumi.runtime.mocks.MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.urns_with_outputs = set()

    def RegisterResourceOutputs(self, request):
        self.urns_with_outputs.add(request.urn)
        return super().RegisterResourceOutputs(request)


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.resources = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        outputs.update(_computed_outputs(args.typ, args.name, args.inputs))
        self.resources.append(Resource(args.typ, args.name, args.inputs, outputs))
        resource_id = DISTRIBUTION_ID if args.typ == "aws:cloudfront/distribution:Distribution" else f"{args.name}-id"
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer", "userId": "AIDEXAMPLE",
                    "id": ACCOUNT}
        raise AssertionError(f"the program made an unexpected provider call: {args.token}")


def _computed_outputs(type_token, name, inputs) -> dict:
    region = inputs.get("region") or STACK_REGION
    if type_token == "aws:s3/bucket:Bucket":
        bucket = f"{name}-a1b2c3"
        return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "bucketRegion": region,
                "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com"}
    if type_token == "aws:cloudfront/distribution:Distribution":
        return {"arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{DISTRIBUTION_ID}",
                "domainName": DISTRIBUTION_DOMAIN, "hostedZoneId": CLOUDFRONT_ZONE}
    if type_token == "aws:lambda/function:Function":
        arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{inputs['name']}"
        return {"arn": arn, "version": "1", "qualifiedArn": f"{arn}:1"}
    if type_token == "aws:lambda/functionUrl:FunctionUrl":
        return {"functionUrl": f"https://abcdefghij.lambda-url.{region}.on.aws/"}
    if type_token == "aws:lambda/alias:Alias":
        return {"arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{inputs['functionName']}:{inputs['name']}"}
    if type_token == "random:index/randomPassword:RandomPassword":
        return {"result": "P" * int(inputs["length"])}
    if type_token == "aws:sqs/queue:Queue":
        return {"arn": f"arn:aws:sqs:{region}:{ACCOUNT}:{inputs['name']}",
                "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{inputs['name']}"}
    if type_token == "random:index/randomId:RandomId":
        return {"hex": RANDOM_HEX[:2 * int(inputs["byteLength"])]}
    if type_token == "aws:ssm/parameter:Parameter":
        return {"arn": f"arn:aws:ssm:{region}:{ACCOUNT}:parameter{inputs['name']}"}
    if type_token == "aws:iam/role:Role":
        return {"arn": f"arn:aws:iam::{ACCOUNT}:role/{name}-r4nd0m", "name": f"{name}-r4nd0m"}
    if type_token == "aws:sns/topic:Topic":
        return {"arn": f"arn:aws:sns:{region}:{ACCOUNT}:{inputs['name']}"}
    if type_token == "aws:cloudwatch/logGroup:LogGroup":
        return {"arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{inputs['name']}"}
    if type_token == "tls:index/privateKey:PrivateKey":
        private, public = rsa_key_pems(name, int(inputs["rsaBits"]))
        return {"privateKeyPem": private, "publicKeyPem": public}
    if type_token == "aws:acm/certificate:Certificate":
        domain = inputs["domainName"]
        return {"arn": f"arn:aws:acm:{region}:{ACCOUNT}:certificate/1111-2222",
                "domainValidationOptions": [{"domainName": domain, "resourceRecordName": f"_x1.{domain}.",
                                             "resourceRecordType": "CNAME",
                                             "resourceRecordValue": "_y1.acm-validations.aws."}]}
    if type_token == "aws:route53/record:Record":
        return {"fqdn": inputs["name"]}
    return {}


def run_program(overrides: dict | None = None, mocks: RecordingMocks | None = None,
                base: dict = BASE_CONFIG, stack: str = STACK) -> Deployment:
    """Runs __main__.py as stack `stack` with `base` plus `overrides` as the stack config; raises
    what the program raises (pass `mocks` to see what was registered before that)."""
    mocks = mocks or RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_all_config(stack_config(overrides or {}, base))
    runtime_settings.ROOT.set(None)  # a fresh stack resource, so exports of earlier runs are gone
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)

    _sync_await(run_pulumi_func(lambda: runpy.run_path(str(REPO / "__main__.py"), run_name="__pulumi__")))

    urns = {(urn.split("::")[-1], urn.split("::")[2].split("$")[-1]): urn for urn in monitor.resources}
    for resource in mocks.resources:
        resource.urn = urns[resource.name, resource.type]
    stack = runtime_settings.get_root_resource()
    exports = {key: _sync_await(pulumi.Output.from_input(value).future()) for key, value in stack.outputs.items()}
    return Deployment(mocks.resources, exports, monitor.urns_with_outputs)
