"""Random mutations of a valid token and of request fields: never an exception, never a forward."""
import random

from edge import paths
from tests.cf import bearer, viewer_request
from tests.edge.conftest import status

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ %\x00é\u2028"


def mutate(rng, token):
    chars = list(token)
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(("flip", "insert", "delete", "swap"))
        i = rng.randrange(len(chars))
        if op == "flip":
            chars[i] = rng.choice(ALPHABET)
        elif op == "insert":
            chars.insert(i, rng.choice(ALPHABET))
        elif op == "delete" and len(chars) > 1:
            del chars[i]
        else:
            j = rng.randrange(len(chars))
            chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def test_mutated_tokens(authorizer, tokens):
    rng = random.Random(1234)
    original = tokens.make(paths=["/videos/u42/"])
    for _ in range(3000):
        token = mutate(rng, original)
        result = authorizer.handle(viewer_request(headers=bearer(token)))
        if token != original:
            assert status(result) in ("400", "401"), token
    assert all(d["reason"] != "internal_error" for d in authorizer.logs.decisions)


def test_mutated_paths_and_headers(authorizer, tokens):
    rng = random.Random(99)
    token = tokens.make(paths=["/videos/u42/"])
    for _ in range(2000):
        uri = mutate(rng, "/videos/u42/profile%20a.mp4")
        cookie = mutate(rng, f"a=1; media_token={token}")
        result = authorizer.handle(viewer_request(uri=uri, headers={"Cookie": cookie}))
        assert status(result) in ("forward", "400", "401", "403")
        if status(result) == "forward":
            assert paths.object_path(uri).startswith("/videos/u42/")  # never outside the scope
            assert result["uri"] == uri and token not in result["headers"].get("cookie", [{}])[0].get("value", "")
    assert all(d["reason"] != "internal_error" for d in authorizer.logs.decisions)
