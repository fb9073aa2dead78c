"""A page whose origin is not allowed sees only "Failed to fetch": the stack logs the refused origin
once per part, with the --allow-origin option that allows it."""
import json
import time

STRANGER = "http://localhost:5999"


def refusals(running_stack, origin):
    """The stack's cors_refused log records for `origin` (JSON lines, the CDN's prefixed `edge |`)."""
    found = []
    for line in running_stack.output().splitlines():
        text = line.split("|", 1)[1] if line.lstrip().startswith("edge |") else line
        if '"cors_refused"' in text and json.dumps(origin) in text:
            found.append(json.loads(text))
    return found


def wait_for_refusals(running_stack, origin, count, timeout=5):
    deadline = time.monotonic() + timeout
    while len(found := refusals(running_stack, origin)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_a_refused_origin_is_logged_once_per_part_with_the_option_that_allows_it(http, stack, running_stack):
    path = stack["cdn_url"] + stack["objects"][0]["path"]
    for _ in range(2):
        preflight = http.options(f"{stack['idp_url']}/login", headers={
            "Origin": STRANGER, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in preflight.headers
        media = http.options(path, headers={"Origin": STRANGER, "Access-Control-Request-Method": "GET",
                                            "Access-Control-Request-Headers": "authorization,range"})
        assert "access-control-allow-origin" not in media.headers
    found = wait_for_refusals(running_stack, STRANGER, 2)
    assert sorted(record["part"] for record in found) == ["CDN", "identity provider"], found
    assert all(record["hint"] == f"start the stack with --allow-origin {STRANGER}" for record in found)


def test_allowed_origins_and_requests_without_one_log_nothing(http, stack, running_stack):
    demo = stack["demo_url"]
    assert http.options(f"{stack['idp_url']}/login", headers={
        "Origin": demo, "Access-Control-Request-Method": "POST"}).headers["access-control-allow-origin"] == demo
    http.get(stack["cdn_url"] + stack["objects"][0]["path"], headers={"Origin": demo})
    http.get(stack["cdn_url"] + stack["objects"][0]["path"])
    http.options(stack["cdn_url"] + "/x", headers={"Origin": "null", "Access-Control-Request-Method": "GET"})
    [opaque] = wait_for_refusals(running_stack, "null", 1)  # a sandboxed page or a file: no origin to allow
    assert opaque["hint"].startswith("serve the page over http(s)")
    assert refusals(running_stack, demo) == []
