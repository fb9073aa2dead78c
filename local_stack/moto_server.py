"""moto's server as the local stack runs it: `python -m local_stack.moto_server ARGS` takes
moto.server's own arguments; an object held in memory is read without a copy.

moto (5.2.5, pinned) reads a whole object into a new bytes for every GET, ranged or not, and
slices the range out afterwards: a 100 MB object cost ~50 ms per request here, even for its first
64 KB, where S3 answers the first bytes of any range in about the same time whatever the size.
Here, an object whose buffer is in memory (the runner sets MOTO_S3_DEFAULT_KEY_BUFFER_SIZE so that
objects up to IN_MEMORY_OBJECT_BYTES stay there) hands out the bytes it already holds
(BytesIO.getvalue() shares them), so a range costs what the range itself costs. Bytes are
immutable: no caller can change what another reads. Objects above the size spill to disk as moto
does by default, and are read as moto reads them.
"""
import io
import sys

IN_MEMORY_OBJECT_BYTES = 1024 ** 3  # above the 200 MB upload limit and any test or benchmark video


def read_without_copy(key):
    """FakeKey.value: the object's bytes, shared when its buffer is in memory."""
    with key.lock:
        buffer = key._value_buffer._file  # SpooledTemporaryFile: a BytesIO until it rolls over to disk
        if isinstance(buffer, io.BytesIO):
            return buffer.getvalue()
        buffer.seek(0)
        return buffer.read()


def install():
    """Make every FakeKey of this process read its value with read_without_copy (writes unchanged)."""
    from moto.s3.models import FakeKey

    FakeKey.value = FakeKey.value.getter(read_without_copy)


def main(argv):
    from moto import server

    install()
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
