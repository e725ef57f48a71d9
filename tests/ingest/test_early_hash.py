"""The sha256 the import command begins before it loads the decoder (forensics.readers.filehash): the same
digest as a hash of the file taken afterwards, taken once, and never for a file changed in between."""

from __future__ import annotations

import hashlib
import os
import shutil

from forensics.ingest import ImportOptions, import_paths
from forensics.readers.filehash import hash_early, take_early
from forensics.store import Case
from tests.conftest import CORPUS

PCAP = CORPUS / "files" / "zeek" / "dhcp__dhcp_flood.pcap"


def test_early_hash_is_the_files_sha256_and_the_import_takes_it(tmp_path):
    path = tmp_path / "c.pcap"
    shutil.copyfile(PCAP, path)
    want = hashlib.sha256(path.read_bytes()).hexdigest()
    hash_early(str(path))
    with Case.open(tmp_path / "case") as case:
        summary = import_paths(case, [str(path)], ImportOptions())
        assert summary.files[0].status == "imported"
        assert case.con.execute("SELECT sha256 FROM captures").fetchone()[0] == want
    assert take_early(str(path)) is None  # taken once, by the import


def test_early_hash_of_a_file_changed_since_is_not_taken(tmp_path):
    path = tmp_path / "c.pcap"
    shutil.copyfile(PCAP, path)
    hash_early(str(path))
    with open(path, "ab") as f:  # the file grows after the hash was begun
        f.write(b"\0" * 16)
    os.utime(path, ns=(1, 1))
    assert take_early(str(path)) is None
    hash_early(str(path))
    hasher = take_early(str(path))
    assert hasher is not None
    hasher.wait()
    assert hasher.digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_cli_hashes_one_file_before_typer_parses(monkeypatch, tmp_path):
    import forensics.readers.filehash as filehash
    from forensics.cli import _hash_ahead

    begun: list[str] = []
    monkeypatch.setattr(filehash, "hash_early", begun.append)
    f = str(tmp_path / "c.pcap")
    for args, want in [
        (["import", f], [f]),
        (["import", "--quiet", "--db", "case/", "--jobs", "2", f, "--json"], [f]),
        (["import", "-q", "--force", "--idle-timeout", "5", "--engine", "duckdb", f], [f]),
        (["import", "--db", f], []),  # the option's value, not a path
        (["import", "--engine", "spark", f], []),  # Spark tasks hash on the executors
        (["import", f, f + "2"], []),  # several files: the import hashes them itself
        (["import", "--db=case/", f], []),  # a form this reading does not know: Typer decides
        (["import", "--help"], []),
        (["report", f], []),
        ([], []),
    ]:
        begun.clear()
        _hash_ahead(args)
        assert begun == want, args


def test_a_hash_begun_ahead_goes_on_when_the_command_asks_again(tmp_path):
    path = tmp_path / "c.pcap"
    shutil.copyfile(PCAP, path)
    hash_early(str(path))
    first = filehash_early(str(path))
    hash_early(str(path))  # import_command, once Typer has parsed the line
    assert filehash_early(str(path)) is first
    hasher = take_early(str(path))
    assert hasher is first
    hasher.wait()
    assert hasher.digest == hashlib.sha256(path.read_bytes()).hexdigest()


def filehash_early(path: str):
    from forensics.readers import filehash

    return next(iter(filehash._early.values()), None)


def test_sha256_file_over_mapped_windows_and_a_pipe(monkeypatch, tmp_path):
    """Mapped window by window (small windows here: every boundary case is hit) or read from a FIFO: the digest
    hashlib gives of the whole bytes, for empty, one-byte, exact-window and ragged sizes."""
    import threading

    from forensics.readers import filehash

    monkeypatch.setattr(filehash, "HASH_WINDOW", 4096)  # mmap offsets are multiples of the page size
    for size in (0, 1, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 17):
        data = os.urandom(size)
        path = tmp_path / f"f{size}"
        path.write_bytes(data)
        assert filehash.sha256_file(str(path)) == hashlib.sha256(data).hexdigest(), size
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = os.urandom(100_000)
    writer = threading.Thread(target=lambda: fifo.write_bytes(data))
    writer.start()
    assert filehash.sha256_file(str(fifo)) == hashlib.sha256(data).hexdigest()
    writer.join()


def test_a_file_cut_short_while_hashed_is_an_error_not_a_crash(monkeypatch, tmp_path):
    """A window past the file's new end is never mapped (touching it would kill the process with SIGBUS): the
    hash stops with FileShrank, which the import reports as the file's error."""
    import pytest

    from forensics.readers import filehash

    monkeypatch.setattr(filehash, "HASH_WINDOW", 4096)
    path = tmp_path / "growing-then-cut.pcap"
    path.write_bytes(os.urandom(3 * 4096))

    class CutsTheFile:
        def update(self, data) -> None:
            os.truncate(path, 4096)  # another program shortens the file after the first window

    with open(path, "rb") as f, pytest.raises(filehash.FileShrank, match="got shorter"):
        filehash._hash_mapped(CutsTheFile(), f.fileno(), 3 * 4096)
