"""An ACM certificate for the distribution's alias, issued in us-east-1 and validated through Route 53."""
import pulumi
import pulumi_aws as aws

from infra.config import EDGE_REGION


class AliasCertificate(pulumi.ComponentResource):
    """`arn` is the certificate's ARN once ACM has issued it (CloudFront rejects a pending one)."""

    def __init__(self, name: str, domain_name: str, hosted_zone_id: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("edge-private-media:infra:AliasCertificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # CloudFront only reads certificates from us-east-1, whatever the stack's region.
        certificate = aws.acm.Certificate(
            name,
            domain_name=domain_name,
            validation_method="DNS",
            region=EDGE_REGION,
            opts=child,
        )
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{name}-validation",
            zone_id=hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            region=EDGE_REGION,
            opts=child,
        )
        self.arn = validation.certificate_arn
        self.register_outputs({"arn": self.arn})
