"""The log group of a regional Lambda function (the token service, the media processor).

Created by the program, not by Lambda on first use, so it has a retention and the function's role
can be limited to it. Named, as the edge's groups are, with a suffix made once per deployment and
kept in the state: Lambda makes `/aws/lambda/<function>` itself when the function runs without it
(an earlier deployment, a stack removed without destroy), and creating a group of that name would
then fail with ResourceAlreadyExistsException. The function logs to it through its logging config.
"""
import pulumi
import pulumi_aws as aws
import pulumi_random as random

LOG_GROUP_SUFFIX_BYTES = 4


def function_log_group(name: str, function_name: str, retention_days: int,
                       opts: pulumi.ResourceOptions) -> aws.cloudwatch.LogGroup:
    suffix = random.RandomId(f"{name}-logs-suffix", byte_length=LOG_GROUP_SUFFIX_BYTES, opts=opts)
    return aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=pulumi.Output.concat(f"/aws/lambda/{function_name}-", suffix.hex),
        retention_in_days=retention_days,
        opts=opts,
    )
