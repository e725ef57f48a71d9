"""The import's shortcuts store exactly what their reference paths store.

While a capture is decoded, forensics.appdata.select chooses the packets the appdata pass parses and those whose
first payload bytes label flows (forensics/ingest/app_labels.py). Without a selector, the same choices are made
in SQL over the stored packets (queries/derive/appdata_candidates.sql, app_first_payload.sql): the reference.
The file's bytes are read back in slices, each let go after (forensics.appdata.records.SLICE_BYTES: flat
memory); the reference reads them in one go. Every table of a case (every row and column but the import's
clock) must come out the same both ways, on captures of different link types and file formats, with
application metadata of every kind.
"""

from __future__ import annotations

import pytest

import forensics.ingest as ingest
from forensics.appdata import records
from forensics.ingest import ImportOptions, import_paths
from forensics.store import Case
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
            m.setattr(ingest, "CandidateSelector", lambda: None)  # the SQL choices over the stored packets
        else:  # the file read back in slices of a few KB, each let go after, as a large capture's are
            m.setattr(records, "SLICE_BYTES", 4096)
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
