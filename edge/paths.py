"""The object key a request names, as the bucket resolves it, and path-scope matching.

S3 takes the object key from the request path percent-decoded once and does not resolve dot
segments or merge slashes, while browsers and proxies on the way may. A path whose meaning
depends on who reads it (dot segments, empty segments, '+', which S3 reads as a space,
backslashes, control characters, malformed escapes) is refused rather than guessed at.
"""
import re
from urllib.parse import unquote

MAX_URI_LENGTH = 2048
MAX_SCOPE_ENTRIES = 64
_ESCAPES_OK = re.compile(r"(?:[^%]|%[0-9A-Fa-f]{2})*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")  # and backslashes, which some hops read as '/' 
_RAW_AMBIGUOUS = re.compile(r"[\x00-\x20\x7f\\+]")  # before decoding: '+' and '\' read differently


def _segments_clean(path):
    """No empty (`//`), `.` or `..` segment; a trailing slash (a 'folder' key) is allowed."""
    segments = path[1:].split("/")
    if segments[-1] == "":
        segments.pop()
    return all(s not in ("", ".", "..") for s in segments)


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


def compile_scope(entries):
    """A matcher for the token's `paths` claim: prefixes ('/a/'), exact paths, '*' within a segment."""
    if type(entries) is not list or len(entries) > MAX_SCOPE_ENTRIES:
        raise ValueError("'paths' must be a list of at most %d paths" % MAX_SCOPE_ENTRIES)
    patterns = []
    for entry in entries:
        if (type(entry) is not str or not entry.startswith("/") or len(entry) > MAX_URI_LENGTH
                or _CONTROL.search(entry) or not _segments_clean(entry)):
            raise ValueError("bad entry in 'paths'")
        body = "[^/]*".join(re.escape(part) for part in entry.split("*"))
        patterns.append(body if entry.endswith("/") else body + r"\Z")
    if not patterns:
        return lambda path: False
    match = re.compile("|".join(f"(?:{p})" for p in patterns)).match
    return lambda path: match(path) is not None
