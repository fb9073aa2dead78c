"""The demo page's own origin: static files from demo/, the browser library from web/ (its
service worker at the root, so its scope is the whole site), and /config.json (where the other
parts are).

Plain HTML, CSS and JavaScript modules, no build step. The page's Content-Security-Policy lets it
talk only to the IdP, the token service, the CDN and the S3 endpoint (upload forms are posted
there), run workers only from this origin, and play media from the CDN (streamed through the
service worker) or from blob: URLs (the fallback); posters likewise.
"""
import json
import pathlib
import urllib.parse

from local_stack.httpserve import Handler, Server

REPO = pathlib.Path(__file__).resolve().parent.parent
PAGE_DIR = REPO / "local_stack" / "demo"
WEB_DIR = REPO / "web"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def content_security_policy(config):
    connect = " ".join(config[name] for name in ("idp_url", "token_url", "cdn_url", "s3_endpoint"))
    return (f"default-src 'self'; connect-src 'self' {connect}; media-src {config['cdn_url']} blob:; "
            f"worker-src 'self'; img-src 'self' data: {config['cdn_url']} blob:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def make_server(host, port, config):
    config_body = json.dumps(config).encode()
    files = {f"/{p.name}": p for folder in (PAGE_DIR, WEB_DIR) for p in folder.iterdir() if p.suffix in TYPES}
    files["/"] = PAGE_DIR / "index.html"
    policy = content_security_policy(config)

    class DemoHandler(Handler):
        def do_GET(self):
            path = urllib.parse.urlsplit(self.path).path
            if path == "/config.json":
                self.send_body(200, config_body, "application/json", [("Cache-Control", "no-store")])
            elif path in files:
                self.send_body(200, files[path].read_bytes(), TYPES[files[path].suffix],
                               [("Cache-Control", "no-cache"), ("Content-Security-Policy", policy),
                                ("X-Content-Type-Options", "nosniff")])
            else:
                self.send_body(404, b"not found\n", "text/plain")

        do_HEAD = do_GET

    return Server((host, port), DemoHandler)
