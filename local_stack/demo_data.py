"""The demo members and the files seeded for them (documented in the README, "Demo members")."""
import dataclasses
import hashlib
import pathlib

MEDIA_DIR = pathlib.Path(__file__).parent / "media"


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
        """The path as requested from the CDN; the bucket key is the same without the leading '/'."""
        return self.owner.prefix + self.name

    @property
    def key(self):
        return self.path[1:]

    def sha256(self):
        return hashlib.sha256(self.source.read_bytes()).hexdigest()


ALICE = DemoUser("alice", "alice-demo-password")
BOB = DemoUser("bob", "bob-demo-password")
USERS = (ALICE, BOB)
OBJECTS = (
    SeededObject(ALICE, "profile.webm", MEDIA_DIR / "alice.webm", "video/webm"),
    SeededObject(BOB, "profile.webm", MEDIA_DIR / "bob.webm", "video/webm"),
)
