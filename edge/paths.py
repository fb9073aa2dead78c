"""The object key a request names, as the bucket resolves it, and path-scope matching.

S3 takes the object key from the request path percent-decoded once and does not resolve dot
segments or merge slashes, while browsers and proxies on the way may. A path whose meaning
depends on who reads it (dot segments, empty segments, '+', which S3 reads as a space,
backslashes, control characters, malformed escapes) is refused rather than guessed at.
"""
import re
import sys
from operator import ge, le
from urllib.parse import unquote

MAX_URI_LENGTH = 2048
MAX_SCOPE_ENTRIES = 64
_ESCAPES_OK = re.compile(r"(?:[^%]|%[0-9A-Fa-f]{2})*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")  # and backslashes, which some hops read as '/' 
_RAW_AMBIGUOUS = re.compile(r"[\x00-\x20\x7f\\+]")  # before decoding: '+' and '\' read differently
_AMBIGUOUS_SEGMENTS = frozenset(("", ".", ".."))


def _segments_clean(path):
    """No empty (`//`), `.` or `..` segment; a trailing slash (a 'folder' key) is allowed."""
    segments = path[1:].split("/")
    if segments[-1] == "":
        segments.pop()
    return _AMBIGUOUS_SEGMENTS.isdisjoint(segments)


def object_path(uri):
    """'/' + the object key S3 resolves for `uri`, or ValueError if the path is ambiguous."""
    if type(uri) is not str or not uri.startswith("/") or len(uri) > MAX_URI_LENGTH:
        raise ValueError("bad path")
    if _RAW_AMBIGUOUS.search(uri):
        raise ValueError("ambiguous path")
    if "%" in uri:
        if not _ESCAPES_OK.fullmatch(uri):
            raise ValueError("malformed percent-escape")
        uri = unquote(uri, errors="strict")  # UnicodeDecodeError is a ValueError
        if _CONTROL.search(uri):
            raise ValueError("control character or backslash in path")
    if not _segments_clean(uri):
        raise ValueError("ambiguous path")
    return uri


def _segment_bounds(segments):
    """Per segment: the text it starts with, the text it ends with, its shortest and longest length.

    A literal segment starts with itself, ends with '' and has exactly its own length; a '*'
    splits a segment into head and tail and lifts the longest length to any.
    """
    heads, tails, shortest, longest = [], [], [], []
    for segment in segments:
        head, star, tail = segment.partition("*")
        heads.append(head)
        tails.append(tail)
        shortest.append(len(head) + len(tail))
        longest.append(sys.maxsize if star else len(segment))
    return tuple(heads), tuple(tails), tuple(shortest), tuple(longest)


class Scope:
    """What a token's `paths` claim opens: call it with an object path."""

    __slots__ = ("_prefixes", "_exact", "_globs", "_split")

    def __init__(self, prefixes, exact, globs):
        self._prefixes = prefixes  # entries ending in '/', without a '*': str.startswith
        self._exact = exact  # other entries without a '*': equality
        self._globs = globs  # entries with a '*': per segment, see _segment_bounds
        # Splitting past the longest entry's segments would only cost time: the rest stays one part,
        # and an entry of n segments still sees n + 1 parts where the path has more than n.
        self._split = max((count for count, *_ in globs), default=0)

    def __call__(self, path):
        if path in self._exact or path.startswith(self._prefixes):
            return True
        if self._globs:
            # Four passes in C over the segments, each a plain compare: no backtracking, linear time.
            # map() stops at the shorter input, so a prefix entry checks only its own segments.
            parts = path[1:].split("/", self._split)
            lengths = list(map(len, parts))
            for count, is_prefix, heads, tails, shortest, longest in self._globs:
                # A prefix needs at least one more path segment (possibly empty: '/a/'), an exact entry none.
                if ((len(parts) > count if is_prefix else len(parts) == count)
                        and all(map(str.startswith, parts, heads)) and all(map(str.endswith, parts, tails))
                        and all(map(ge, lengths, shortest)) and all(map(le, lengths, longest))):
                    return True
        return False


def compile_scope(entries):
    """The Scope of a token's `paths` claim: prefixes ('/a/'), exact paths, one '*' per segment.

    A '*' matches any run of characters other than '/' within its segment. Entries without a
    '*' are a prefix or an equality test; the others are compared segment by segment.
    """
    if type(entries) is not list or len(entries) > MAX_SCOPE_ENTRIES:
        raise ValueError("'paths' must be a list of at most %d paths" % MAX_SCOPE_ENTRIES)
    prefixes, exact, globs = [], [], []
    for entry in entries:
        if (type(entry) is not str or not entry.startswith("/") or len(entry) > MAX_URI_LENGTH
                or _CONTROL.search(entry) or not _segments_clean(entry)):
            raise ValueError("bad entry in 'paths'")
        is_prefix = entry.endswith("/")
        if "*" not in entry:
            (prefixes if is_prefix else exact).append(entry)
            continue
        segments = (entry[1:-1] if is_prefix else entry[1:]).split("/")
        if any(segment.count("*") > 1 for segment in segments):
            raise ValueError("at most one '*' per segment in 'paths'")
        globs.append((len(segments), is_prefix) + _segment_bounds(segments))
    return Scope(tuple(prefixes), frozenset(exact), tuple(globs))
