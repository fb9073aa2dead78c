"""The private media bucket: no public access, no ACLs, encrypted, versioned."""
import json

import pulumi
import pulumi_aws as aws


class PrivateBucket(pulumi.ComponentResource):
    def __init__(self, name: str, force_destroy: bool, opts: pulumi.ResourceOptions | None = None):
        super().__init__("edge-private-media:infra:PrivateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # force_destroy stays off unless configured: a destroy must not silently delete the media.
        self.bucket = aws.s3.Bucket(name, force_destroy=force_destroy, opts=child)
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # BucketOwnerEnforced turns ACLs off: access is decided by the bucket policy alone.
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        # SSE-S3 rather than SSE-KMS: OAC reads SSE-S3 objects without a KMS key policy grant.
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(sse_algorithm="AES256"),
            )],
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )

        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.regional_domain_name = self.bucket.bucket_regional_domain_name
        self.register_outputs({"name": self.name, "arn": self.arn})


def bucket_policy_document(bucket_arn: str, distribution_arn: str) -> str:
    """Reads only through this one distribution (OAC), and nothing over plain HTTP."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowCloudFrontOriginAccessControl",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    })
