"""Narrowing the `paths` scope: a request may shrink the configured default, never widen it.

Each narrowing the service accepts is also checked against the edge's own scope matcher on
sample paths: whatever the narrowed token opens, the default token opens too.
"""
import pytest

from edge import paths as edge_paths
from token_service import scopes

SAMPLE_PATHS = ["/videos/u42/a.mp4", "/videos/u42/b/c.mp4", "/videos/u42/", "/videos/u43/a.mp4",
                "/videos/u42x/a.mp4", "/public/x.jpg", "/public/x.png", "/public/sub/x.jpg", "/videos/u42",
                "/other", "/videos/u42/public/a.mp4", "/videos/u43/public/a.mp4"]


@pytest.mark.parametrize("allowed, requested", [
    (("/videos/u42/",), ["/videos/u42/a.mp4"]),
    (("/videos/u42/",), ["/videos/u42/"]),
    (("/videos/u42/",), ["/videos/u42/b/"]),
    (("/videos/u42/",), ["/videos/u42/*.mp4"]),
    (("/public/*.jpg",), ["/public/x.jpg"]),
    (("/public/*.jpg",), ["/public/a*.jpg"]),
    (("/videos/*/public/",), ["/videos/u42/public/a.mp4"]),
    (("/videos/*/public/",), ["/videos/*/public/"]),
    (("/videos/u42/", "/public/"), ["/public/x.jpg", "/videos/u42/a.mp4"]),
    ((), ["/anything/at/all"]),
])
def test_narrowing_inside_the_default_is_accepted(allowed, requested):
    assert scopes.narrow(requested, allowed) == tuple(requested)
    if allowed:
        narrowed = edge_paths.compile_scope(list(requested))
        default = edge_paths.compile_scope(list(allowed))
        assert all(default(path) for path in SAMPLE_PATHS if narrowed(path))


@pytest.mark.parametrize("allowed, requested", [
    (("/videos/u42/",), ["/videos/u43/a.mp4"]),
    (("/videos/u42/",), ["/videos/"]),
    (("/videos/u42/",), ["/videos/u4*/"]),
    (("/videos/u42/",), ["/videos/*/a.mp4"]),
    (("/videos/u42/",), ["/videos/u42"]),
    (("/videos/u42/a.mp4",), ["/videos/u42/a.mp4/"]),
    (("/videos/u42/a.mp4",), ["/videos/u42/*"]),
    (("/public/*.jpg",), ["/public/*"]),
    (("/public/*.jpg",), ["/public/sub/x.jpg"]),
    (("/videos/*/public/",), ["/videos/*/"]),
])
def test_widening_is_refused(allowed, requested):
    with pytest.raises(scopes.ScopeError, match="outside the allowed scope"):
        scopes.narrow(requested, allowed)


def test_refused_requests_would_indeed_open_more_at_the_edge():
    """The refusals above are not over-cautious for these: the edge would open a path the default does not."""
    default = edge_paths.compile_scope(["/videos/u42/"])
    wider = edge_paths.compile_scope(["/videos/u4*/"])
    assert any(wider(path) and not default(path) for path in SAMPLE_PATHS)


def test_sub_is_filled_in_and_cannot_escape_its_segment():
    assert scopes.expand(("/videos/{sub}/", "/public/"), "u42") == ("/videos/u42/", "/public/")
    assert scopes.expand(("/public/",), "a/b") == ("/public/",)  # no {sub}: the subject is not used
    for sub in ("a/b", "*", "u*", "..", ".", "", "a\x00b", "a\\b"):
        with pytest.raises(scopes.ScopeError):
            scopes.expand(("/videos/{sub}/",), sub)


def test_entries_are_checked_like_the_edge_checks_paths():
    for entry in ("/videos/u42/my video.mp4", "/a+b/", "/videos/%41/"):
        scopes.check_scope(entry)
        edge_paths.compile_scope([entry])
    for entry in ("videos/", "/a//b", "/a/./b", "/a/../b", "/a\\b", "/a\x01", "/" + "a" * 600):
        with pytest.raises(scopes.ScopeError):
            scopes.check_scope(entry)


def test_duplicates_are_dropped_and_limits_hold():
    assert scopes.narrow(["/a/", "/a/"], ()) == ("/a/",)
    with pytest.raises(scopes.ScopeError, match="at most"):
        scopes.narrow([f"/a/{n}" for n in range(scopes.MAX_ENTRIES + 1)], ())
    with pytest.raises(scopes.ScopeError, match="must not be empty"):
        scopes.narrow([], ())


def star_entries(count, segments):
    """`count` entries with a '*', `segments` segments each, inside /videos/u42/."""
    return [f"/videos/u42/{n}*" + "/a" * (segments - 3) for n in range(count)]


def test_the_entries_with_a_star_are_bounded_by_what_the_edge_compares_per_request():
    allowed = ("/videos/u42/",)
    most = star_entries(scopes.MAX_STAR_ENTRIES, scopes.MAX_STAR_SEGMENTS // scopes.MAX_STAR_ENTRIES)
    plain = [f"/videos/u42/{n}/" for n in range(scopes.MAX_ENTRIES - len(most))]
    assert scopes.narrow(most + plain, allowed)  # entries without a '*' are not counted
    with pytest.raises(scopes.ScopeError, match=r"at most 8 paths with a '\*'"):
        scopes.narrow(star_entries(scopes.MAX_STAR_ENTRIES + 1, 3), allowed)
    with pytest.raises(scopes.ScopeError, match=r"at most 64 segments in all"):
        scopes.narrow(star_entries(2, scopes.MAX_STAR_SEGMENTS // 2) + star_entries(1, 3)[:1], allowed)
    with pytest.raises(scopes.ScopeError, match=r"at most 64 segments in all"):
        scopes.narrow(star_entries(1, scopes.MAX_STAR_SEGMENTS + 1), allowed)
