"""Check a live deployment end to end, as the README's tour does, and say what each answer was.

    pulumi stack output --json > outputs.json
    APP_TOKEN=$(your-login-command) python -m scripts.check_deployment --outputs outputs.json \\
        --media-path /videos/<your sub>/profile.mp4 --origin https://app.example.com

One line per check: PASS, FAIL or SKIP, the check, and the answer seen. Exit status 1 when any
check fails, 2 for bad arguments. Standard library only, so it runs wherever python3 does. The
app token comes from $APP_TOKEN or from `--app-token-command` (never from the command line, which
other users of the machine can read); no token is ever printed.
"""
import argparse
import base64
import http.client
import json
import os
import secrets
import shlex
import subprocess
import sys
import time
import uuid
from urllib.parse import quote, urljoin, urlsplit

TIMEOUT_SECONDS = 15
BODY_CAP = 64 * 1024  # read no more of any answer: the media may be large
PROBE_BYTES = b"check-deployment: not a video\n" * 4  # an upload the processor must refuse, quickly


class Fetched:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name, default=""):
        return self.headers.get(name.lower(), default)


def fetch(method, url, headers=None, body=None):
    """One request, no redirects followed; at most BODY_CAP bytes of the answer are read."""
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read(BODY_CAP) if method != "HEAD" else b""
        return Fetched(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def claims_of(token):
    """The viewing token's claims, unverified (the edge verifies): only `paths` and `sub` are used."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def error_of(answer):
    """The error an answer names: RFC 6750's (JSON body or WWW-Authenticate), or S3's XML <Code>."""
    if b"<Code>" in answer.body:
        return answer.body.partition(b"<Code>")[2].partition(b"</Code>")[0].decode("ascii", "replace")[:64]
    try:
        return json.loads(answer.body).get("error") or ""
    except (ValueError, AttributeError):
        challenge = answer.header("www-authenticate")
        return challenge.partition('error="')[2].partition('"')[0]


def seen(answer):
    error = error_of(answer)
    return f"{answer.status}" + (f" {error}" if error else "")


def tampered(token):
    """The token with one signature character changed (still canonical base64url)."""
    head, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1:]}"


def multipart(fields, content, content_type):
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="check.mp4"\r\n'
                  f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


class Report:
    def __init__(self, out=sys.stdout):
        self.out = out
        self.failed = 0

    def line(self, outcome, name, detail):
        self.failed += outcome == "FAIL"
        print(f"{outcome:4}  {name}: {detail}", file=self.out, flush=True)

    def expect(self, name, ok, detail):
        self.line("PASS" if ok else "FAIL", name, detail)
        return ok


class Deployment:
    """What to check, from the stack outputs, `make dev`'s stack.json, or the flags."""

    def __init__(self, args):
        outputs = json.loads(open(args.outputs).read()) if args.outputs else {}
        local = json.loads(open(args.stack_json).read()) if args.stack_json else {}
        self.media_url = (args.media_url or outputs.get("mediaUrl") or local.get("cdn_url") or "").rstrip("/")
        service = args.service_url or outputs.get("tokenServiceUrl") or local.get("token_url") or ""
        self.service_url = service.rstrip("/") + "/" if service else ""
        self.token_url = (args.token_url or outputs.get("tokenUrl")
                          or (urljoin(self.service_url, "token") if self.service_url else ""))
        self.origin = args.origin or next(iter(local.get("allowed_origins") or ()), None)
        self.bucket_url = args.bucket_url
        if not self.bucket_url and local.get("s3_endpoint"):
            self.bucket_url = f"{local['s3_endpoint'].rstrip('/')}/{local['bucket']}"
        elif not self.bucket_url and outputs.get("bucketName"):
            self.bucket_url = f"https://{outputs['bucketName']}.s3.amazonaws.com"
        self.media_path = args.media_path
        self.upload_timeout = args.upload_timeout
        missing = [flag for flag, value in (("--media-url", self.media_url), ("--token-url", self.token_url),
                                            ("--media-path", self.media_path)) if not value]
        if missing:
            usage(f"give {', '.join(missing)} (or --outputs / --stack-json)")
        if not self.media_path.startswith("/"):
            usage("--media-path is a path like /videos/<sub>/profile.mp4")


def app_token(args):
    if args.app_token_command:
        result = subprocess.run(shlex.split(args.app_token_command), capture_output=True, text=True, timeout=60)
        if result.returncode != 0 or not result.stdout.strip():
            usage(f"--app-token-command exited {result.returncode} with no token")
        return result.stdout.strip()
    token = os.environ.get("APP_TOKEN", "").strip()
    if not token:
        usage("set APP_TOKEN, or give --app-token-command")
    return token


def usage(message):
    print(f"check_deployment: {message}", file=sys.stderr)
    raise SystemExit(2)


def check(deployment, token_for_app, report):
    media = deployment.media_url + quote(deployment.media_path)

    answer = fetch("GET", media)
    report.expect("no token", answer.status == 401, f"GET {deployment.media_path} answered {seen(answer)}")

    answer = fetch("POST", deployment.token_url, bearer(token_for_app))
    try:
        token = json.loads(answer.body)["access_token"]
    except (ValueError, KeyError, TypeError):
        report.expect("viewing token", False, f"POST {deployment.token_url} answered {seen(answer)}")
        return
    claims = claims_of(token)
    scope = claims.get("paths")
    report.expect("viewing token", answer.status == 200,
                  f"POST {deployment.token_url} answered {answer.status}; sub {claims.get('sub')!r}, "
                  f"paths {scope if scope is not None else 'absent (every path)'}")

    answer = fetch("GET", media, bearer(token))
    report.expect("with the token", answer.status == 200 and bool(answer.body),
                  f"GET {deployment.media_path} answered {seen(answer)}, "
                  f"Content-Length {answer.header('content-length', '?')}")
    answer = fetch("GET", media, {**bearer(token), "Range": "bytes=0-99"})
    report.expect("a range", answer.status == 206 and answer.header("content-range").startswith("bytes 0-99/"),
                  f"Range bytes=0-99 answered {seen(answer)}, Content-Range {answer.header('content-range', 'none')}")

    other = other_members_path(deployment.media_path, claims.get("sub"))
    answer = fetch("GET", deployment.media_url + quote(other), bearer(token))
    report.expect("another member's path", answer.status == 403,
                  f"GET {other} answered {seen(answer)}"
                  + ("" if scope is not None else " (the token carries no paths: any member may view any file)"))

    answer = fetch("GET", media, bearer(tampered(token)))
    report.expect("a tampered token", answer.status == 401, f"one signature character changed: {seen(answer)}")

    check_preflight(deployment, media, report)
    check_upload(deployment, token_for_app, token, report)
    check_bucket(deployment, report)


def other_members_path(path, sub):
    """The media path with the caller's sub segment swapped for a member that does not exist."""
    stranger = f"check-deployment-{secrets.token_hex(4)}"
    segments = path.split("/")
    if sub in segments:
        segments[segments.index(sub)] = stranger
        return "/".join(segments)
    return f"/{stranger}{path}"


def check_preflight(deployment, media, report):
    if not deployment.origin:
        report.line("SKIP", "CORS preflight", "no --origin given")
        return
    answer = fetch("OPTIONS", media, {"Origin": deployment.origin, "Access-Control-Request-Method": "GET",
                                      "Access-Control-Request-Headers": "authorization,range"})
    allowed = answer.header("access-control-allow-origin")
    allowed_headers = answer.header("access-control-allow-headers").lower()
    report.expect("CORS preflight", answer.status in (200, 204) and allowed == deployment.origin
                  and "authorization" in allowed_headers,
                  f"OPTIONS from {deployment.origin} answered {answer.status}, Allow-Origin {allowed or 'none'}, "
                  f"Allow-Headers {allowed_headers or 'none'}, Max-Age {answer.header('access-control-max-age', 'none')}")


def check_upload(deployment, token_for_app, token, report):
    """Upload a few bytes that are not a video: the form, S3, the processor's refusal, the status, delete."""
    url = urljoin(deployment.service_url, "uploads")
    body = json.dumps({"content_type": "video/mp4", "size": len(PROBE_BYTES), "filename": "check-deployment.mp4"})
    answer = fetch("POST", url, {**bearer(token_for_app), "Content-Type": "application/json"}, body.encode())
    if answer.status == 404:
        report.line("SKIP", "upload round trip", f"POST {url} answered 404: uploads are off")
        return
    try:
        form = json.loads(answer.body)
        fields, post_url, asset_id = form["fields"], form["url"], form["id"]
    except (ValueError, KeyError, TypeError):
        report.expect("upload form", False, f"POST {url} answered {seen(answer)}")
        return
    report.expect("upload form", answer.status == 201, f"POST {url} answered {answer.status}, asset {asset_id}")
    content, content_type = multipart(fields, PROBE_BYTES, fields.get("Content-Type", "video/mp4"))
    stored = fetch("POST", post_url, {"Content-Type": content_type}, content)
    if not report.expect("upload to the bucket", stored.status in (201, 204), f"POST form answered {seen(stored)}"):
        return
    incoming = fetch("GET", deployment.media_url + quote(form["path"]), bearer(token))
    report.expect("the incoming object is not served", incoming.status in (403, 404),
                  f"GET {form['path']} with the member's token answered {seen(incoming)}")
    status_url = urljoin(deployment.service_url, form["status_url"].lstrip("/"))
    record, deadline = {}, time.monotonic() + deployment.upload_timeout
    while time.monotonic() < deadline:
        answer = fetch("GET", status_url, bearer(token_for_app))
        record = json.loads(answer.body) if answer.status == 200 else {"status": f"HTTP {answer.status}"}
        if record.get("status") in ("ready", "failed"):
            break
        time.sleep(1)
    report.expect("processed", record.get("status") == "failed" and bool(record.get("reason")),
                  f"status {record.get('status')!r}, reason {record.get('reason')!r} (bytes that are not a video "
                  "must fail with a reason)")
    deleted = fetch("DELETE", urljoin(deployment.service_url, f"videos/{asset_id}"), bearer(token_for_app))
    gone = fetch("GET", status_url, bearer(token_for_app))
    report.expect("delete", deleted.status == 204 and gone.status == 404,
                  f"DELETE answered {deleted.status}, then its status {gone.status}")


def check_bucket(deployment, report):
    if not deployment.bucket_url:
        report.line("SKIP", "bucket refuses unsigned reads", "no --bucket-url (or bucketName in the outputs)")
        return
    url = deployment.bucket_url.rstrip("/") + quote(deployment.media_path)
    answer = fetch("GET", url)
    region = answer.header("x-amz-bucket-region")
    if answer.status in (301, 307) and region:  # the global endpoint names the bucket's own
        parts = urlsplit(url)
        url = f"https://{parts.hostname.replace('.s3.', f'.s3.{region}.', 1)}{parts.path}"
        answer = fetch("GET", url)
    report.expect("bucket refuses unsigned reads", answer.status == 403,
                  f"GET {url} without a signature answered {answer.status}")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m scripts.check_deployment", description=__doc__.split("\n\n")[0])
    parser.add_argument("--outputs", help="`pulumi stack output --json` saved to a file")
    parser.add_argument("--stack-json", help="make dev's .local/stack.json instead of stack outputs")
    parser.add_argument("--media-url", help="the distribution's URL (output mediaUrl)")
    parser.add_argument("--token-url", help="where POST /token goes (output tokenUrl)")
    parser.add_argument("--service-url", help="the token service's base URL, for /uploads (output tokenServiceUrl)")
    parser.add_argument("--bucket-url", help="the bucket's own URL, for the unsigned read (default from bucketName)")
    parser.add_argument("--media-path", help="a file the member may view, e.g. /videos/<sub>/profile.mp4")
    parser.add_argument("--origin", help="the app's origin, for the CORS preflight")
    parser.add_argument("--app-token-command", help="a command that prints the app's login token (else $APP_TOKEN)")
    parser.add_argument("--upload-timeout", type=float, default=120, help="seconds to wait for the processor")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    deployment = Deployment(args)
    token = app_token(args)
    report = Report()
    try:
        check(deployment, token, report)
    except (OSError, http.client.HTTPException) as exc:
        report.line("FAIL", "connection", f"{type(exc).__name__}: {exc}")
    print(f"{'FAILED' if report.failed else 'OK'}: {report.failed} check(s) failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
