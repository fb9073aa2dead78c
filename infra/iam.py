"""IAM policy documents shared by the two Lambda roles, as JSON text."""
import json


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
