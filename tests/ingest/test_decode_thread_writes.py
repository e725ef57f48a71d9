"""The decode thread writes a lake's last packet parts while the main thread is still busy with the batches
before them (forensics/store/pending_parts.py, read_ahead's assist): each batch is written exactly once, by one
thread, and the case holds exactly what it holds when the main thread writes every part itself."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

import forensics.ingest as ingest
from forensics.ingest import ImportOptions, import_paths
from forensics.ingest.pipeline import read_ahead
from forensics.store import CaptureWriter, Case
from forensics.store.lake import Stage
from forensics.store.pending_parts import PendingParts
from tests.conftest import CORPUS
from tests.ingest.test_same_tables import table_digests


def _race() -> tuple[list[str], list, list[bool]]:
    """The decode thread's help() and the main thread's take() of one batch, started together."""
    writes: list[str] = []
    pending = PendingParts(pa.table({"x": [1, 2, 3]}), tail=True)
    start = threading.Barrier(2)
    helped: list[bool] = []

    def helper() -> None:
        start.wait()
        helped.append(pending.help(lambda t: writes.append("helper") or ["part", len(t)]))

    thread = threading.Thread(target=helper)
    thread.start()
    start.wait()
    entries = pending.take(lambda t: writes.append("main") or ["part", len(t)])
    thread.join()
    return writes, entries, helped


def test_a_batch_is_written_once_whichever_thread_comes_first() -> None:
    for _ in range(300):
        writes, entries, helped = _race()
        assert len(writes) == 1  # never twice, never lost
        assert entries == ["part", 3]
        assert helped == [writes == ["helper"]]


def test_an_error_in_the_helper_is_raised_on_the_main_thread() -> None:
    pending = PendingParts(pa.table({"x": [1]}))

    def fail(table: pa.Table) -> list:
        raise OSError("No space left on device")

    assert pending.help(fail) is True
    with pytest.raises(OSError, match="No space left"):
        pending.take(lambda t: ["never"])


def test_read_ahead_assists_with_the_item_queued_while_the_consumer_is_busy() -> None:
    helped: list[int] = []
    got = []
    for item in read_ahead(iter(range(6)), depth=1, assist=helped.append):
        time.sleep(0.05)  # a busy consumer: no room for the next item
        got.append(item)
    assert got == list(range(6))  # every item, in order
    assert helped and all(0 <= i < 6 for i in helped) and helped == sorted(helped)


@pytest.mark.parametrize(("rel", "packets"), [("zeek/smtp.pcap", 125), ("debian-gopacket/le__test301.pcapng", 276)])
def test_a_lake_import_with_the_decode_thread_writing_stores_the_same_case(tmp_path, monkeypatch, rel: str,
                                                                           packets: int) -> None:
    """A pcap and a pcapng in batches of 16 packets (a part each, at least 8), the main thread slowed so that
    the decode thread finds it busy: the case is the same table by table as when the main thread writes every
    part. (packets: tcpdump's count, MANIFEST.tsv)"""
    path = str(CORPUS / "files" / rel)
    monkeypatch.setattr(ingest, "PACKET_BATCH_ROWS", 16)
    slow_append = CaptureWriter.append_packet_table

    def slowly(self, table, stats) -> None:  # noqa: ANN001
        time.sleep(0.02)
        slow_append(self, table, stats)

    monkeypatch.setattr(CaptureWriter, "append_packet_table", slowly)
    written_by_helper: list[int] = []
    help_write = Stage.help_write

    def counted(self, capture_id, pending) -> bool:  # noqa: ANN001
        wrote = help_write(self, capture_id, pending)
        if wrote:
            written_by_helper.append(pending.rows)
        return wrote

    def imported(name: str) -> dict:
        with Case.open(tmp_path / name) as case:
            summary = import_paths(case, [path], ImportOptions(workers=1))
            assert summary.files[0].status == "imported", summary.files[0].message
            assert case.con.execute("SELECT count(*) FROM lake_parts WHERE table_name = 'packets'").fetchone()[0] >= 8
            return table_digests(case)

    monkeypatch.setattr(Stage, "help_write", counted)
    helped = imported("helped")
    assert written_by_helper, "the decode thread never wrote a part"
    monkeypatch.setattr(Stage, "help_write", lambda self, capture_id, pending: False)
    assert imported("main_only") == helped
    assert helped["packets"][0] == packets
