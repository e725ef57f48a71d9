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
