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
