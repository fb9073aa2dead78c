"""The running stack over real HTTP: the CDN stand-in in front of the edge package and the bucket."""
import base64
import hashlib
import http.client
import json

import boto3

from local_stack import demo_data
from tests.local_stack.conftest import seeded, viewing_token

STACK_KEYS = {"cdn_url", "token_url", "idp_url", "demo_url", "s3_endpoint", "bucket", "allowed_origins", "webhook_url",
              "users", "objects"}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_stack_json_has_exactly_the_documented_keys(stack):
    assert set(stack) == STACK_KEYS
    assert {tuple(sorted(u)) for u in stack["users"]} == {("password", "prefix", "username")}
    assert {tuple(sorted(o)) for o in stack["objects"]} == {("owner", "path", "sha256")}
    owners = {o["owner"] for o in stack["objects"]}
    assert owners == {u["username"] for u in stack["users"]}  # one member's file and a second member's
    for obj in stack["objects"]:
        assert obj["path"].startswith(next(u["prefix"] for u in stack["users"] if u["username"] == obj["owner"]))
    # the seeded bytes are the committed sample files
    committed = {hashlib.sha256(o.source.read_bytes()).hexdigest() for o in demo_data.OBJECTS}
    assert {o["sha256"] for o in stack["objects"]} == committed


def test_no_token_is_401_generated_at_the_edge(http, stack):
    response = http.get(stack["cdn_url"] + seeded(stack, "alice")["path"])
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert response.headers["x-cache"] == "LambdaGeneratedResponse from cloudfront"
    assert response.headers["cache-control"] == "no-store"


def test_valid_token_gets_the_seeded_bytes(http, stack, alice_token):
    obj = seeded(stack, "alice")
    response = http.get(stack["cdn_url"] + obj["path"], headers=bearer(alice_token))
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == obj["sha256"]
    assert response.headers["content-type"] == "video/webm"
    assert response.headers["x-cache"] == "Miss from cloudfront"


