"""The set of keys the edge accepts: baked at deploy, refreshed from SSM lazily and rarely.

SSM is consulted only when a token names an unknown kid or the set is older than
`key_refresh_seconds`, and never more than once per `key_retry_seconds` per container, whatever
the traffic (SSM allows 40 GetParameter/s per account and region). When SSM fails, the last good
set serves until it is `max_key_staleness_seconds` old; after that every request fails closed.
boto3 is imported only on the first refresh: it costs ~650 ms, which no cold start should pay.
"""
import json
import threading

from edge import jwk, openssl
from edge.errors import InvalidToken, Unavailable

_libcrypto = openssl.load()


def verifiers(document, previous=None):
    """{kid: verify(message, signature)} for a JWKS document (JWKError if any key is unfit).

    A kid whose key is unchanged keeps its verifier from `previous`: grants cached under that
    verifier stay good. A kid reused for another key gets a new verifier, which no grant names.
    """
    previous = previous or {}
    fresh = {}
    for kid, (n, e) in jwk.parse_jwks(document).items():
        kept = previous.get(kid)
        if kept is None or kept.public_key != (n, e):
            kept = openssl.make_verifier(_libcrypto, n, e)
        fresh[kid] = kept
    return fresh


def ssm_fetcher(config):
    """fetch() -> JWKS dict from the SSM parameter, with timeouts well inside the 5 s viewer limit."""
    client = None

    def fetch():
        nonlocal client
        if client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            client = boto3.client(
                "ssm", region_name=config.ssm_region, endpoint_url=config.ssm_endpoint_url,
                config=BotoConfig(connect_timeout=config.ssm_timeout_seconds,
                                  read_timeout=config.ssm_timeout_seconds,
                                  retries={"max_attempts": 1, "mode": "standard"}))
        value = client.get_parameter(Name=config.ssm_parameter)["Parameter"]["Value"]
        return json.loads(value)

    return fetch


class KeyStore:
    def __init__(self, config, clock, log, fetch=None):
        self._config = config
        self._log = log
        self._fetch = fetch or (ssm_fetcher(config) if config.ssm_parameter else None)
        self._verifiers = verifiers(config.jwks)
        # A new container trusts its baked set for one refresh interval from its start.
        self.loaded_at = clock()
        self._next_attempt = self.loaded_at
        self._lock = threading.Lock()

    def check_fresh(self, now):
        """Refresh when due; raise Unavailable once the usable set is too old (fail closed)."""
        if self._fetch is None:
            return  # no SSM parameter configured: the baked set is the whole truth
        age = now - self.loaded_at
        if age > self._config.key_refresh_seconds:
            self._refresh(now, "age")
            age = now - self.loaded_at
        if age > self._config.max_key_staleness_seconds:
            raise Unavailable("keys_stale", "signing keys could not be refreshed")

    def still_trusts(self, kid, verifier):
        """Whether `verifier` is still the key for `kid`: a grant it verified may be served from the cache."""
        return self._verifiers.get(kid) is verifier

    def verifier(self, kid, now):
        """The verifier for `kid`; an unknown kid may trigger one rate-limited refresh."""
        found = self._verifiers.get(kid)
        if found is None and self._fetch is not None:
            self._refresh(now, "unknown_kid")
            found = self._verifiers.get(kid)
        if found is None:
            raise InvalidToken("unknown_kid", "token signed by an unknown key")
        return found

    def _refresh(self, now, trigger):
        if now < self._next_attempt or not self._lock.acquire(blocking=False):
            return  # another attempt is recent or in flight: use what we have
        try:
            self._next_attempt = now + self._config.key_retry_seconds
            try:
                fresh = verifiers(self._fetch(), self._verifiers)
            except Exception as exc:  # network, throttling, bad document: keep the last good set
                self._log({"event": "key_refresh", "ok": False, "trigger": trigger,
                           "error": type(exc).__name__, "detail": str(exc)[:200]})
                return
            self._verifiers = fresh
            self.loaded_at = now
            self._log({"event": "key_refresh", "ok": True, "trigger": trigger, "kids": sorted(fresh)})
        finally:
            self._lock.release()
