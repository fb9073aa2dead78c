"""The `paths` claim: checking scope entries, filling in `{sub}`, and narrowing a request.

Scope semantics are the contract's (docs/reference.md): an entry starts with "/"; one ending
in "/" is a prefix, otherwise an exact path; `*` matches any run of characters within one
segment, and a segment holds at most one `*` (so matching stays linear). A request may only
narrow the configured default, never widen it.
"""
import re

SUB_PLACEHOLDER = "{sub}"
MAX_ENTRY_LENGTH = 512
MAX_ENTRIES = 32
# The edge compares an entry with a '*' segment by segment on every request, about 1 µs per entry
# and more per segment; these bounds keep any token minted here under 20 µs of matching
# (bench_edge: "Scope match, the most a minted token allows"). Entries without '*' cost next to nothing.
MAX_STAR_ENTRIES = 8
MAX_STAR_SEGMENTS = 64  # segments of the entries with a '*', all of them together
# What the edge refuses in a decoded object path (and so in a scope entry): control
# characters, and backslashes, which some hops read as "/".
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")
# A subject spliced into a scope must stay inside its one segment and must not be a pattern.
_SUB_FORBIDDEN = re.compile(r"[/*]")


class ScopeError(ValueError):
    pass


def check_scope(entry: str) -> None:
    """Raises ScopeError when `entry` is not a path scope the edge could ever honour."""
    if not entry.startswith("/"):
        raise ScopeError(f"scope {entry[:64]!r} must start with '/'")
    if len(entry) > MAX_ENTRY_LENGTH:
        raise ScopeError(f"scope longer than {MAX_ENTRY_LENGTH} characters")
    if _FORBIDDEN.search(entry):
        raise ScopeError(f"scope {entry[:64]!r} contains a control character or a backslash")
    segments = entry[1:].split("/")
    if entry.endswith("/"):
        segments = segments[:-1]
    if any(segment in ("", ".", "..") for segment in segments):
        raise ScopeError(f"scope {entry[:64]!r} has an empty or dot segment")
    if any(segment.count("*") > 1 for segment in segments):
        raise ScopeError(f"scope {entry[:64]!r} has more than one '*' in a segment")


def check_star_budget(entries) -> None:
    """Raises ScopeError when the entries with a '*' would cost the edge more than the bounds above."""
    starred = [entry for entry in entries if "*" in entry]
    if len(starred) > MAX_STAR_ENTRIES:
        raise ScopeError(f"at most {MAX_STAR_ENTRIES} paths with a '*'")
    if sum(entry.strip("/").count("/") + 1 for entry in starred) > MAX_STAR_SEGMENTS:
        raise ScopeError(f"the paths with a '*' may have at most {MAX_STAR_SEGMENTS} segments in all")


def expand(default_paths, sub: str) -> tuple:
    """The configured default scopes with `{sub}` replaced by the caller's subject."""
    if not any(SUB_PLACEHOLDER in entry for entry in default_paths):
        return tuple(default_paths)
    if not sub or sub in (".", "..") or _SUB_FORBIDDEN.search(sub):
        raise ScopeError("the caller's subject cannot be used in a path scope")
    expanded = tuple(entry.replace(SUB_PLACEHOLDER, sub) for entry in default_paths)
    for entry in expanded:
        check_scope(entry)
    return expanded


def narrow(requested, allowed) -> tuple:
    """`requested` if every entry lies within some `allowed` entry; empty `allowed` means all paths."""
    if not requested:
        raise ScopeError("paths must not be empty (leave it out for the default scope)")
    if len(requested) > MAX_ENTRIES:
        raise ScopeError(f"at most {MAX_ENTRIES} paths")
    for entry in requested:
        check_scope(entry)
    check_star_budget(requested)
    for entry in requested:
        if allowed and not any(_within(entry, scope) for scope in allowed):
            raise ScopeError(f"path {entry[:64]!r} is outside the allowed scope")
    return tuple(dict.fromkeys(requested))


def _within(entry: str, scope: str) -> bool:
    """True when every path `entry` matches is also matched by `scope`.

    The entry's own `*` becomes a character no literal in `scope` can match, so only a `*` of
    `scope` can cover it; a prefix scope must match a leading part of the entry, an exact scope
    the whole of it (and then the entry must be exact too).
    """
    pattern = re.compile("[^/]*".join(re.escape(part) for part in scope.split("*")))
    subject = entry.replace("*", "\x00")
    if scope.endswith("/"):
        return pattern.match(subject) is not None
    return not entry.endswith("/") and pattern.fullmatch(subject) is not None
