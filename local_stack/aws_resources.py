"""What `pulumi up` would create in AWS, created in moto: private bucket, objects, keys in SSM, IAM.

moto enforces IAM (INITIAL_NO_AUTH_ACTION_COUNT, see moto_server): after the few unsigned calls
that create an admin, every request must be SigV4-signed by a known user whose policies allow it.
Each part gets its own user, as each AWS part has its own role:
- `cloudfront-oac` may only s3:GetObject on the bucket's objects (the OAC's bucket policy grant);
- `edge-function` may only ssm:GetParameter (the edge's role: the JWKS parameter);
- `token-service` may ssm:GetParameter (its role: its signing key parameter) and, in a policy of
  its own, s3:PutObject on the bucket's `incoming/*` (its role's upload grant: the presigned POSTs
  it signs are checked against it) and what the asset endpoints need: list `assets/` and
  `incoming/`, read `assets/*`, delete under `videos/*` and `assets/*`. A process has one AWS
  identity (the standard environment), so the token service's upload identity is this user, as it
  is its Lambda role in AWS;
- `media-processor` reads and deletes `incoming/*`, writes and deletes `videos/*` and `assets/*`,
  and may ssm:GetParameter (the webhook secret).
moto checks the action of an SSM call but not the parameter ARN (a policy naming the ARN is
refused outright), so the SSM grants name no resource here; in AWS they name one parameter.
moto does check S3 resources: the upload grant opens `incoming/*` and no other key.
"""
import dataclasses
import json

import boto3

REGION = "us-east-1"  # where Lambda@Edge and the SSM parameters it reads live
ADMIN_USER = "local-stack-admin"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
BOOTSTRAP_CALLS = 3  # the unsigned calls bootstrap_admin makes; moto enforces IAM after them


@dataclasses.dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str

    def env(self):
        """Environment variables that make boto3 in a child process act as this user."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_DEFAULT_REGION": REGION}


def client(service, endpoint, key):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key)


def bootstrap_admin(endpoint):
    """The stack's own admin, made with moto's BOOTSTRAP_CALLS unsigned calls; nobody else is unsigned."""
    iam = client("iam", endpoint, AccessKey("bootstrap", "bootstrap"))
    iam.create_user(UserName=ADMIN_USER)
    iam.put_user_policy(UserName=ADMIN_USER, PolicyName="admin", PolicyDocument=json.dumps(ALLOW_ALL))
    created = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    return AccessKey(created["AccessKeyId"], created["SecretAccessKey"])


def create_user(iam, name, policies):
    """A user with inline policies {policy name: [statements]} and an access key."""
    iam.create_user(UserName=name)
    for policy_name, statements in policies.items():
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
    created = iam.create_access_key(UserName=name)["AccessKey"]
    return AccessKey(created["AccessKeyId"], created["SecretAccessKey"])


def create_private_bucket(s3, bucket, objects):
    s3.create_bucket(Bucket=bucket)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    for obj in objects:
        with open(obj.source, "rb") as body:  # streamed: --media files may be large
            s3.put_object(Bucket=bucket, Key=obj.key, Body=body, ContentType=obj.content_type)


def put_signing_keys(ssm, key_parameter, private_pem, jwks_parameter, jwks):
    """The production layout: each private key a SecureString holding its PEM, the JWKS one String."""
    ssm.put_parameter(Name=key_parameter, Value=private_pem.decode(), Type="SecureString",
                      Description="token service signing key (PEM)")
    ssm.put_parameter(Name=jwks_parameter, Value=json.dumps(jwks, separators=(",", ":")), Type="String",
                      Description="public keys the edge accepts (JWKS)")


def upload_statements(bucket):
    """The token service's upload and asset grants: new objects under incoming/ only; the status
    records read and listed, a member's asset deleted (docs/uploads.md, "Credentials")."""
    objects = f"arn:aws:s3:::{bucket}"
    return [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{objects}/incoming/*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{objects}/assets/*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": objects,
             "Condition": {"StringLike": {"s3:prefix": ["assets/*", "incoming/*"]}}},
            {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": [f"{objects}/videos/*", f"{objects}/assets/*"]}]


def processor_statements(bucket):
    """The media processor's grant: take an upload, publish the asset, record its status."""
    objects = f"arn:aws:s3:::{bucket}"
    return [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject"], "Resource": f"{objects}/incoming/*"},
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
             "Resource": [f"{objects}/videos/*", f"{objects}/assets/*"]},
            {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}]


def provision(endpoint, admin, bucket, objects, key_parameter, private_pem, jwks_parameter, jwks, webhook_secret):
    """Everything in moto; returns the access keys of the parts: {"cdn", "edge", "token_service",
    "media_processor"}. `webhook_secret` = (parameter name, secret): the processor's signing secret."""
    create_private_bucket(client("s3", endpoint, admin), bucket, objects)
    ssm = client("ssm", endpoint, admin)
    put_signing_keys(ssm, key_parameter, private_pem, jwks_parameter, jwks)
    ssm.put_parameter(Name=webhook_secret[0], Value=webhook_secret[1], Type="SecureString",
                      Description="media processor webhook signing secret")
    iam = client("iam", endpoint, admin)
    read_parameter = [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}]
    return {
        "cdn": create_user(iam, "cloudfront-oac", {"cloudfront-oac-policy": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}),
        "edge": create_user(iam, "edge-function", {"edge-function-policy": read_parameter}),
        "token_service": create_user(iam, "token-service", {"token-service-policy": read_parameter,
                                                            "token-service-upload": upload_statements(bucket)}),
        "media_processor": create_user(iam, "media-processor", {"media-processor-policy": processor_statements(bucket)}),
    }
