"""The import's shortcuts store exactly what their reference paths store.

While a capture is decoded, forensics.appdata.select chooses the packets the appdata pass parses and those whose
first payload bytes label flows (forensics/ingest/app_labels.py). Without a selector, the same choices are made
in SQL over the stored packets (queries/derive/appdata_candidates.sql, app_first_payload.sql): the reference.
The chosen packets' frames are kept as they are decoded (forensics/appdata/kept_frames.py, here through its
temporary file in many small writes) and read in slices, each let go after (forensics.appdata.records.SLICE_BYTES:
flat memory); the reference reads the file again. Every table of a case (every row and column but the import's
clock) must come out the same both ways, on captures of different link types and file formats (gzipped too),
with application metadata of every kind, and when the frames cannot be kept (no room for the temporary file).
"""

from __future__ import annotations

import errno
import gzip
import shutil
import time
from types import SimpleNamespace

import pytest

import forensics.ingest as ingest
from forensics.appdata import kept_frames, records
from forensics.ingest import ImportOptions, import_paths
from forensics.store import Case
from tests import builders
from tests.conftest import CORPUS

FILES = ["nDPI/1kxun.pcap", "zeek/smtp.pcap", "nDPI/dlt_ppp.pcap", "zeek/linux_dlt_sll2.pcap",
         "zeek/nflog-http.pcap", "nDPI/steam.pcapng", "gopacket/test_loopback.pcap",
         "zeek/dns__dns_extended_rcode.pcap", "zeek/dhcp__dhcp.pcap", "zeek/tls__smtp-starttls.pcap"]
VOLATILE = {"imported_at", "lake_parts.path"}  # the import's clock; a lake part's file name (a random id)


def table_digests(case: Case) -> dict[str, tuple[int, int]]:
    """{table or view: (rows, order-independent sum of row hashes)} over the case's tables, the packets and
    flows views included (a lake keeps those in Parquet parts)."""
    con = case.con
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND (table_type = 'BASE TABLE' OR table_name IN ('packets', 'flows', 'packet_rows'))").fetchall()]
    out = {}
    for name in sorted(set(names)):
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = $t "
            "ORDER BY ordinal_position", {"t": name}).fetchall() if not {r[0], f"{name}.{r[0]}"} & VOLATILE]
        if not cols:
            continue
        row = ", ".join(f'"{c}"' for c in cols)
        n, digest = con.execute(f'SELECT count(*), coalesce(sum(hash({row})::HUGEINT), 0) FROM "{name}"').fetchone()
        out[name] = (n, int(digest))
    return out


def _import(tmp_path, name: str, path: str, monkeypatch, reference: bool) -> dict[str, tuple[int, int]]:
    with monkeypatch.context() as m:
        if reference:
            m.setattr(ingest, "CandidateSelector", lambda *a, **k: None)  # the SQL choices over the stored packets
        else:  # the frames read in slices of a few KB, each let go after, as a large capture's are
            m.setattr(records, "SLICE_BYTES", 4096)
            m.setattr(kept_frames, "BUFFER_BYTES", 4096)
        with Case.open(tmp_path / name) as case:
            summary = import_paths(case, [path], ImportOptions(workers=1))
            assert summary.files[0].status == "imported", summary.files[0].message
            return table_digests(case)


@pytest.mark.parametrize("rel", FILES)
def test_selector_equals_sql_reference(tmp_path, monkeypatch, rel):
    path = CORPUS / "files" / rel
    assert path.exists(), f"{rel} not in the corpus (../shared/corpus beside the checkout)"
    fast = _import(tmp_path, "fast.duckdb", str(path), monkeypatch, reference=False)
    reference = _import(tmp_path, "reference.duckdb", str(path), monkeypatch, reference=True)
    assert fast["packets"][0] > 0
    differ = {t: (fast.get(t), reference.get(t)) for t in set(fast) | set(reference) if fast.get(t) != reference.get(t)}
    assert not differ, differ


def _same(fast: dict, reference: dict) -> None:
    assert fast["packets"][0] > 0
    differ = {t: (fast.get(t), reference.get(t)) for t in set(fast) | set(reference) if fast.get(t) != reference.get(t)}
    assert not differ, differ


@pytest.mark.parametrize("rel", ["zeek/smtp.pcap", "nDPI/steam.pcapng", "zeek/tls__smtp-starttls.pcap",
                                 "zeek/dhcp__dhcp.pcap"])
