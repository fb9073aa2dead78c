"""docs/deploy.md against the program. The deployer policy: AWS would enforce it, and no test here
runs against AWS, so check the document itself: it parses, it grants what attaching Lambda@Edge
needs, and it covers every AWS service whose resources the program registers. The settings table:
one row per key of Pulumi.yaml, with its default."""
import fnmatch
import json
import re

import pytest

from tests.infra.conftest import COOKIE_MODE
from tests.infra.harness import REPO, project_schema, run_program

# The IAM service prefix of each pulumi-aws module the program uses.
IAM_SERVICE = {"s3": "s3", "cloudfront": "cloudfront", "lambda": "lambda", "iam": "iam", "ssm": "ssm",
               "cloudwatch": "logs", "acm": "acm", "route53": "route53", "sqs": "sqs"}


@pytest.fixture(scope="module")
def policy():
    text = (REPO / "docs" / "deploy.md").read_text()
    start = text.index("## Deployer permissions")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end != -1 else len(text)]
    [block] = re.findall(r"```json\n(.*?)```", section, re.S)
    return json.loads(block)


def _granted(policy):
    actions = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        found = statement["Action"]
        actions.update([found] if isinstance(found, str) else found)
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
