"""Path scopes are compared on the object key the bucket resolves; ambiguous paths are refused."""
import pytest

from edge import paths
from tests.cf import bearer, viewer_request
from tests.edge.conftest import status

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
