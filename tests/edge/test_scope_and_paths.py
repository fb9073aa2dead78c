"""Path scopes are compared on the object key the bucket resolves; ambiguous paths are refused."""
import json
import pathlib
import random
import re
import subprocess
import sys

import pytest

from edge import paths
from tests.cf import bearer, viewer_request
from tests.edge.conftest import status

REPO = pathlib.Path(__file__).resolve().parents[2]

SCOPE = ["/videos/u42/"]


@pytest.mark.parametrize("uri,key", [
    ("/videos/u42/profile.mp4", "/videos/u42/profile.mp4"),
    ("/videos/u42/my%20clip.mp4", "/videos/u42/my clip.mp4"),
    ("/videos/u42/a%2Bb.mp4", "/videos/u42/a+b.mp4"),
    ("/videos%2Fu42%2Fx.mp4", "/videos/u42/x.mp4"),  # S3 decodes %2F into the key
    ("/videos/u42/%C3%A9t%C3%A9.mp4", "/videos/u42/été.mp4"),
    ("/videos/u42/", "/videos/u42/"),
    ("/videos/u42/..mp4", "/videos/u42/..mp4"),  # dots inside a name are just a name
])
def test_object_path(uri, key):
    assert paths.object_path(uri) == key


@pytest.mark.parametrize("uri", [
    "/videos/u42/../u43/x.mp4", "/videos/u42/./x.mp4", "/videos/u42/%2e%2e/u43/x.mp4",
    "/videos/u42/%2E%2E%2Fu43/x.mp4", "/videos/u42%2F..%2Fu43/x.mp4", "/videos/u42/..",
    "//videos/u43/x.mp4", "/videos/u42//x.mp4", "/videos/u42/%2F/x.mp4",
    "/videos/u42/a+b.mp4", "/videos/u42\\..\\u43/x.mp4", "/videos/u42/x%00.mp4", "/videos/u42/x%0a.mp4",
    "/videos/u42/x\x00.mp4", "/videos/u42/%zz.mp4", "/videos/u42/%4.mp4", "/videos/u42/%ff%fe.mp4",
    "/videos/u42/ x.mp4", "videos/u42/x.mp4", "", "/" + "a" * 3000,
])
def test_ambiguous_paths_refused(uri):
    with pytest.raises(ValueError):
        paths.object_path(uri)


@pytest.mark.parametrize("scope,path,opens", [
    (["/videos/u42/"], "/videos/u42/profile.mp4", True),
    (["/videos/u42/"], "/videos/u42/sub/dir/x.mp4", True),
    (["/videos/u42/"], "/videos/u420/x.mp4", False),
    (["/videos/u42/"], "/videos/u42", False),
    (["/videos/u42/"], "/Videos/u42/x.mp4", False),
    (["/videos/u42/profile.mp4"], "/videos/u42/profile.mp4", True),
    (["/videos/u42/profile.mp4"], "/videos/u42/profile.mp4.bak", False),
    (["/videos/*/public/"], "/videos/u7/public/a.mp4", True),
    (["/videos/*/public/"], "/videos/u7/private/public/a.mp4", False),
    (["/videos/*.mp4"], "/videos/a.mp4", True),
    (["/videos/*.mp4"], "/videos/a/b.mp4", False),
    (["/videos/a.b/"], "/videos/aXb/x", False),  # regex characters are literal
    (["/a/", "/b/c.mp4"], "/b/c.mp4", True),
    ([], "/videos/u42/x.mp4", False),
    (["/"], "/anything/at/all.mp4", True),
    (["/videos/*/"], "/videos/u7", False),  # a prefix needs the segment after the '*' to exist
    (["/videos/*/"], "/videos/u7/", True),
    (["/videos/ab*ba/"], "/videos/aba/x.mp4", False),  # head and tail may not overlap
    (["/videos/ab*ba/"], "/videos/abba/x.mp4", True),
    (["/*/*/*.mp4"], "/a/b/c.mp4", True),
    (["/*/*/*.mp4"], "/a/b/c/d.mp4", False),
])
def test_scope_matching(scope, path, opens):
    assert paths.compile_scope(scope)(path) is opens


@pytest.mark.parametrize("uri", [
    "/videos/u42/../u43/secret.mp4", "/videos/u42/%2e%2e/u43/secret.mp4", "/videos/u42%2F..%2Fu43/secret.mp4",
    "/videos/u42//../u43/secret.mp4", "/videos/u42/..%5Cu43/secret.mp4",
])
def test_scope_escapes_refused_at_the_edge(authorizer, tokens, uri):
    result = authorizer.handle(viewer_request(uri=uri, headers=bearer(tokens.make(paths=SCOPE))))
    assert status(result) in ("400", "403")


def test_out_of_scope_is_403_with_insufficient_scope(authorizer, tokens):
    result = authorizer.handle(viewer_request(uri="/videos/u43/x.mp4", headers=bearer(tokens.make(paths=SCOPE))))
    assert result["status"] == "403"
    challenge = result["headers"]["www-authenticate"][0]["value"]
    assert 'error="insufficient_scope"' in challenge


