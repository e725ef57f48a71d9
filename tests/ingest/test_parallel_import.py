"""Files of a lake case imported by worker processes (--jobs 2) give the case a one-at-a-time import gives
(--jobs 1): every table and view, ids and their order, rejects, duplicates, flow exports across files."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from forensics.ingest import ImportOptions, import_paths
from forensics.store import Case
from tests.conftest import CORPUS
from tests.table_hashes import table_hashes

FILES = CORPUS / "files"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    """pcap (gzip), pcapng, NetFlow v9 in pcap (its templates used by a later file), nfcapd, a damaged file
    rejected whole before the others (their ids shift), a copy of a later file (the later one a duplicate)."""
    tmp = tmp_path_factory.mktemp("parallel-inputs")
    nf = tmp / "nf"
    nf.mkdir()
    subprocess.run(["nfpcapd", "-r", str(FILES / "ipfixprobe/mixed.pcap"), "-w", str(nf)], check=True,
                   capture_output=True, env=dict(os.environ, TZ="UTC"))
    junk = tmp / "damaged.pcap"
    junk.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(range(7, 200)))  # a pcap magic, then nonsense
    copy = tmp / "copy.pcapng"
    shutil.copy(FILES / "gopacket/le__test006.pcapng", copy)
    return [str(junk), str(FILES / "zeek/http__iso-download.pcap.gz"), str(FILES / "graylog-netflow/netflow9.pcap"),
            str(copy), str(FILES / "gopacket/le__test006.pcapng"), str(FILES / "zeek/tcp__truncated-header.pcap"),
            str(sorted(nf.glob("nfcapd.*"))[0]), str(FILES / "graylog-netflow/nprobe-netflow9-2.pcap"),
            str(FILES / "ipfixprobe/mixed.pcap")]


def _import(folder: Path, files: list[str], jobs: int) -> tuple[int, list]:
    with Case.open(folder) as case:
        summary = import_paths(case, files, ImportOptions(jobs=jobs))
    return summary.exit_code, [(f.path, f.status, f.capture_id, f.packets, f.flows, f.flow_records, f.message)
                               for f in summary.files]


def test_two_processes_give_the_sequential_case(tmp_path, inputs):
    one = _import(tmp_path / "one", inputs, jobs=1)
    two = _import(tmp_path / "two", inputs, jobs=2)
    assert two == one
    assert one[0] == 1  # the damaged file rejected (same message), the others kept
    statuses = [s for _, s, *_ in one[1]]
    assert statuses[0] == "rejected" and "duplicate" in statuses and statuses.count("imported") == 7
    a, b = table_hashes(tmp_path / "one"), table_hashes(tmp_path / "two")
    assert a == b
    assert a["packets"][0] > 500 and a["flows"][0] > 100 and a["flow_templates"][0] > 0
    assert not any((tmp_path / "two" / "_staging").iterdir())  # no bundle left behind

