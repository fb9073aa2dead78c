"""CloudFront-shaped Lambda@Edge viewer-request events, for tests of the edge handler."""


def headers_cf(headers):
    """{"Name": "value" or ["v1", "v2"]} -> CloudFront's {"name": [{"key": "Name", "value": v}]}."""
    out = {}
    for name, value in (headers or {}).items():
        values = value if isinstance(value, list) else [value]
        out.setdefault(name.lower(), []).extend({"key": name, "value": v} for v in values)
    return out


def viewer_request(uri="/videos/u42/profile.mp4", headers=None, method="GET", querystring="",
                   client_ip="203.0.113.7"):
    return {
        "Records": [{
            "cf": {
                "config": {
                    "distributionDomainName": "d111111abcdef8.cloudfront.net",
                    "distributionId": "EDFDVBD6EXAMPLE",
                    "eventType": "viewer-request",
                    "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                },
                "request": {
                    "clientIp": client_ip,
                    "headers": headers_cf({"Host": "d111111abcdef8.cloudfront.net", **(headers or {})}),
                    "method": method,
                    "querystring": querystring,
                    "uri": uri,
                },
            }
        }]
    }


def bearer(token):
    return {"Authorization": f"Bearer {token}"}