def test_in_scope_encoded_path_forwarded_unchanged(authorizer, tokens):
    uri = "/videos/u42/my%20clip.mp4"
    result = authorizer.handle(viewer_request(uri=uri, headers=bearer(tokens.make(paths=SCOPE))))
    assert status(result) == "forward" and result["uri"] == uri


def test_scope_still_checked_on_cache_hits(authorizer, tokens):
    token = tokens.make(paths=SCOPE)
    assert status(authorizer.handle(viewer_request(uri="/videos/u42/a.mp4", headers=bearer(token)))) == "forward"
    assert status(authorizer.handle(viewer_request(uri="/videos/u43/a.mp4", headers=bearer(token)))) == "403"
    assert [d["cache"] for d in authorizer.logs.decisions] == ["miss", "hit"]


def test_unscoped_token_opens_every_clean_path(authorizer, tokens):
    token = tokens.make()
    for uri in ("/videos/u42/a.mp4", "/videos/u43/b.mp4", "/other/c.webm"):
        assert status(authorizer.handle(viewer_request(uri=uri, headers=bearer(token)))) == "forward"
    assert status(authorizer.handle(viewer_request(uri="/a/../b", headers=bearer(token)))) == "400"


@pytest.mark.parametrize("entry", ["/videos/**/", "/videos/a*b*/", "/*x*", "/videos/u42/*.*"])
def test_more_than_one_star_in_a_segment_is_refused(entry):
    with pytest.raises(ValueError, match="one '\\*' per segment"):
        paths.compile_scope([entry])


def decide_in_subprocess(entries, path):
    """The matcher's decision, computed in a child that is killed after 60 s: a catastrophic
    (backtracking) matcher fails this test instead of hanging the suite."""
    code = ("import json, sys; from edge import paths\n"
            "entries, path = json.load(sys.stdin)\n"
            "try:\n    print(paths.compile_scope(entries)(path))\n"
            "except ValueError:\n    print('refused')")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps([entries, path]), cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


HOSTILE = [  # each took seconds to minutes with the regex matcher
    (["/videos/alice/" + "*" * 480 + "x"], "/videos/alice/" + "a" * 450),
    (["/" + "*a" * 12 + "*b"], "/" + "a" * 35),
]


@pytest.mark.parametrize("entries,path", HOSTILE)
def test_hostile_star_runs_are_refused_promptly(entries, path):
    assert decide_in_subprocess(entries, path) == "refused"


def test_the_most_stars_the_rule_allows_decide_promptly():
    """One '*' per segment over a whole 2,048-character path, failing only at the last segment."""
    many = "/" + "/".join(["a*a"] * 510) + "/b"
    path = "/" + "/".join(["aaa"] * 510) + "/c"
    assert len(many) <= paths.MAX_URI_LENGTH and len(path) <= paths.MAX_URI_LENGTH
    assert decide_in_subprocess([many] * paths.MAX_SCOPE_ENTRIES, path) == "False"
    assert decide_in_subprocess([many], path[:-1] + "b") == "True"


@pytest.mark.parametrize("entries", [entries for entries, _ in HOSTILE])
def test_hostile_star_runs_are_bad_paths_at_the_edge(authorizer, tokens, entries):
    # A path these entries reject quickly even by backtracking: the refusal must come from the rule.
    result = authorizer.handle(viewer_request(uri="/other/a.mp4", headers=bearer(tokens.make(paths=entries))))
    assert result["status"] == "401"
    assert authorizer.logs.decisions[-1]["reason"] == "bad_paths"


def reference_matcher(entries):
    """The matcher's meaning, stated the obvious way (a regex per entry): slow on hostile input,
    fine on the small entries this test generates."""
    patterns = [re.compile("[^/]*".join(map(re.escape, entry.split("*"))) + ("" if entry.endswith("/") else r"\Z"))
                for entry in entries]
    return lambda path: any(pattern.match(path) for pattern in patterns)


ENTRY_SEGMENTS = ["a", "b", "ab", "*", "a*", "*a", "a*b", "b*a", "ab*", "*ab", "ab*ba"]
PATH_SEGMENTS = ["a", "b", "ab", "ba", "aa", "aab", "abba", "aba", "abab", "bab"]


def random_path(rng, segments, most):
    path = "/" + "/".join(rng.choice(segments) for _ in range(rng.randint(1, most)))
    return path + "/" if rng.random() < 0.3 else path


def test_matcher_agrees_with_the_reference_on_generated_scopes():
    rng = random.Random(2024)
    checked = opened = 0
    for _ in range(3000):
        entries = [random_path(rng, ENTRY_SEGMENTS, 4) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.05:
            entries.append("/")
        matcher, reference = paths.compile_scope(entries), reference_matcher(entries)
        for _ in range(10):
            path = random_path(rng, PATH_SEGMENTS, 5)
            assert matcher(path) is reference(path), (entries, path)
            checked += 1
            opened += reference(path)
    assert checked == 30000 and 1000 < opened < 29000  # both answers well represented
