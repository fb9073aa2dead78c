"""The origin side of the CloudFront stand-in: requests to the private bucket, signed as OAC does.

CloudFront's Origin Access Control with signing behaviour `always` signs every origin request
with SigV4 under the distribution's identity and overwrites any viewer Authorization header.
Here the identity is an IAM user that moto's policy lets read the bucket's objects, nothing else.
"""
import http.client
import urllib.parse

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# What CloudFront passes on to an S3 origin for these requests (no cache here, so the
# conditional headers go to the bucket, which answers 206 / 304 / 416 itself).
FORWARDED_HEADERS = ("range", "if-none-match", "if-modified-since")


class SignedOrigin:
    def __init__(self, endpoint, bucket, access_key_id, secret_access_key, region="us-east-1", timeout=10):
        url = urllib.parse.urlsplit(endpoint)
        self._host, self._port = url.hostname, url.port or 80
        self._netloc = url.netloc
        self._bucket = bucket
        self._signer = S3SigV4Auth(Credentials(access_key_id, secret_access_key), "s3", region)
        self._timeout = timeout

    def open(self, method, uri, viewer_headers):
        """Send a signed `method` for the object at `uri` (as the viewer sent it, still percent-encoded).

        `viewer_headers` is {lowercase name: value}; only FORWARDED_HEADERS go to the bucket.
        Returns the http.client response, its body not yet read (the caller streams it and closes).
        """
        path = f"/{self._bucket}{uri}"
        headers = {name: viewer_headers[name] for name in FORWARDED_HEADERS if name in viewer_headers}
        request = AWSRequest(method=method, url=f"http://{self._netloc}{path}", headers=headers)
        self._signer.add_auth(request)
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        connection.request(method, path, headers=dict(request.headers.items()))
        response = connection.getresponse()
        response.connection = connection  # closed by the caller with the response
        return response
