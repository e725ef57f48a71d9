"""The gzip stream (forensics.readers.sniff._GzipStream) and the read-ahead thread (forensics.readers.inflate_ahead)
hand out the bytes gzip.GzipFile does, then the same kind of error where the data is cut or corrupt; the import of
a damaged gzipped capture is covered in test_compressed.py and test_gzip_bomb.py."""

from __future__ import annotations

import gzip
import io
import os
import random
import threading
import zlib

import pytest

from forensics.readers import inflate_ahead
from forensics.readers.inflate_ahead import InflateAhead
from forensics.readers.sniff import _GzipStream


def _read(stream, step: int) -> tuple[bytes, BaseException | None]:
    out, buf = bytearray(), bytearray(step)
    try:
        while n := stream.readinto(buf):
            out += buf[:n]
    except (OSError, EOFError, zlib.error) as exc:
        return bytes(out), exc
    return bytes(out), None


class _ReadInto1:
    """GzipFile read as BombGuard read it before: readinto1, 64 KB at a time (one read of the file at most, so that
    what inflated before a cut or damage is handed out before the error)."""

    def __init__(self, data: bytes) -> None:
        self.inner = gzip.GzipFile(fileobj=io.BytesIO(data))

    def readinto(self, b) -> int:  # noqa: ANN001
        return self.inner.readinto1(b)


def _oracle(data: bytes) -> tuple[bytes, BaseException | None]:
    return _read(_ReadInto1(data), 65536)


def _payload(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    parts, n = [], 0
    while n < size:  # text-like runs between random bytes: a mix of literals and back-references
        part = rng.randbytes(rng.randint(1, 200)) + bytes([rng.randint(65, 70)]) * rng.randint(1, 400)
        parts.append(part)
        n += len(part)
    return b"".join(parts)[:size]


WHOLE = [
    gzip.compress(_payload(1, 700_000)),
    gzip.compress(_payload(2, 300_000)) + bytes(1000) + gzip.compress(_payload(3, 50_000)) + bytes(7),  # padded
    gzip.compress(b""),
    gzip.compress(bytes(5_000_000), 9),  # 1000:1
]


@pytest.mark.parametrize("data", WHOLE, ids=["one", "members-padded", "empty", "zeros"])
@pytest.mark.parametrize("step", [1, 4096, 65536, 1 << 20])
def test_whole_files_read_as_gzipfile_reads_them(data, step):
    if step == 1 and len(data) > 100_000:
        step = 7
    got, error = _read(_GzipStream(io.BytesIO(data)), step)
    assert error is None
    assert got == gzip.decompress(data)


@pytest.mark.parametrize("seed", range(12))
def test_cut_files_hand_out_everything_before_the_cut(seed):
    data = WHOLE[1]
    cut = data[:random.Random(seed).randrange(20, len(data) - 20)]
    want, want_error = _oracle(cut)
    got, error = _read(_GzipStream(io.BytesIO(cut)), 1 << 20)
    assert isinstance(error, EOFError) and isinstance(want_error, EOFError)
    assert got.startswith(want)  # as much as GzipFile gave, or more: all that inflates from the bytes there
    assert gzip.decompress(data).startswith(got)
    first = len(gzip.compress(_payload(2, 300_000)))
    if len(cut) < first:  # cut in the first member: exactly what zlib inflates of it
        assert got == zlib.decompressobj(31).decompress(cut)


@pytest.mark.parametrize("seed", range(16))
def test_corrupt_files_hand_out_what_inflates_before_the_damage(seed):
    """Corrupt bytes: an error (zlib's, where GzipFile may say BadGzipFile), after at least what GzipFile handed out
    in its 64 KB steps less one salvage piece's output, and never a byte GzipFile did not give."""
    rng = random.Random(seed)
    data = bytearray(WHOLE[0])
    at = rng.randrange(20, len(data) - 8)
    data[at] ^= 1 << rng.randrange(8)
    want, want_error = _oracle(bytes(data))
    got, error = _read(_GzipStream(io.BytesIO(bytes(data))), 1 << 20)
    assert want_error is not None and error is not None
    assert want.startswith(got) or got.startswith(want)
    assert len(got) >= len(want) - 65536 - 1024 * 1032


@pytest.mark.parametrize("step", [4096, 1 << 20])
def test_a_corrupt_block_hands_out_everything_before_it(step):
    """A block of an invalid type right after a full flush (a byte boundary): every byte inflated before it is
    handed out, then zlib's error."""
    first, second = _payload(4, 900_000), _payload(5, 300_000)
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    head = z.compress(first) + z.flush(zlib.Z_FULL_FLUSH)
    data = head + b"\xff" + (z.compress(second) + z.flush())[1:]
    got, error = _read(_GzipStream(io.BytesIO(data)), step)
    assert isinstance(error, zlib.error) and "invalid block type" in str(error)
    assert got == first


def test_garbage_after_a_member_is_an_error_after_its_bytes():
    data = gzip.compress(b"first member") + b"not gzip at all"
    got, error = _read(_GzipStream(io.BytesIO(data)), 4096)
    assert got == b"first member" and isinstance(error, zlib.error)


class _Chunked:
    """A stream that hands out `data` in pieces of random sizes, then raises `error` (if any)."""

    def __init__(self, data: bytes, error: BaseException | None = None, seed: int = 0) -> None:
        self.data, self.error, self.at, self.rng = data, error, 0, random.Random(seed)
        self.closed = False

    def readinto(self, b) -> int:  # noqa: ANN001
        if self.at >= len(self.data):
            if self.error is not None:
                raise self.error
            return 0
        n = min(len(b), self.rng.randint(1, 200_000), len(self.data) - self.at)
        b[:n] = self.data[self.at:self.at + n]
        self.at += n
        return n

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("step", [1000, 65536, 3 << 20])
@pytest.mark.parametrize("error", [None, EOFError("cut"), zlib.error("corrupt")])
def test_read_ahead_hands_out_the_same_bytes_then_the_same_error(step, error):
    data = os.urandom(5 * inflate_ahead.BLOCK + 12345)
    stream = InflateAhead(_Chunked(data, error))
    got, raised = _read(stream, step)
    assert got == data
    assert raised is error
    stream.close()


def test_read_ahead_closed_early_stops_its_thread():
    inner = _Chunked(os.urandom(40 * inflate_ahead.BLOCK))
    stream = InflateAhead(inner)
    assert stream.readinto(bytearray(10)) == 10
    stream.close()
    assert inner.closed
    assert not [t for t in threading.enumerate() if t.name == "forensics-inflate" and t.is_alive()]
