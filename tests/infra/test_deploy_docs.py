"""docs/deploy.md against the program. The deployer policy and the permissions boundary: AWS would
enforce them, and no test here runs against AWS, so check the documents themselves: they parse, the
deployer policy grants what attaching Lambda@Edge needs, covers every AWS service whose resources the
program registers, and creates no role without the boundary; the boundary holds every role policy
the program writes. The settings table: one row per key of Pulumi.yaml, with its default."""
import fnmatch
import json
import re

import pytest

from tests.infra.conftest import COOKIE_MODE
from tests.infra.harness import ACCOUNT, REPO, project_schema, run_program

# The IAM service prefix of each pulumi-aws module the program uses.
IAM_SERVICE = {"s3": "s3", "cloudfront": "cloudfront", "lambda": "lambda", "iam": "iam", "ssm": "ssm",
               "cloudwatch": "logs", "sns": "sns", "acm": "acm", "route53": "route53", "sqs": "sqs"}


# The placeholders of both documents, as the test stack fills them in.
PLACEHOLDERS = {"ACCOUNT_ID": ACCOUNT, "NAME_PREFIX": "edge-private-media-test",
                "PARAMETER_PREFIX": "edge-private-media/test", "BOUNDARY_NAME": "media-boundary"}
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/media-boundary"
# Every part that makes a role or writes a role policy (the webhook adds the processor's secret).
EVERY_ROLE = {"tokenService": True, "tokenServiceSnapStart": True, **COOKIE_MODE, "cdnAccessLogs": True,
              "bucketAccessLogs": True, "webhookUrl": "https://app.example.com/hooks/media",
              "permissionsBoundaryArn": BOUNDARY_ARN}


def _document(heading):
    """The one JSON block of a `## heading` section of deploy.md, placeholders filled in."""
    text = (REPO / "docs" / "deploy.md").read_text()
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end != -1 else len(text)]
    [block] = re.findall(r"```json\n(.*?)```", section, re.S)
    for placeholder, value in PLACEHOLDERS.items():
        block = block.replace(placeholder, value)
    return json.loads(block)


@pytest.fixture(scope="module")
def policy():
    return _document("Deployer permissions")


@pytest.fixture(scope="module")
def boundary():
    return _document("Permissions boundary")


@pytest.fixture(scope="module")
def every_role():
    return run_program(EVERY_ROLE)


def _listed(value):
    return [value] if isinstance(value, str) else value


def _granted(policy):
    actions = set()
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            actions.update(_listed(statement["Action"]))
    return actions


def _allows(actions, needed):
    return any(fnmatch.fnmatchcase(needed.lower(), pattern.lower()) for pattern in actions)


def test_policy_grants_what_attaching_lambda_at_edge_needs(policy):
    # CloudFront Developer Guide, "Set up IAM permissions and roles for Lambda@Edge".
    actions = _granted(policy)
    for needed in ("lambda:GetFunction", "iam:CreateServiceLinkedRole", "cloudfront:CreateDistribution",
                   "cloudfront:UpdateDistribution", "lambda:PublishVersion", "iam:PassRole"):
        assert _allows(actions, needed), needed
    # The guide: these two must be written with the trailing "*".
    assert {"lambda:EnableReplication*", "lambda:DisableReplication*"} <= actions


def test_policy_covers_every_service_the_program_manages(policy):
    services = {action.split(":")[0] for action in _granted(policy)}
    deployments = [run_program({"tokenService": True, "tokenServiceSnapStart": True, **COOKIE_MODE}),
                   run_program({"domainName": "media.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"})]
    used = {r.type.split(":")[1].split("/")[0] for d in deployments for r in d.resources if r.type.startswith("aws:")}
    assert {IAM_SERVICE[module] for module in used} <= services


TYPE_NAMES = {"string": "string", "integer": "integer", "boolean": "boolean", "array": "list of strings"}


