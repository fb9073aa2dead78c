"""The local stack: the whole system on one machine, no AWS account (`make dev`, `python -m local_stack`).

moto as S3 + SSM with IAM enforced, a local identity provider, the token service, a CloudFront
stand-in running the built edge package, and a demo page. See the README, "The local stack".
"""
