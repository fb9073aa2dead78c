"""moto as the local stack runs it (local_stack/moto_server.py): an object held in memory is read
without a copy, so a range of a large object costs what the range costs, as on S3 (moto's own
getter copies the whole object for every request); the bytes served stay exactly right."""
import hashlib
import pathlib

from moto.s3.models import FakeKey

from local_stack import moto_server


def make_key(data, buffer_bytes):
    return FakeKey("videos/alice/a.mp4", data, account_id="123456789012", region_name="us-east-1",
                   max_buffer_size=buffer_bytes)


def test_an_object_in_memory_is_read_without_a_copy():
    data = bytes(range(256)) * 4096
    key = make_key(data, moto_server.IN_MEMORY_OBJECT_BYTES)
    assert key.value is not key.value  # moto's own getter: a new copy of the whole object every time
    first = moto_server.read_without_copy(key)
    assert first == data
    assert moto_server.read_without_copy(key) is first  # the same bytes again, not a new copy


def test_a_rewritten_object_reads_its_new_bytes_and_earlier_reads_keep_theirs():
    key = make_key(b"a" * 100_000, moto_server.IN_MEMORY_OBJECT_BYTES)
    before = moto_server.read_without_copy(key)
    key.value = b"b" * 50_000
    assert before == b"a" * 100_000
    assert moto_server.read_without_copy(key) == b"b" * 50_000


def test_an_object_above_the_memory_size_is_read_from_disk_as_moto_reads_it():
    data = bytes(range(256)) * 1000
    key = make_key(data, 100_000)
    assert key._value_buffer._rolled  # spilled to disk
    assert moto_server.read_without_copy(key) == data


def test_installed_every_object_in_memory_is_read_without_a_copy(monkeypatch):
    monkeypatch.setattr(FakeKey, "value", FakeKey.value)  # moto's own property comes back after the test
    moto_server.install()
    key = make_key(b"x" * 100_000, moto_server.IN_MEMORY_OBJECT_BYTES)
    assert key.value is key.value and key.value == b"x" * 100_000
    key.value = b"y" * 10  # writes still go through moto's setter
    assert key.value == b"y" * 10 and key.size == 10


def test_the_stack_runs_moto_with_objects_in_memory(running_web_stack):
    proc = pathlib.Path("/proc") / str(running_web_stack.pids["moto"])
    assert b"local_stack.moto_server" in (proc / "cmdline").read_bytes().split(b"\0")
    environment = (proc / "environ").read_bytes().split(b"\0")
    assert f"MOTO_S3_DEFAULT_KEY_BUFFER_SIZE={moto_server.IN_MEMORY_OBJECT_BYTES}".encode() in environment


def test_ranges_of_the_large_video_through_the_cdn_are_its_bytes(open_frontend, web_stack, media):
    """A page's fetch() with a Range (not an element's: sent as it is) through the worker and the
    CDN stand-in to moto: start, middle, end and suffix ranges give exactly the file's bytes."""
    path, size = media["large"]
    data = (media["root"] / "alice" / "large.mp4").read_bytes()
    page = open_frontend("alice")
    for first, last in ((0, 65535), (size // 2, size // 2 + 1_000_000), (size - 10, size - 1)):
        status, content_range, digest = page.evaluate(FETCH_RANGE, [web_stack["cdn_url"] + path, f"bytes={first}-{last}"])
        assert (status, content_range) == (206, f"bytes {first}-{last}/{size}")
        assert digest == hashlib.sha256(data[first:last + 1]).hexdigest()
    status, content_range, digest = page.evaluate(FETCH_RANGE, [web_stack["cdn_url"] + path, "bytes=-100"])
    assert (status, content_range, digest) == (206, f"bytes {size - 100}-{size - 1}/{size}",
                                               hashlib.sha256(data[-100:]).hexdigest())


FETCH_RANGE = """async ([url, range]) => {
  const response = await fetch(url, { headers: { Range: range } });
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await response.arrayBuffer()));
  return [response.status, response.headers.get("Content-Range"),
          Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")];
}"""
