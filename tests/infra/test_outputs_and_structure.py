"""Stack outputs, and the shape of the program: components own every resource."""
import pytest

from tests.infra.harness import DISTRIBUTION_DOMAIN, DISTRIBUTION_ID, run_program

COMPONENT_PREFIX = "edge-private-media:infra:"


def test_outputs_give_clients_and_operators_what_they_need(full_deployment):
    exports = full_deployment.exports
    bucket = full_deployment.one("aws:s3/bucket:Bucket")
    edge = full_deployment.one("aws:lambda/function:Function", "viewer-auth")
    assert exports["bucketName"] == bucket.outputs["bucket"]
    assert exports["distributionId"] == DISTRIBUTION_ID
    assert exports["distributionDomain"] == DISTRIBUTION_DOMAIN
    assert exports["mediaUrl"] == "https://media.example.com"
    assert exports["issuer"] == "https://tokens.example.com"
    assert exports["audience"] == "https://media.example.com"
    assert exports["jwksParameterName"] == "/edge-private-media/test/jwks"
    assert exports["signingKeyParameterNames"] == {
        "2025-01": "/edge-private-media/test/signing-keys/2025-01",
        "2025-02": "/edge-private-media/test/signing-keys/2025-02",
    }
    assert exports["edgeFunctionName"] == edge.inputs["name"]
    assert exports["edgeFunctionQualifiedArn"] == edge.outputs["qualifiedArn"]
    assert exports["tokenServiceUrl"].startswith("https://")
    assert exports["tokenUrl"] == "https://media.example.com/token"
    assert set(exports) == {
        "bucketName", "distributionId", "distributionDomain", "mediaUrl", "issuer", "audience",
        "jwksParameterName", "signingKeyParameterNames", "activeKid", "edgeFunctionName", "edgeFunctionQualifiedArn",
        "tokenServiceUrl", "tokenUrl", "mediaProcessorFunctionName", "mediaProcessorFailureQueueUrl",
        "dashboardName", "alarmTopicArns",
    }


@pytest.fixture(scope="module")
def everything(full_deployment):
    """Every component at least once: the full deployment plus an alias with its certificate."""
    aliased = run_program({"domainName": "media.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"})
    return [full_deployment, aliased]


def test_every_cloud_resource_belongs_to_a_component(everything):
    for resource in [r for deployment in everything for r in deployment.resources]:
        if resource.type.startswith(COMPONENT_PREFIX):
            assert resource.parent_types == ["pulumi:pulumi:Stack"], resource.name
        else:
            assert resource.parent_types[-1].startswith(COMPONENT_PREFIX), (resource.type, resource.name)


def test_every_component_registers_its_outputs(everything):
    seen = set()
    for deployment in everything:
        for component in [r for r in deployment.resources if r.type.startswith(COMPONENT_PREFIX)]:
            assert component.urn in deployment.urns_with_outputs, component.name
            seen.add(component.type.removeprefix(COMPONENT_PREFIX))
    assert seen == {"SigningKeys", "EdgeFunction", "PrivateBucket", "MediaCdn", "TokenService", "AliasCertificate",
                    "MediaProcessor", "Monitoring"}
