"""The stack's IAM roles (`role`: every role goes through it) and the policy documents they share, as JSON text."""
import json

import pulumi
import pulumi_aws as aws

from infra.config import Settings


def role(name: str, *, settings: Settings, description: str, services: tuple,
         opts: pulumi.ResourceOptions | None = None) -> aws.iam.Role:
    """A role the given AWS services assume, capped by the stack's permissions boundary
    (`permissionsBoundaryArn`). Every role the stack creates is made here: the documented deployer
    policy lets it create only roles that carry the boundary (docs/deploy.md, "Deployer permissions")."""
    return aws.iam.Role(
        name,
        description=description,
        assume_role_policy=assume_role_policy(*services),
        permissions_boundary=settings.permissions_boundary_arn,
        opts=opts,
    )


def assume_role_policy(*services: str) -> str:
    """Trust policy letting the given AWS services assume the role."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": sorted(services)},
            "Action": "sts:AssumeRole",
        }],
    })


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def log_statement(log_group_arns: list) -> dict:
    """Write access to the named log groups only (creating them, their streams and events)."""
    resources = []
    for arn in log_group_arns:
        resources += [arn, f"{arn}:*"]  # the group, and its streams
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": resources,
    }



def secure_parameter_statements(name: str, region: str, account_id: str, parameter_arns: list) -> list:
    """Read the given SecureString parameters (`Read<name>`) and decrypt them (`Decrypt<name>`).

    SecureStrings use the account's aws/ssm key. Naming it would need a lookup that fails before the
    account's first SecureString exists, so Decrypt is scoped by how it is used: only through SSM in
    `region`, and only for these parameters (SSM passes the parameter ARN as encryption context).
    """
    return [
        {
            "Sid": f"Read{name}",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": parameter_arns,
        },
        {
            "Sid": f"Decrypt{name}",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": f"arn:aws:kms:{region}:{account_id}:key/*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"ssm.{region}.amazonaws.com",
                    "kms:EncryptionContext:PARAMETER_ARN": parameter_arns,
                },
            },
        },
    ]