def test_range_is_206_with_the_right_bytes(http, stack, alice_token):
    obj = seeded(stack, "alice")
    whole = http.get(stack["cdn_url"] + obj["path"], headers=bearer(alice_token)).content
    response = http.get(stack["cdn_url"] + obj["path"], headers={**bearer(alice_token), "Range": "bytes=1000-66535"})
    assert response.status_code == 206
    assert response.content == whole[1000:66536]
    assert response.headers["content-range"] == f"bytes 1000-66535/{len(whole)}"
    tail = http.get(stack["cdn_url"] + obj["path"], headers={**bearer(alice_token), "Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == whole[-100:]


def test_unsatisfiable_range_is_416(http, stack, alice_token):
    response = http.get(stack["cdn_url"] + seeded(stack, "alice")["path"],
                        headers={**bearer(alice_token), "Range": "bytes=999999999-"})
    assert response.status_code == 416


def test_conditional_requests_pass_through_as_304(http, stack, alice_token):
    url = stack["cdn_url"] + seeded(stack, "alice")["path"]
    first = http.get(url, headers=bearer(alice_token))
    by_etag = http.get(url, headers={**bearer(alice_token), "If-None-Match": first.headers["etag"]})
    assert by_etag.status_code == 304 and by_etag.content == b""
    by_date = http.get(url, headers={**bearer(alice_token), "If-Modified-Since": first.headers["last-modified"]})
    assert by_date.status_code == 304
    changed = http.get(url, headers={**bearer(alice_token), "If-None-Match": '"something-else"'})
    assert changed.status_code == 200


def test_head_has_length_and_no_body(http, stack, alice_token):
    obj = seeded(stack, "alice")
    response = http.head(stack["cdn_url"] + obj["path"], headers=bearer(alice_token))
    assert response.status_code == 200
    size = len(demo_data.OBJECTS[0].source.read_bytes())
    assert int(response.headers["content-length"]) == size and response.content == b""


def test_preflight_is_204_with_cors_for_the_demo_origin(http, stack):
    response = http.options(stack["cdn_url"] + seeded(stack, "alice")["path"], headers={
        "Origin": stack["demo_url"], "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,range"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == stack["demo_url"]
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "range"} <= allowed
    assert "GET" in response.headers["access-control-allow-methods"]


def test_other_origins_get_no_cors_grant(http, stack, alice_token):
    url = stack["cdn_url"] + seeded(stack, "alice")["path"]
    preflight = http.options(url, headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
    # moto puts `Access-Control-Allow-Origin: *` on every answer; a real bucket does not, nor does the stand-in
    response = http.get(url, headers={**bearer(alice_token), "Origin": "http://evil.example"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers


def test_forwarded_response_carries_the_policy_cors_headers(http, stack, alice_token):
    response = http.get(stack["cdn_url"] + seeded(stack, "alice")["path"],
                        headers={**bearer(alice_token), "Origin": stack["demo_url"], "Range": "bytes=0-9"})
    assert response.status_code == 206
    assert response.headers["access-control-allow-origin"] == stack["demo_url"]
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"content-range", "accept-ranges", "content-length"} <= exposed


def test_scoped_token_on_another_members_path_is_403(http, stack, alice_token):
    response = http.get(stack["cdn_url"] + seeded(stack, "bob")["path"], headers=bearer(alice_token))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_token_narrowed_to_one_file_opens_only_that_file(http, stack):
    obj = seeded(stack, "alice")
    token = viewing_token(http, stack, "alice", paths=[obj["path"]])
    assert http.get(stack["cdn_url"] + obj["path"], headers={**bearer(token), "Range": "bytes=0-0"}).status_code == 206
    sibling = obj["path"].rsplit("/", 1)[0] + "/other.webm"
    assert http.get(stack["cdn_url"] + sibling, headers=bearer(token)).status_code == 403


def test_tampered_token_is_401(http, stack, alice_token):
    header, payload, signature = alice_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["paths"] = ["/"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = http.get(stack["cdn_url"] + seeded(stack, "bob")["path"],
                        headers=bearer(f"{header}.{forged_payload}.{signature}"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_methods_other_than_get_head_options_are_refused_before_the_edge(http, stack, alice_token):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = http.request(method, stack["cdn_url"] + seeded(stack, "alice")["path"],
                                headers=bearer(alice_token), content=b"x")
        assert response.status_code == 403, method
        assert response.headers["x-cache"] == "Error from cloudfront"


def test_missing_object_is_the_buckets_answer(http, stack, alice_token):
    response = http.get(stack["cdn_url"] + "/videos/alice/nothing-here.webm", headers=bearer(alice_token))
    assert response.status_code in (403, 404)  # S3 says 403 to a reader without ListBucket; moto says 404
    assert response.headers["x-cache"] == "Error from cloudfront"


def test_ambiguous_path_is_400_from_the_edge(stack, alice_token):
    # http.client sends the path as written (httpx would resolve the dot segments first)
    host, port = stack["cdn_url"].removeprefix("http://").split(":")
    for path in ("/videos/alice/../bob/profile.webm", "/videos/alice//profile.webm", "/videos/alice/%2e%2e/bob/x"):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", path, headers=bearer(alice_token))
        response = connection.getresponse()
        assert response.status == 400, path
        connection.close()


def test_the_stand_in_runs_the_package_the_deploy_builds(running_stack, tmp_path):
    """The zip it loaded is byte for byte what edge.package makes from the same config."""
    import zipfile

    from edge.package import build_package

    package = running_stack.state_dir / "edge-package.zip"
    with zipfile.ZipFile(package) as archive:
        config = json.loads(archive.read("edge/config.json"))
        names = archive.namelist()
    assert "edge/handler.py" in names
    assert build_package(config, tmp_path / "again.zip").read_bytes() == package.read_bytes()
    assert config["ssm_endpoint_url"] == running_stack.info["s3_endpoint"]
    assert config["cors_allowed_origins"][0] == running_stack.info["demo_url"]


def test_the_edge_log_never_holds_the_token(running_stack, http, stack, alice_token):
    http.get(stack["cdn_url"] + seeded(stack, "alice")["path"], headers={**bearer(alice_token), "Range": "bytes=0-0"})
    signature = alice_token.rsplit(".", 1)[1]
    assert signature not in running_stack.output()


def test_an_uploaded_page_is_served_as_inert_bytes(http, stack, internal, alice_token):
    """Members' bytes are untrusted: whatever Content-Type an object was stored with, the policy's
    headers (infra/response_headers.py) keep a browser from sniffing it or running it as a page."""
    key = internal["access_keys"]["media_processor"]  # the identity that may put objects under videos/
    writer = boto3.client("s3", endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                          aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])
    writer.put_object(Bucket=stack["bucket"], Key="videos/alice/page.html", ContentType="text/html",
                      Body=b"<script>alert(document.domain)</script>")
    response = http.get(stack["cdn_url"] + "/videos/alice/page.html", headers=bearer(alice_token))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html"  # served as stored, never rewritten
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