def test_gzipped_capture_same_as_reference(tmp_path, monkeypatch, rel):
    """A gzipped capture's frames come from the decompressed stream as it is decoded (the reference decompresses
    the file again to read them)."""
    packed = tmp_path / (rel.replace("/", "_") + ".gz")
    with open(CORPUS / "files" / rel, "rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    fast = _import(tmp_path, "fast.duckdb", str(packed), monkeypatch, reference=False)
    _same(fast, _import(tmp_path, "reference.duckdb", str(packed), monkeypatch, reference=True))
    assert sum(fast[t][0] for t in ("dns", "smtp", "tls", "dhcp")) > 0  # application metadata there to compare


def test_no_room_for_kept_frames(tmp_path, monkeypatch):
    """The temporary file cannot be written (a full disk): the frames are given up and the file read again,
    with the same tables as the reference."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    path = str(CORPUS / "files" / "nDPI/1kxun.pcap")
    monkeypatch.setattr(kept_frames, "tempfile", SimpleNamespace(TemporaryFile=full))  # (kept_frames' only)
    fast = _import(tmp_path, "fast.duckdb", path, monkeypatch, reference=False)
    _same(fast, _import(tmp_path, "reference.duckdb", path, monkeypatch, reference=True))
    assert fast["dns"][0] > 0


@pytest.mark.parametrize("rel", ["zeek/tls__smtp-starttls.pcap", "nDPI/1kxun.pcap"])
def test_compressed_capture_decompressed_once(tmp_path, monkeypatch, rel):
    """The application metadata of a gzipped capture comes from the frames kept while it was decoded: the import
    decompresses the file once (the read-back it replaces decompressed it again from the start, seeking to each
    candidate: 86 s against 7 s for the bench capture gzipped)."""
    packed = tmp_path / "capture.pcap.gz"
    with open(CORPUS / "files" / rel, "rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    streams = []
    real = records.open_decompressed
    monkeypatch.setattr(records, "open_decompressed", lambda *a: streams.append(a) or real(*a))
    with Case.open(tmp_path / "case") as case:
        summary = import_paths(case, [str(packed)], ImportOptions(workers=1))
        assert summary.files[0].status == "imported", summary.files[0].message
        rows = case.con.execute("SELECT sum(rows) FROM appdata_counts").fetchone()[0]
    assert rows > 0
    assert streams == []


def _smtp_on_port_2600(folder) -> str:
    """SMTP on port 2600, with more client segments than the first three: storing it reads the stored packets."""
    a, b = "10.0.0.1", "10.0.0.2"
    talk = [(b, b"220 mx.example.org ESMTP ready\r\n"), (a, b"EHLO client.example.org\r\n"),
            (b, b"250 mx.example.org\r\n"), (a, b"MAIL FROM:<x@example.org>\r\n"), (b, b"250 OK\r\n"),
            (a, b"RCPT TO:<y@example.org>\r\n"), (b, b"250 OK\r\n"), (a, b"DATA\r\n"), (b, b"354 go\r\n"),
            (a, b"hello\r\n.\r\n"), (b, b"250 queued\r\n"), (a, b"QUIT\r\n"), (b, b"221 bye\r\n")]
    seq = {a: 1, b: 1}
    frames = []
    for k, (src, data) in enumerate(talk):
        dst = b if src == a else a
        sp, dp = (40000, 2600) if src == a else (2600, 40000)
        frames.append((1.0 + k / 10, builders.eth(0x0800, builders.ipv4(src, dst, 6, builders.tcp(
            sp, dp, 0x18, data, seq=seq[src], src=src, dst=dst)))))
        seq[src] += len(data)
    path = folder / "smtp2600.pcap"
    path.write_bytes(builders.pcap_file(frames))
    return str(path)


@pytest.mark.parametrize("rel", ["nDPI/1kxun.pcap", "zeek/tls__smtp-starttls.pcap", "zeek/dhcp__dhcp.pcap",
                                 "smtp on port 2600"])
def test_appdata_stored_while_the_last_batch_is_awaited(tmp_path, monkeypatch, rel):
    """The main thread stores the application metadata while it waits for the last batch (read_ahead's idle: on a
    large capture the decode thread is writing that batch's parts then). Forced here by holding the last batch
    back: it happens, and every table is the SQL reference path's; SMTP on another port, whose storing reads the
    stored packets, is stored after them."""
    real = ingest._decode_items

    def last_held_back(*args, **kwargs):
        held = None
        for item in real(*args, **kwargs):
            if held is not None:
                yield held
            held = item
        time.sleep(0.5)  # the file is read back meanwhile; the main thread finds the queue empty
        if held is not None:
            yield held

    asked = []
    real_check = ingest.reads_stored_packets
    monkeypatch.setattr(ingest, "_decode_items", last_held_back)
    monkeypatch.setattr(ingest, "reads_stored_packets", lambda parsed: asked.append(1) or real_check(parsed))
    path = _smtp_on_port_2600(tmp_path) if rel.startswith("smtp") else str(CORPUS / "files" / rel)
    fast = _import(tmp_path, "fast.duckdb", path, monkeypatch, reference=False)
    assert asked  # the early store was tried (it is the only caller)
    monkeypatch.setattr(ingest, "_decode_items", real)
    _same(fast, _import(tmp_path, "reference.duckdb", path, monkeypatch, reference=True))
    assert sum(fast[t][0] for t in ("dns", "smtp", "tls", "dhcp")) > 0
    if rel.startswith("smtp"):  # the segments past the first three, read by the second query, are there
        assert fast["smtp"][0] >= 10
