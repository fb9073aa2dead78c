"""A local identity provider standing in for the app's own (Cognito, Auth0, Keycloak, ...).

`POST /login` with JSON {"username", "password"} of a demo user answers {"access_token": ...}:
an RS256 app access token (iss, aud, sub, iat, exp, jti, token_use "access") signed with this
IdP's own key. `GET /.well-known/jwks.json` publishes that key, and the token service verifies
app tokens against it exactly as it would against Cognito's JWKS URL.
"""
import hmac
import json
import secrets
import time
import urllib.parse

import jwt

from local_stack.httpserve import Handler, RefusedOrigins, Server
from token_service import keys

MAX_LOGIN_BODY = 4096


class IdentityProvider:
    def __init__(self, issuer, audience, users, token_lifetime_seconds=3600):
        self.issuer = issuer
        self.audience = audience
        self.token_lifetime_seconds = token_lifetime_seconds
        self._passwords = {user.username: user.password for user in users}
        self._key = keys.new_private_key()
        self.kid = keys.thumbprint(self._key)
        self.jwks = keys.jwks([self._key])

    def login(self, username, password):
        """An access token for a demo user whose password matches, else None."""
        expected = self._passwords.get(username)
        # compare_digest on every path, so a wrong username costs what a wrong password does
        matches = hmac.compare_digest(password.encode(), (expected or secrets.token_hex(16)).encode())
        if expected is None or not matches:
            return None
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": username, "username": username,
                  "token_use": "access", "iat": now, "exp": now + self.token_lifetime_seconds,
                  "jti": secrets.token_urlsafe(16)}
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})


def make_server(host, port, idp, cors_origins):
    origins = RefusedOrigins("identity provider", cors_origins)

    class IdpHandler(Handler):
        def _cors(self):
            origin = self.headers.get("Origin")
            return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")] if origins.allows(origin) else []

        def do_OPTIONS(self):
            headers = self._cors()
            if headers:
                headers += [("Access-Control-Allow-Methods", "GET, POST"),
                            ("Access-Control-Allow-Headers", "Content-Type"), ("Access-Control-Max-Age", "600")]
            self.send_body(204, b"", "text/plain", headers)

        def do_GET(self):
            path = urllib.parse.urlsplit(self.path).path
            if path == "/.well-known/jwks.json":
                self.send_json(200, idp.jwks, self._cors() + [("Cache-Control", "public, max-age=300")])
            elif path == "/.well-known/openid-configuration":
                self.send_json(200, {"issuer": idp.issuer, "jwks_uri": f"{idp.issuer}/.well-known/jwks.json",
                                     "id_token_signing_alg_values_supported": ["RS256"]}, self._cors())
            else:
                self.send_json(404, {"error": "not_found", "error_description": f"no such path {path[:100]!r}"},
                               self._cors())

        def do_POST(self):
            if urllib.parse.urlsplit(self.path).path != "/login":
                self.send_json(404, {"error": "not_found", "error_description": "POST /login only"}, self._cors())
                return
            credentials = self._credentials()
            if credentials is None:
                return
            token = idp.login(*credentials)
            if token is None:
                self.send_json(401, {"error": "invalid_grant", "error_description": "wrong username or password"},
                               self._cors())
                return
            self.send_json(200, {"access_token": token, "token_type": "Bearer",
                                 "expires_in": idp.token_lifetime_seconds},
                           self._cors() + [("Cache-Control", "no-store")])

        def _credentials(self):
            """(username, password) from the JSON body, or None after answering 4xx with the reason."""
            body = self.read_body(MAX_LOGIN_BODY)
            if body is None:
                self.send_json(413, {"error": "invalid_request",
                                     "error_description": f"body must be JSON under {MAX_LOGIN_BODY} bytes"}, self._cors())
                return None
            try:
                document = json.loads(body)
            except (ValueError, RecursionError):
                document = None
            if (type(document) is not dict or type(document.get("username")) is not str
                    or type(document.get("password")) is not str):
                self.send_json(400, {"error": "invalid_request",
                                     "error_description": 'send JSON {"username": "...", "password": "..."}'},
                               self._cors())
                return None
            return document["username"], document["password"]

    return Server((host, port), IdpHandler)
