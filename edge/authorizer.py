"""The viewer-request decision: preflight, method, path, token, keys, cache, claims, scope.

`Authorizer.handle(event)` returns the CloudFront request to forward (token removed) or a
response generated at the edge. It never raises: an unexpected error becomes a 503 and a log line.
A decision is one JSON line: outcome, reason, status, kid, sub, uri, cache, microseconds. Every
deny, error and preflight is logged; allowed requests are sampled (`allow_log_sample_rate`), and a
summary line per container keeps the totals (docs/operations.md, "Logs").
"""
import json
import os
import time
from json.encoder import encode_basestring_ascii

from edge import paths, responses, tokens
from edge.cache import GrantCache
from edge.errors import Denied, InsufficientScope, InvalidRequest, MethodNotAllowed, MissingToken, Unavailable
from edge.keys import KeyStore

_FALLBACK = {  # used only if building the proper answer itself failed
    "status": "503", "statusDescription": "Service Unavailable",
    "headers": {"cache-control": [{"key": "Cache-Control", "value": "no-store"}],
                "retry-after": [{"key": "Retry-After", "value": "5"}]},
}


# The decision record's fields, in the order handle() fills them, and an allowed request's line.
_LOG_FIELDS = ("outcome", "status", "reason", "kid", "sub", "uri", "cache", "us")
_ALLOW_LINE = ('{"outcome": "allow", "status": null, "reason": "ok", "kid": %s, "sub": %s, "uri": %s, '
               '"cache": %s, "us": %d}')


# A container logs its counts at most this often, on the first request after the interval (a frozen
# container cannot log before it runs again).
SUMMARY_SECONDS = 60


def log_line(record):
    """The record as json.dumps writes it. Allowed requests, nearly every line, by a template that
    escapes only the strings: a third of json.dumps' cost."""
    if (record["outcome"] == "allow" and record["status"] is None and record["reason"] == "ok"
            and tuple(record) == _LOG_FIELDS):
        return _ALLOW_LINE % (encode_basestring_ascii(record["kid"]), encode_basestring_ascii(record["sub"]),
                              encode_basestring_ascii(record["uri"]), encode_basestring_ascii(record["cache"]),
                              record["us"])
    return json.dumps(record)


def _first(headers, name):
    values = headers.get(name)
    return values[0]["value"] if values else None


