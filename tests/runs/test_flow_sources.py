"""The data fingerprint's exported-flow sources: the fast per-source capture ranges give the same pairs, in the
same order, as the DISTINCT over (source, capture_id) they replace, whatever the mix of sources and captures."""

from __future__ import annotations

import duckdb
import pytest

from forensics.store.runs import _flow_sources

DISTINCT = ("SELECT DISTINCT source, capture_id FROM flows WHERE source <> 'pcap' "
            "ORDER BY capture_id, source")


@pytest.mark.parametrize("rows", [
    [],  # no flows
    [("pcap", 1), ("pcap", 2)],  # flows built from packets only
    [("netflow_v5", 1)] * 3,  # one exporter capture
    [("pcap", 1), ("netflow_v9", 2), ("ipfix", 3), ("sflow", 3)],  # one capture per source, a capture with two
    [("netflow_v5", 4), ("netflow_v5", 2), ("pcap", 2), ("nfcapd", 3)],  # a source over two captures
    [("ipfix", 7), ("netflow_v9", 7), ("ipfix", 5), ("zeek", 1), ("suricata", 1), ("zeek", 9)],
])
def test_same_pairs_as_distinct(rows):
    con = duckdb.connect()
    con.execute("CREATE TABLE flows (source VARCHAR, capture_id INTEGER)")
    if rows:
        con.executemany("INSERT INTO flows VALUES (?, ?)", rows)
    expected = con.execute(DISTINCT).fetchall()
    assert [tuple(r) for r in _flow_sources(con)] == expected
    assert len(expected) == len({r for r in rows if r[0] != "pcap"})


def test_lake_footers_give_the_same_pairs(tmp_path):
    """On a lake the parts' footers answer (lake_stats.flow_source_pairs) where every part holds one source: the
    same pairs as the DISTINCT over the flows view; a part mixing flows from packets with exported records (a
    capture of NetFlow datagrams) cannot say, and the scan answers, the same."""
    import os
    import subprocess

    from forensics.demo.generate import write_bench_pcap
    from forensics.ingest import ImportOptions, import_paths
    from forensics.store import Case
    from forensics.store.lake_stats import flow_source_pairs
    from tests.conftest import CORPUS

    nf = tmp_path / "nf"
    nf.mkdir()
    subprocess.run(["nfpcapd", "-r", str(CORPUS / "files" / "ipfixprobe" / "mixed.pcap"), "-w", str(nf)],
                   check=True, capture_output=True, env=dict(os.environ, TZ="UTC"))
    generated = tmp_path / "gen.pcap"
    write_bench_pcap(generated, 300, seed=5)
    db = tmp_path / "lake"
    with Case.open(db) as case:
        import_paths(case, [str(generated), str(sorted(nf.glob("nfcapd.*"))[0])], ImportOptions())
    with Case.open(db, read_only=True) as case:
        expected = case.con.execute(DISTINCT).fetchall()
        assert expected and {s for s, _ in expected} == {"nfcapd"}
        assert flow_source_pairs(case.con) == [tuple(r) for r in expected]
        assert [tuple(r) for r in _flow_sources(case.con)] == expected
    with Case.open(db) as case:
        import_paths(case, [str(CORPUS / "files" / "graylog-netflow" / "netflow5.pcap")], ImportOptions())
    with Case.open(db, read_only=True) as case:
        expected = case.con.execute(DISTINCT).fetchall()
        assert {s for s, _ in expected} == {"nfcapd", "netflow_v5"}
        assert flow_source_pairs(case.con) is None  # the NetFlow capture's part holds pcap and netflow_v5 rows
        assert [tuple(r) for r in _flow_sources(case.con)] == expected
