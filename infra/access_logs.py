"""Access logs an auditor expects, both optional: CloudFront standard logs and S3 server access logs,
delivered to one log bucket that expires them.

CloudFront's logs use standard logging v2 (CloudWatch vended log delivery to S3) rather than the
distribution's legacy logging: the legacy kind needs a log bucket with ACLs on and always logs the
query string, where the edge's opt-in query token travels. v2 writes to a bucket with ACLs off
(BucketOwnerEnforced, as the media bucket) and logs only the fields listed here, never the Cookie
header or the query string. It costs $0.25 per GB delivered (docs/operations.md); legacy is free.
"""
import json

import pulumi
import pulumi_aws as aws

from infra.bucket import closed_bucket
from infra.config import EDGE_REGION, Settings

CLOUDFRONT_PREFIX = "cloudfront"
S3_PREFIX = "s3-access"
# CloudFront's standard log fields (Developer Guide, "Standard logging reference") without cs(Cookie)
# and cs-uri-query, which can carry a viewing token, and without the field-level-encryption ones.
CLOUDFRONT_LOG_FIELDS = [
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)", "cs-uri-stem", "sc-status",
    "cs(Referer)", "cs(User-Agent)", "x-edge-result-type", "x-edge-request-id", "x-host-header", "cs-protocol",
    "cs-bytes", "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher", "x-edge-response-result-type",
    "cs-protocol-version", "c-port", "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type",
    "sc-content-len", "sc-range-start", "sc-range-end",
]


class AccessLogs(pulumi.ComponentResource):
    """The log bucket (private, ACLs off, SSE-S3, objects expiring after accessLogExpirationDays),
    and the deliveries the settings turn on into it."""

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        media_bucket_name: pulumi.Input[str],
        media_bucket_arn: pulumi.Input[str],
        distribution_arn: pulumi.Input[str],
        account_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("edge-private-media:infra:AccessLogs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # In the stack's Region, as the media bucket: S3 delivers server access logs only to a bucket
        # in the source bucket's Region.
        # SSE-S3: both log services write only to buckets encrypted with it (or with a KMS key they are granted).
        self.bucket, access_block = closed_bucket(name, settings.bucket_force_destroy, child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                    days=settings.access_log_expiration_days),
            )],
            opts=child,
        )
        policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, media_bucket_arn, account_id).apply(
                lambda args: log_bucket_policy(*args)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access_block]),
        )

        if settings.bucket_access_logs:
            aws.s3.BucketLogging(
                f"{name}-media-bucket",
                bucket=media_bucket_name,
                target_bucket=self.bucket.id,
                target_prefix=f"{S3_PREFIX}/",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
        if settings.cdn_access_logs:
            # CloudFront's delivery source, and so the whole delivery, lives in us-east-1.
            source = aws.cloudwatch.LogDeliverySource(
                f"{name}-cloudfront",
                name=f"{settings.resource_prefix}-cloudfront",
                log_type="ACCESS_LOGS",
                resource_arn=distribution_arn,
                region=EDGE_REGION,
                opts=child,
            )
            destination = aws.cloudwatch.LogDeliveryDestination(
                f"{name}-cloudfront",
                name=f"{settings.resource_prefix}-cloudfront-logs",
                output_format="w3c",
                delivery_destination_configuration=aws.cloudwatch.
                LogDeliveryDestinationDeliveryDestinationConfigurationArgs(
                    destination_resource_arn=pulumi.Output.concat(self.bucket.arn, f"/{CLOUDFRONT_PREFIX}")),
                region=EDGE_REGION,
                opts=child,
            )
            aws.cloudwatch.LogDelivery(
                f"{name}-cloudfront",
                delivery_source_name=source.name,
                delivery_destination_arn=destination.arn,
                record_fields=CLOUDFRONT_LOG_FIELDS,
                region=EDGE_REGION,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
        self.bucket_name = self.bucket.bucket
        self.register_outputs({"bucket_name": self.bucket_name})


def log_bucket_policy(log_bucket_arn: str, media_bucket_arn: str, account_id: str) -> str:
    """Each log service may put objects under its own prefix, and only for this account's sources:
    S3 for the media bucket, CloudWatch's log delivery for a us-east-1 delivery source (CloudFront).
    Nothing over plain HTTP. (CloudWatch Logs User Guide, "Logs sent to Amazon S3"; Amazon S3 User
    Guide, "Permissions for log delivery".)"""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{log_bucket_arn}/{S3_PREFIX}/*",
                "Condition": {"ArnLike": {"aws:SourceArn": media_bucket_arn},
                              "StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                "Sid": "CloudFrontLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{log_bucket_arn}/{CLOUDFRONT_PREFIX}/*",
                "Condition": {
                    "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{EDGE_REGION}:{account_id}:delivery-source:*"},
                },
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [log_bucket_arn, f"{log_bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    })