class Authorizer:
    def __init__(self, config, clock=time.time, log=print, fetch=None):
        self.config = config
        self._clock = clock
        self._log = log
        self.keys = KeyStore(config, clock, lambda event: log(json.dumps(event)), fetch)
        self.cache = GrantCache(config.token_cache_entries)
        self.known_headers = {}  # header segment -> kid, filled by tokens.verify
        self._skip = self._gap()  # allowed requests left unlogged before the next sampled one
        self._counts = dict.fromkeys(("allow", "hit", "logged", "deny", "preflight"), 0)
        self._counted_since = clock()

    def handle(self, event):
        started = time.perf_counter()
        record = {"outcome": "deny", "status": None, "reason": None, "kid": None, "sub": None,
                  "uri": None, "cache": None}
        try:
            result = self._decide(event["Records"][0]["cf"]["request"], record)
        except Exception as exc:
            record.update(status=503, reason="internal_error", error=type(exc).__name__)
            try:
                result = responses.denial(self.config, Unavailable("internal_error", "try again"), None,
                                          retry_after=self.config.key_retry_seconds)
            except Exception:
                result = _FALLBACK
        record["us"] = int((time.perf_counter() - started) * 1e6)
        try:
            self._record(record)
        except Exception:
            pass
        return result

    def _record(self, record):
        """Counts the decision, logs it unless the sample skips it, and the counts when they are due."""
        counts = self._counts
        outcome = record["outcome"]
        counts[outcome] += 1
        if outcome != "allow":
            self._log(log_line(record))
        elif self._skip:
            self._skip -= 1
        else:
            self._skip = self._gap()
            counts["logged"] += 1
            self._log(log_line(record))
        if outcome == "allow" and record["cache"] == "hit":
            counts["hit"] += 1
        now = self._clock()
        if now - self._counted_since >= SUMMARY_SECONDS:
            self._log(json.dumps({"event": "summary", "seconds": round(now - self._counted_since), **counts}))
            self._counts = dict.fromkeys(counts, 0)
            self._counted_since = now

    def _gap(self):
        """Allowed requests to skip before the next logged one, geometric: each is logged with
        probability `allow_log_sample_rate`, independently (docs/design.md, "Log sampling"), and the
        hot path only counts down. The smallest k with (1 - rate)**(k + 1) < u, without `math`."""
        rate = self.config.allow_log_sample_rate
        if rate == 1:
            return 0
        if rate == 0:
            return float("inf")  # inf - 1 is inf: never logged
        u = (int.from_bytes(os.urandom(7), "big") + 1) / 2**56  # uniform in (0, 1]
        keep, survive, gap = 1 - rate, 1 - rate, 0
        while survive >= u:
            survive *= keep
            gap += 1
        return gap

    def _decide(self, request, record):
        config = self.config
        headers = request["headers"]
        uri = request["uri"]
        record["uri"] = uri[:512] if type(uri) is str else None
        origin = _first(headers, "origin")
        method = request["method"]
        if method == "OPTIONS":
            record.update(outcome="preflight", status=204, reason="preflight")
            return responses.preflight(config, origin)
        try:
            if method != "GET" and method != "HEAD":
                raise MethodNotAllowed("method_not_allowed", "only GET, HEAD and OPTIONS")
            try:
                path = paths.object_path(uri)
            except ValueError as exc:
                raise InvalidRequest("bad_path", str(exc)) from None
            if path.startswith(config.refused_prefixes):  # the decoded key: no encoding slips past
                raise InsufficientScope("refused_prefix", "this path is never served")
            token = self._take_token(request, headers)
            now = self._clock()
            self.keys.check_fresh(now)
            grant = self.cache.get(token, now)
            if grant is not None and self.keys.still_trusts(grant.kid, grant.verifier):
                record["cache"] = "hit"
            else:
                record["cache"] = "miss"
                grant = tokens.verify(token, self.keys, config, now, self.known_headers)
                self.cache.put(token, grant, now)
            record["kid"], record["sub"] = grant.kid, grant.sub
            if grant.in_scope is not None and not grant.in_scope(path):
                raise InsufficientScope("out_of_scope", "token does not open this path")
        except Denied as denied:
            record.update(status=denied.status, reason=denied.reason)
            retry_after = config.key_retry_seconds if denied.status == 503 else None
            return responses.denial(config, denied, origin, retry_after)
        record.update(outcome="allow", reason="ok")
        return request

    def _take_token(self, request, headers):
        """The viewer's token (header, else cookie, else opt-in query), removed from the request."""
        config = self.config
        authorization = headers.pop("authorization", None)
        cookies = self._take_cookie(headers) if config.cookie_name else []
        queried = self._take_query(request) if config.query_parameter else []
        if authorization is not None:
            if len(authorization) != 1:
                raise InvalidRequest("multiple_authorization", "send one Authorization header")
            scheme, _, credentials = authorization[0]["value"].strip().partition(" ")
            if scheme.lower() != "bearer":
                raise MissingToken("unsupported_scheme", "use the Bearer scheme")
            credentials = credentials.strip()
            if not credentials:
                raise InvalidRequest("empty_token", "empty Bearer token")
            return credentials
        for found in (cookies, queried):
            if len(set(found)) > 1:
                raise InvalidRequest("multiple_tokens", "more than one token sent")
            if found and found[0]:
                return found[0]
        raise MissingToken("no_token", "a Bearer token is required")

    def _take_cookie(self, headers):
        """Values of the token cookie; the cookie is stripped from every Cookie header."""
        entries = headers.get("cookie")
        if not entries:
            return []
        name, found, kept_entries = self.config.cookie_name, [], []
        for entry in entries:
            kept = []
            for part in entry["value"].split(";"):
                key, eq, value = part.strip().partition("=")
                if key == name and eq:
                    found.append(value.strip().strip('"'))
                elif part.strip():
                    kept.append(part.strip())
            if kept:
                kept_entries.append({"key": entry.get("key", "Cookie"), "value": "; ".join(kept)})
        if kept_entries:
            headers["cookie"] = kept_entries
        else:
            del headers["cookie"]
        return found

    def _take_query(self, request):
        """Values of the opt-in query token; the parameter is stripped from the query string."""
        name, found, kept = self.config.query_parameter, [], []
        for part in (request.get("querystring") or "").split("&"):
            key, eq, value = part.partition("=")
            if key == name:
                found.append(value)
            elif part:
                kept.append(part)
        request["querystring"] = "&".join(kept)
        return found
