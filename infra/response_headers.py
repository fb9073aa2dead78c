"""What the CDN adds to its answers, and the bucket's upload CORS rule, as plain values.

No Pulumi here: infra/cdn.py and infra/bucket.py build the AWS resources from these, and the local
stack's CloudFront stand-in and S3 proxy answer with the same values without installing the
Pulumi SDK (`.[local]` does not pull in `.[infra]`).
"""
# Objects are bytes members uploaded: never let one run as a page of the media host. `sandbox` gives
# a document an opaque origin with no scripts; media-src 'self' still lets a browser that opens a
# video URL directly play it in the document it makes for it.
MEDIA_CONTENT_SECURITY_POLICY = "default-src 'none'; media-src 'self'; sandbox"
FRAME_OPTION = "DENY"
REFERRER_POLICY = "strict-origin-when-cross-origin"
HSTS_MAX_AGE_SECONDS = 63072000  # two years
# Every answer is for one member's token: no browser cache may keep it to answer another request
# (another member's, in the same profile). This, not the request's cache mode, is what guarantees
# it: private-media.js's worker uses the default mode, so the browser's preflight cache works
# (Chromium skips it for no-store requests: a preflight per range). CloudFront's own cache is
# governed by the cache policy, before this is added, and the edge gate runs before it.
VIEWER_CACHE_CONTROL = "private, no-store"
# The token service behind the CDN (cookie mode, /token*): JSON answers, and with tokenServiceDocs
# FastAPI's docs page, whose scripts and styles come from a CDN, so the CSP only forbids framing
# (clickjacking); a script-src would break that page and protects no JSON answer.
TOKEN_CONTENT_SECURITY_POLICY = "frame-ancestors 'none'"
# The browser needs these to play and seek: fetch() with a Range header, then read the 206's framing.
CORS_ALLOW_HEADERS = ["Authorization", "Range"]
CORS_EXPOSE_HEADERS = ["Content-Range", "Accept-Ranges", "Content-Length"]
CORS_MAX_AGE_SECONDS = 600

# The bucket's CORS rule for browser uploads (presigned POST straight to S3): POST only.
UPLOAD_CORS_EXPOSE_HEADERS = ["ETag", "Location"]
# How long a browser may cache the answer to an upload's CORS preflight.
UPLOAD_CORS_MAX_AGE_SECONDS = 3000


def security_headers(content_security_policy=MEDIA_CONTENT_SECURITY_POLICY):
    """The security headers a response headers policy sets (override) on every answer, as pairs:
    the media's by default, the token service's with TOKEN_CONTENT_SECURITY_POLICY."""
    return [
        ("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", FRAME_OPTION),
        ("Referrer-Policy", REFERRER_POLICY),
        ("Content-Security-Policy", content_security_policy),
    ]


def media_headers():
    """What the media's response headers policy sets (override) on every answer, as pairs: the
    security headers and Cache-Control (custom_headers_config in infra/cdn.py)."""
    return security_headers() + [("Cache-Control", VIEWER_CACHE_CONTROL)]
