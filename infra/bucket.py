"""The private media bucket: no public access, no ACLs, encrypted, versioned, old versions expiring."""
import json

import pulumi
import pulumi_aws as aws

from infra.config import INCOMING_PREFIX, UNSERVED_PREFIXES, key_prefix
from infra.response_headers import UPLOAD_CORS_EXPOSE_HEADERS, UPLOAD_CORS_MAX_AGE_SECONDS

# Server-side encryption headers that name KMS (SSE-KMS, and its dual-layer variant DSSE-KMS).
KMS_ENCRYPTIONS = ("aws:kms", "aws:kms:dsse")
# An upload that never completed leaves parts S3 bills for; presigned POSTs are single-part, so
# this only catches uploads made some other way.
ABORT_INCOMPLETE_UPLOAD_DAYS = 7
# The media processor deletes each upload once it is done; whatever it left (a crash, a timeout, an
# upload while it was off) goes after a day, and so do the versions its deletes leave behind.
INCOMING_EXPIRATION_DAYS = 1


def closed_bucket(name, force_destroy, opts):
    """A bucket nothing public can reach, ACLs off (BucketOwnerEnforced: the bucket policy alone
    decides), encrypted with SSE-S3: (bucket, its public access block). SSE-S3 rather than SSE-KMS:
    OAC reads SSE-S3 objects without a KMS key policy grant, and both log services write to it."""
    bucket = aws.s3.Bucket(name, force_destroy=force_destroy, opts=opts)
    access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.
            BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(sse_algorithm="AES256"),
        )],
        opts=opts,
    )
    return bucket, access_block


class PrivateBucket(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        force_destroy: bool,
        noncurrent_version_expiration_days: int,
        upload_origins: tuple = (),
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`upload_origins`: web origins whose pages upload straight to the bucket (presigned POST);
        empty for none, and then no CORS rule exists."""
        super().__init__("edge-private-media:infra:PrivateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # force_destroy stays off unless configured: a destroy must not silently delete the media.
        self.bucket, self.public_access_block = closed_bucket(name, force_destroy, child)
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        # Versioning keeps every replaced or deleted object; without an expiry those versions are
        # kept (and billed) for ever.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent-versions",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=noncurrent_version_expiration_days),
                abort_incomplete_multipart_upload=aws.s3.
                BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=ABORT_INCOMPLETE_UPLOAD_DAYS),
            ), aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-incoming",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=key_prefix(INCOMING_PREFIX)),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=INCOMING_EXPIRATION_DAYS),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=INCOMING_EXPIRATION_DAYS),
            )],
            opts=child,
        )
        if upload_origins:
            # Browsers POST the file straight to S3's own host, a cross-origin request. Only POST:
            # reads go through CloudFront, never to the bucket.
            aws.s3.BucketCorsConfiguration(
                f"{name}-upload-cors",
                bucket=self.bucket.id,
                cors_rules=[aws.s3.BucketCorsConfigurationCorsRuleArgs(
                    allowed_methods=["POST"],
                    allowed_origins=list(upload_origins),
                    allowed_headers=["*"],
                    expose_headers=UPLOAD_CORS_EXPOSE_HEADERS,
                    max_age_seconds=UPLOAD_CORS_MAX_AGE_SECONDS,
                )],
                opts=child,
            )

        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.region = self.bucket.bucket_region
        self.regional_domain_name = self.bucket.bucket_regional_domain_name
        self.register_outputs({"name": self.name, "arn": self.arn})


def bucket_policy_document(bucket_arn: str, distribution_arn: str) -> str:
    """Reads only through this one distribution (OAC), never of the unserved prefixes, and nothing
    over plain HTTP."""
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
                # An explicit Deny outweighs the Allow above, whatever the edge lets through.
                "Sid": "DenyCloudFrontUnservedPrefixes",
                "Effect": "Deny",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": [f"{bucket_arn}/{key_prefix(prefix)}*" for prefix in UNSERVED_PREFIXES],
            },
            {
                # OAC reads every object as CloudFront. An object under SSE-KMS with the aws/s3 key
                # could never be read (that key's policy cannot grant CloudFront, and it cannot be
                # changed), so refuse such an upload instead of storing an object every viewer gets
                # a 403 for. The bucket's default, SSE-S3, applies to every other upload.
                "Sid": "DenyKmsEncryptedUploads",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": list(KMS_ENCRYPTIONS)}},
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
