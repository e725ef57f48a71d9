"""The lake's footer summaries (forensics/store/lake_stats.py: read with pyarrow) say what DuckDB's own reading of
the same footers says (parquet_metadata(), the statistics as text): every part of a lake of IPv4 and IPv6 packets,
ARP, exported NetFlow/IPFIX flows and shared (compacted) files, column by column."""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pyarrow.parquet as pq
import pytest

from forensics.ingest import ImportOptions, import_paths
from forensics.store import Case, lake_compact, lake_stats
from tests.conftest import CORPUS

FILES = ["tcpdump/ipv6-routing-header.pcap", "tcpdump/LINKTYPE_RAW_ipv6.pcap", "nDPI/synscan.pcap",
         "zeek/dhcp__dhcp_flood.pcap", "pmacct/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources__traffic-00.pcap",
         "logstash-netflow/netflow5_test_juniper_mx80.dat", "gopacket/test_ethernet.pcap",
         "zeek/dns-edns-ecs.pcap"]  # (the last: IPv4 and IPv6 packets in one part)

# What the summaries replaced: the same questions asked of parquet_metadata() (the oracle here).
PART_SQL = """
SELECT file_name,
       min(stats_min_value) FILTER (WHERE path_in_schema = 'source'),
       max(stats_max_value) FILTER (WHERE path_in_schema = 'source'),
       min(TRY_CAST(stats_min_value AS BIGINT)) FILTER (WHERE path_in_schema = 'sampling_rate'),
       max(TRY_CAST(stats_max_value AS BIGINT)) FILTER (WHERE path_in_schema = 'sampling_rate'),
       min(TRY_CAST(stats_min_value AS BIGINT)) FILTER (WHERE path_in_schema = 'capture_id'),
       max(TRY_CAST(stats_max_value AS BIGINT)) FILTER (WHERE path_in_schema = 'capture_id'),
       min(TRY_CAST(stats_min_value AS TIMESTAMP)) FILTER (WHERE path_in_schema = 'first_ts'),
       max(TRY_CAST(stats_max_value AS TIMESTAMP)) FILTER (WHERE path_in_schema = 'first_ts'),
       max(TRY_CAST(stats_max_value AS TIMESTAMP)) FILTER (WHERE path_in_schema = 'last_ts'),
       sum(row_group_num_rows) FILTER (WHERE path_in_schema = 'first_ts'),
       bool_or(stats_min_value IS NULL OR stats_max_value IS NULL OR stats_null_count IS DISTINCT FROM 0)
           FILTER (WHERE row_group_num_rows > 0)
FROM parquet_metadata($files)
WHERE path_in_schema IN ('source', 'sampling_rate', 'capture_id', 'first_ts', 'last_ts')
GROUP BY file_name
"""
TIME_SQL = """
SELECT file_name, min(TRY_CAST(stats_min_value AS TIMESTAMP)), max(TRY_CAST(stats_max_value AS TIMESTAMP)),
       bool_or(stats_min_value IS NULL OR stats_max_value IS NULL) FILTER (WHERE row_group_num_rows > 0)
FROM parquet_metadata($files)
WHERE path_in_schema IN ('ts', 'first_ts')
GROUP BY file_name
"""
ADDRESS_SQL = """
SELECT file_name, path_in_schema,
       coalesce(bool_and(stats_null_count = 0 AND stats_min_value = '0' AND stats_max_value = '0'), false),
       coalesce(bool_and(stats_null_count = row_group_num_rows), false)
FROM parquet_metadata($files)
WHERE ends_with(path_in_schema, '_hi')
GROUP BY ALL
"""


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("footers") / "lake"
    old = os.environ.get("FORENSICS_LAYOUT")
    os.environ["FORENSICS_LAYOUT"] = "lake"
    try:
        with Case.open(root) as case:
            summary = import_paths(case, [str(CORPUS / "files" / f) for f in FILES], ImportOptions())
            assert {f.status for f in summary.files} == {"imported"}, [f.message for f in summary.files]
        before = len(list(root.rglob("*.parquet")))
        with Case.open(root) as case:
            lake_compact.compact(case)  # the small captures' parts into shared files (a capture_id column)
    finally:
        if old is None:
            os.environ.pop("FORENSICS_LAYOUT")
        else:
            os.environ["FORENSICS_LAYOUT"] = old
    files = sorted(str(p) for p in root.rglob("*.parquet") if "_staging" not in p.parts)
    assert any("/shared/" in f and "part-empty" not in f for f in files), (before, files)
    return files


def _oracle(sql: str, files: list[str]) -> dict:
    con = duckdb.connect()
    try:
        rows = con.execute(sql, {"files": files}).fetchall()
    finally:
        con.close()
    return {tuple(r[:2]) if sql is ADDRESS_SQL else r[0]: tuple(r) for r in rows}


def test_part_and_time_summaries_match_parquet_metadata(parts):
    flows = [f for f in parts if "/flows/" in f]
    want = _oracle(PART_SQL, flows)
    got = {r[0]: r for r in lake_stats.footer_rows(lake_stats._part_stats, flows)}
    assert got.keys() == want.keys()
    for f, row in got.items():
        assert row[:-1] == want[f][:-1], f  # values typed alike: text, integers, naive datetimes
        assert bool(row[-1]) == bool(want[f][-1]), f  # unsure
    assert any(r[1] not in (None, "pcap") for r in got.values())  # exported flows among them
    assert any(r[5] is not None for r in got.values())  # a shared part: its capture_id column
    want = _oracle(TIME_SQL, parts)
    got = {r[0]: r for r in lake_stats.footer_rows(lake_stats._time_stats, parts)}
    assert got.keys() == want.keys()
    for f, row in got.items():
        assert row[1:3] == want[f][1:3] and bool(row[3]) == bool(want[f][3]), f
        assert row[1] is None or isinstance(row[1], dt.datetime)


def test_address_summaries_match_parquet_metadata(parts):
    want = _oracle(ADDRESS_SQL, parts)
    got = {tuple(r[:2]): r for r in lake_stats.footer_rows(lake_stats._address_stats, parts)}
    assert got.keys() == want.keys()
    for key, row in got.items():
        assert (row[2], row[3]) == (bool(want[key][2]), bool(want[key][3])), key
    kinds = {(zero, null) for _, _, zero, null in got.values()}
    assert {(True, False), (False, True), (False, False)} <= kinds  # IPv4 only, all NULL, and IPv6 parts
    mixed = [k for k in got if k[1] == "src_ip_hi" and not got[k][2] and _hi_range(k[0])[0] == 0]
    assert mixed  # a part holding IPv4 (A_hi 0) and IPv6 addresses: not "zero"
    for path in {k[0] for k in got}:  # every *_hi column of every part with row groups has its row
        meta = pq.read_metadata(path)
        if meta.num_row_groups:
            his = {meta.schema.column(i).path for i in range(meta.num_columns)} & {"src_ip_hi", "dst_ip_hi"}
            assert his <= {k[1] for k in got if k[0] == path}


def _hi_range(path: str) -> tuple:
    """(least, greatest) src_ip_hi a part's row groups state; (None, None) where none does."""
    meta = pq.read_metadata(path)
    i = [meta.schema.column(j).path for j in range(meta.num_columns)].index("src_ip_hi")
    stats = [meta.row_group(g).column(i).statistics for g in range(meta.num_row_groups)]
    said = [s for s in stats if s is not None and s.has_min_max]
    return (min(s.min for s in said), max(s.max for s in said)) if said else (None, None)
