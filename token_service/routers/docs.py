"""GET /docs: Swagger UI for /openapi.json, its files from a CDN pinned to one version and held to
their exact bytes by Subresource Integrity (a changed file is refused by the browser), under a
Content-Security-Policy that allows those files, the page's one inline script and calls to this
origin only (checked in Chromium against the real files: the page renders, "Try it out" works,
no violation reported).

The hashes are the sha384 of swagger-ui-bundle.js and swagger-ui.css in the npm package
swagger-ui-dist@SWAGGER_UI_VERSION, which the CDN serves unchanged. To move to another version:
`npm pack swagger-ui-dist@<version>`, then for each file
`openssl dgst -sha384 -binary package/<file> | openssl base64 -A`.
"""
import base64
import hashlib
import json

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

SWAGGER_UI_VERSION = "5.35.0"
_CDN = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}"
SWAGGER_UI_JS = (f"{_CDN}/swagger-ui-bundle.js",
                 "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9")
SWAGGER_UI_CSS = (f"{_CDN}/swagger-ui.css",
                  "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I")

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request):
    openapi_url = request.scope.get("root_path", "") + request.app.openapi_url
    script = ("SwaggerUIBundle({url: %s, dom_id: '#swagger-ui', deepLinking: true, layout: 'BaseLayout',"
              " presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]});"
              % json.dumps(openapi_url).replace("<", "\\u003c"))
    script_hash = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{request.app.title} - API docs</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{SWAGGER_UI_CSS[0]}" integrity="{SWAGGER_UI_CSS[1]}" crossorigin="anonymous">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{SWAGGER_UI_JS[0]}" integrity="{SWAGGER_UI_JS[1]}" crossorigin="anonymous"></script>
<script>{script}</script>
</body>
</html>
"""
    policy = "; ".join([
        "default-src 'none'",
        f"script-src {_CDN}/ 'sha256-{script_hash}'",
        f"style-src {_CDN}/",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])
    return HTMLResponse(html, headers={"Content-Security-Policy": policy, "Cache-Control": "no-store"})
