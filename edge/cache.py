"""Verified tokens, bounded in number, none used past its expiry (exp + leeway).

One video playback is hundreds of range requests with one token; with this cache they cost
one RSA operation per container.
"""
from collections import OrderedDict


class GrantCache:
    def __init__(self, max_entries):
        self._max = max_entries
        self._grants = OrderedDict()

    def __len__(self):
        return len(self._grants)

    def get(self, token, now):
        grant = self._grants.get(token)
        if grant is None:
            return None
        if now >= grant.expires_at:
            self._grants.pop(token, None)
            return None
        return grant

    def put(self, token, grant, now):
        if self._max == 0:
            return
        grants = self._grants
        # Tokens share one lifetime, so the oldest entries expire first: trim them, then
        # evict the oldest if still full. Amortised O(1), no scan of the whole cache.
        while grants and now >= next(iter(grants.values())).expires_at:
            grants.popitem(last=False)
        while len(grants) >= self._max:
            grants.popitem(last=False)
        grants.pop(token, None)
        grants[token] = grant
