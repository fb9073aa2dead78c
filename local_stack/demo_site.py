"""The demo page's own origin: static files from demo/ plus /config.json (where the other parts are).

Plain HTML, CSS and JavaScript, no build step. The page's Content-Security-Policy lets it talk
only to the IdP, the token service and the CDN, and play media only from blob: URLs it made.
"""
import json
import pathlib
import urllib.parse

from local_stack.httpserve import Handler, Server

PAGE_DIR = pathlib.Path(__file__).parent / "demo"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def make_server(host, port, config):
    config_body = json.dumps(config).encode()
    files = {f"/{p.name}": p for p in PAGE_DIR.iterdir() if p.suffix in TYPES}
    files["/"] = PAGE_DIR / "index.html"
    connect = " ".join(config[name] for name in ("idp_url", "token_url", "cdn_url"))
    policy = (f"default-src 'self'; connect-src 'self' {connect}; media-src blob:; img-src 'self' data:; "
              "style-src 'self'; script-src 'self'; frame-ancestors 'none'")

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