def _documented_default(spec):
    if "default" not in spec:
        return "required"
    default = spec["default"]
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, list):
        return f"`{json.dumps(default)}`"
    return f"`{json.dumps(default) if default == '' else default}`"


def test_settings_table_has_every_key_with_its_type_and_default():
    text = (REPO / "docs" / "deploy.md").read_text()
    start = text.index("### Settings")
    section = text[start:text.index("\n## ", start)]
    rows = {m[0]: (m[1].strip(), m[2].strip())
            for m in re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|", section, re.M)}
    config = project_schema()
    assert set(rows) == set(config)
    for key, spec in config.items():
        type_name, default = rows[key]
        assert type_name == TYPE_NAMES[spec["type"]], key
        # A row may add a gloss after the value, e.g. `""` (off).
        assert default.startswith(_documented_default(spec)), (key, default)


def _matches(patterns, value):
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in _listed(patterns))


def test_deployer_creates_or_widens_a_role_only_with_the_boundary(policy):
    """The way to admin: a role with any policy, passed to a function behind a public URL. Every
    statement that allows making or widening a role requires the boundary."""
    widening = ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary")
    allowing = [s for s in policy["Statement"] if s["Effect"] == "Allow"
                and any(_allows(_listed(s["Action"]), action) for action in widening)]
    assert {a for s in allowing for a in _listed(s["Action"])} >= set(widening[:3])
    for statement in allowing:
        assert statement["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}, statement["Sid"]
    denied = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    # Never without a boundary, never another one, never the boundary policy changed.
    unconditional = {a for s in denied if "Condition" not in s for a in _listed(s["Action"])}
    assert {"iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
            "iam:DeletePolicy"} <= unconditional
    [other] = [s for s in denied if "Condition" in s]
    assert set(_listed(other["Action"])) == {"iam:CreateRole", "iam:PutRolePermissionsBoundary"}
    assert other["Condition"] == {"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}
    assert other["Resource"] == "*"


def test_deployer_may_make_and_pass_every_role_the_program_makes(policy, every_role):
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    roles = every_role.of_type("aws:iam/role:Role")
    assert len(roles) >= 2
    for role in roles:
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role.name}-a1b2c3d"  # auto-named: <name>-<7 random characters>
        for sid in ("FunctionRolesOnlyWithTheBoundary", "FunctionRoles", "PassFunctionRolesToLambda"):
            assert _matches(by_sid[sid]["Resource"], arn), (sid, role.name)


def test_boundary_allows_no_iam_lambda_or_wildcard_resource(boundary):
    for statement in boundary["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in _listed(statement["Action"]):
            assert action.split(":")[0] in {"logs", "ssm", "kms", "s3", "sqs"}, action
            assert "*" not in action, action
        for resource in _listed(statement["Resource"]):
            assert resource != "*" and f":{ACCOUNT}:" in resource or resource.startswith("arn:aws:s3:::media-")
    [decrypt] = [s for s in boundary["Statement"] if "kms:Decrypt" in _listed(s["Action"])]
    assert decrypt["Condition"] == {"StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}}


def test_every_role_policy_fits_inside_the_boundary(boundary, every_role):
    role_policies = every_role.of_type("aws:iam/rolePolicy:RolePolicy")
    assert len(role_policies) >= 2
    for role_policy in role_policies:
        for statement in json.loads(role_policy.inputs["policy"])["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in _listed(statement["Action"]):
                for resource in _listed(statement["Resource"]):
                    covering = [s for s in boundary["Statement"]
                                if _matches(s["Action"], action) and _matches(s["Resource"], resource)]
                    assert covering, (role_policy.name, statement.get("Sid"), action, resource)
                    if action == "kms:Decrypt":  # only as SSM: the role's own condition must say so
                        pattern = covering[0]["Condition"]["StringLike"]["kms:ViaService"]
                        assert fnmatch.fnmatchcase(statement["Condition"]["StringEquals"]["kms:ViaService"], pattern)
