"""Lambda function URL events (payload format 2.0), as the token service's function receives them."""


def function_url_event(method, path, headers=None, body=None):
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "abcdefghij.lambda-url.eu-west-1.on.aws", "x-forwarded-proto": "https",
                    "x-forwarded-port": "443", "x-forwarded-for": "203.0.113.7", **(headers or {})},
        "requestContext": {
            "accountId": "anonymous", "apiId": "abcdefghij", "domainName": "abcdefghij.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abcdefghij", "requestId": "r1", "routeKey": "$default", "stage": "$default",
            "time": "01/Jan/2025:00:00:00 +0000", "timeEpoch": 1735689600000,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                     "userAgent": "test"},
        },
        "body": body, "isBase64Encoded": False,
    }
