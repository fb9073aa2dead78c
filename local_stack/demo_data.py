"""The demo members, the files seeded for them, and `--media DIR` (docs/local-stack.md, "Demo members")."""
import dataclasses
import hashlib
import mimetypes
import pathlib
import re

MEDIA_DIR = pathlib.Path(__file__).parent / "media"
VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime"}
# Characters a file name must not have to make a key every client reaches through the CDN:
# control characters; '\\' and a raw '+', which the edge refuses (hops read them differently);
# '%', '?' and '#', which a URL would read as an escape, a query or a fragment.
_BAD_NAME_CHARACTER = re.compile(r"[\x00-\x1f\x7f\\+%?#]")


@dataclasses.dataclass(frozen=True)
class DemoUser:
    username: str  # also the IdP subject (`sub`)
    password: str

    @property
    def prefix(self):
        """The path prefix this member owns; the token service's default scope is `/videos/{sub}/`."""
        return f"/videos/{self.username}/"


@dataclasses.dataclass(frozen=True)
class SeededObject:
    owner: DemoUser
    name: str
    source: pathlib.Path
    content_type: str

    @property
    def path(self):
        """The path as requested from the CDN (percent-encoded by the client); the bucket key is the
        same without the leading '/'."""
        return self.owner.prefix + self.name

    @property
    def key(self):
        return self.path[1:]

    def sha256(self):
        with open(self.source, "rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()


ALICE = DemoUser("alice", "alice-demo-password")
BOB = DemoUser("bob", "bob-demo-password")
USERS = (ALICE, BOB)
OBJECTS = (
    SeededObject(ALICE, "profile.webm", MEDIA_DIR / "alice.webm", "video/webm"),
    SeededObject(BOB, "profile.webm", MEDIA_DIR / "bob.webm", "video/webm"),
)


def extra_member(sub):
    """A demo member with an identity provider's own subject shape (`--member`), for trying how such
    a `sub` travels through keys, scopes and URLs. MediaError for one no viewing token can carry."""
    if not sub or len(sub) > 256 or sub in (".", "..") or any(c in sub for c in "/*") or \
            any(ord(c) < 0x20 or c == "\x7f" for c in sub) or sub in {user.username for user in USERS}:
        raise MediaError(f"--member {sub!r}: a subject of 1..256 characters without '/', '*' or control "
                         "characters, other than the demo's own members")
    return DemoUser(sub, f"{sub}-demo-password")


class MediaError(ValueError):
    """A `--media` folder the stack cannot seed; the message names the file and why."""


def content_type(name):
    suffix = pathlib.PurePath(name).suffix.lower()
    return VIDEO_TYPES.get(suffix) or mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def media_objects(directory):
    """`directory/<member>/<file>` as objects at /videos/<member>/<file>; hidden names skipped."""
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise MediaError(f"{directory} is not a folder")
    members = {user.username: user for user in USERS}
    seeded = {obj.path for obj in OBJECTS}
    found = []
    for folder in sorted(directory.iterdir()):
        if folder.name.startswith("."):
            continue
        if not folder.is_dir():
            raise MediaError(f"{folder}: put files in {directory}/<member>/ (members: {', '.join(members)})")
        if folder.name not in members:
            raise MediaError(f"{folder}: not a demo member's folder (members: {', '.join(members)})")
        for file in sorted(folder.iterdir()):
            if file.name.startswith("."):
                continue
            obj = SeededObject(members[folder.name], file.name, file, content_type(file.name))
            problem = _name_problem(file, obj)
            if problem is None and obj.path in seeded:
                problem = f"would replace the demo's own {obj.path}; rename it"
            if problem:
                raise MediaError(f"{file}: {problem}")
            found.append(obj)
    return tuple(found)


def _name_problem(file, obj):
    """Why `file` cannot be seeded as `obj`, or None."""
    if not file.is_file():
        return "only files directly inside a member's folder are seeded"
    try:
        obj.key.encode()  # a file name (at most 255 bytes) keeps the key well inside S3's 1024
    except UnicodeEncodeError:
        return "the name is not valid UTF-8, which an S3 key must be"
    bad = _BAD_NAME_CHARACTER.search(file.name)
    if bad:
        return (f"the name holds {bad.group()!r}: control characters, '\\', '+', '%', '?' and '#' make "
                "keys that clients do not reach as written")
    return None
