"""What a report counts: flows restricted to the scope and filters, and the packets behind them binned by time.

Where the case holds the packets (flows with source 'pcap'), bytes and packets are binned by each packet's
own time (queries/reports/_packet_bins.sql), so a long flow is not piled into the bin where it started;
exported flows (NetFlow, IPFIX, sFlow, flow files: no packets) count in the bin of their start. The macro
traffic() in _context.sql unions the two; `binning` says which applied.

A --filter naming per-packet fields (TCP flags, lengths, TTL, IP id, fragments) selects packets where
packets are held, so `tcp[tcpflags] & tcp-syn != 0` counts SYN packets, not every packet of a flow that had
one; exported flows are selected by their record (for TCP flags: the OR of the flow's flags).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

import duckdb

from forensics.config import CaseConfig
from forensics.errors import UsageError
from forensics.reports.scopes import Fragment
from forensics.resources import read_sql
from forensics.store.bulk_insert import temp_table
from forensics.store.home_bits import home_fingerprint, home_ranges
from forensics.store.lake_stats import HOME_VIEW, flow_part_spans, is_lake_flows

CONTEXT_SQL = "reports/_context.sql"
PACKET_BINS_SQL = "reports/_packet_bins.sql"
FLOWS_ONLY_SQL = "reports/_traffic_flows_only.sql"
_RESTRICT = "true /* restrict */"
# Columns of a compiled filter that hold per-packet values (a flow only has a summary of them, or none).
_PACKET_FIELDS = re.compile(r"\b(tcp_flags|wirelen|caplen|ip_len|ttl|ip_id|frag_offset|frag_flags)\b")

# ReportResult.binning: the two values the JSON schema allows (forensics/schemas/report.schema.json)
BINNING_PACKETS = "packet-time"
BINNING_FLOWS = "flow-start"


@dataclass
class Restriction:
    """The conditions of one report: for the flows table, and for packets seen as one-packet flows."""

    flows: list[Fragment] = field(default_factory=list)
    packets: list[Fragment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def filter_restriction(expr: str, restriction: Restriction) -> None:
    """Add a tcpdump-style --filter: compiled for packets (per packet) and for flow records."""
    from forensics.filters import compile_filter

    packet_sql, packet_params = compile_filter(expr, table="packets", alias=None, prefix="_fp")
    restriction.packets.append((packet_sql, dict(packet_params)))
    try:
        flow_sql, flow_params = compile_filter(expr, table="flows", alias=None, prefix="_ff")
    except UsageError as exc:
        restriction.flows.append(("false", {}))
        restriction.notes.append(f"--filter {expr!r} names per-packet fields that flow records lack ({exc}): "
                                 "it counts the packets the case holds; exported flows are left out and "
                                 "flows are not counted")
        return
    restriction.flows.append((flow_sql, dict(flow_params)))
    if _PACKET_FIELDS.search(packet_sql):
        restriction.notes.append(f"--filter {expr!r} names per-packet fields: where packets are held it "
                                 "selects packets (bytes and packets count the matching ones; flows count "
                                 "the flows whose record matches); exported flows are selected as whole "
                                 "records (TCP flags: the OR of the flow's flags)")
    else:
        restriction.notes.append(f"--filter {expr!r} names flow-key fields only: it selects whole flows")


def fill_packet_bins(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime, bin_secs: int,
                     fragments: list[Fragment], name: str | None = None) -> None:
    """Insert into _packet_bins the packets in [start, end) that every fragment keeps, per key and bin."""
    params: dict = {"filter": name, "bin_secs": bin_secs, "from_ts": start, "to_ts": end}
    for _, p in fragments:
        params.update(p)
    kept = [sql for sql, _ in fragments if sql != "true"]
    where = " AND ".join(f"({sql})" for sql in kept) or "true"
    con.execute(read_sql(PACKET_BINS_SQL).replace(_RESTRICT, where), params)


def flows_only_when_no_packets(con: duckdb.DuckDBPyConnection) -> bool:
    """When _packet_bins holds no packets for traffic() (a case of exported flows, or --basis flows), redefine
    traffic() as the flows alone (queries/reports/_traffic_flows_only.sql; see _context.sql for why: the union
    with an empty branch hides the flows' column statistics from DuckDB's optimizer). True when it did."""
    if con.execute("SELECT count(*) FROM (SELECT 1 FROM _packet_bins WHERE filter IS NULL LIMIT 1) x").fetchone()[0]:
        return False
    con.execute(read_sql(FLOWS_ONLY_SQL))
    return True


_FLOW_TRAFFIC_HEAD = "CREATE OR REPLACE TEMP MACRO flow_traffic("
# flow_traffic() of _context.sql and its form reading the flows parts' home bits: (text in it, text in the other)
_HOME_BITS_EDITS = (("is_home(f.src_ip) AS src_home", "f.src_home AS src_home"),
                    ("is_home(f.dst_ip) AS dst_home", "f.dst_home AS dst_home"),
                    ("FROM flows f", f"FROM {HOME_VIEW} f"))


@functools.lru_cache(maxsize=4)
def flow_traffic_sql(context_sql: str, home_bits: bool) -> str:
    """The statement of `context_sql` (_context.sql) that defines flow_traffic(); with `home_bits`, the same macro
    reading HOME_VIEW (the pinned flows parts with their src_home and dst_home) instead of testing the addresses."""
    start = context_sql.index(_FLOW_TRAFFIC_HEAD)
    sql = context_sql[start:context_sql.index(";", start) + 1]
    if home_bits:
        for plain, bits in _HOME_BITS_EDITS:
            if sql.count(plain) != 1:
                raise ValueError(f"flow_traffic in _context.sql: expected {plain!r} once")
            sql = sql.replace(plain, bits)
    return sql


def home_bits_usable(con: duckdb.DuckDBPyConnection, config: CaseConfig, pinned: list[str]) -> bool:
    """The flows parts' home bits answer is_home for this report: HOME_VIEW pinned (every flows part holds them,
    nothing restricts the flows) and every capture of the case imported under the home blocks of `config`
    (flow_home_bits; forensics/store/home_bits.py)."""
    if HOME_VIEW not in pinned:
        return False
    fp = home_fingerprint(home_ranges((n.lo, n.hi) for n in config.home))
    try:
        row = con.execute("SELECT count(*) FROM captures c LEFT JOIN flow_home_bits h USING (capture_id) "
                          "WHERE h.home_fp IS DISTINCT FROM $fp", {"fp": fp}).fetchone()
    except duckdb.Error:  # (a case from before flow_home_bits, opened read-only: no bits anywhere)
        return False
    return row is not None and row[0] == 0


_ROLLED_UP_ANCHOR = "AND basis_counts(f.source)"


def install_flow_traffic(con: duckdb.DuckDBPyConnection, home_bits: bool, rolled_up: list[int] | None = None) -> None:
    """Define flow_traffic() for the next statements: reading the home bits (home_bits_usable) or as _context.sql
    has it; without the exported flows of the captures `rolled_up` (a single-file case's captures read from their
    rollup: forensics/reports/rollup.py). A report that changed it puts the plain one back at its end (HOME_VIEW
    goes with its pins)."""
    sql = flow_traffic_sql(read_sql(CONTEXT_SQL), home_bits)
    if rolled_up:
        if sql.count(_ROLLED_UP_ANCHOR) != 1:
            raise ValueError(f"flow_traffic in _context.sql: expected {_ROLLED_UP_ANCHOR!r} once")
        # (a chain of <>, which DuckDB tests against the column's statistics: the scan of a table whose captures
        # are all rolled up reads nothing; NOT IN (...) read every row: 80 against 0.6 ms on 10 M flows)
        others = " AND ".join(f"f.capture_id <> {int(c)}" for c in rolled_up)
        sql = sql.replace(_ROLLED_UP_ANCHOR, f"{_ROLLED_UP_ANCHOR}\n      AND (f.source = 'pcap' OR ({others}))"
                                             "  -- the others' exported flows: from their rollup")
    con.execute(sql)


def data_range(con: duckdb.DuckDBPyConnection, table: str = "flows") -> tuple[dt.datetime | None,
                                                                              dt.datetime | None]:
    """First and last time of the traffic: packet times for flows built from packets, starts for exports."""
    span = capture_spans(con, table)
    return span_range(span)


@dataclass
class FlowSpan:
    """The flows of one capture, kind (pcap: built from packets) and sampling (exported with a rate > 1)."""

    capture_id: int
    pcap: bool
    sampled: bool
    first_ts: dt.datetime | None
    last_ts: dt.datetime | None
    max_first: dt.datetime | None
    flows: int


@dataclass
class CaptureSpan:
    """One capture's flows in a table: first start, last end, last traffic time, flow counts by kind."""

    capture_id: int
    first_ts: dt.datetime | None
    last_ts: dt.datetime | None
    last_traffic: dt.datetime | None
    flows: int
    pcap_flows: int


def flow_spans(con: duckdb.DuckDBPyConnection, table: str = "flows") -> list[FlowSpan]:
    """Per capture, kind (from packets or exported) and sampling: the flows' time range and count, in at most
    one scan (issue 11: the spans, the binning decision, the sources and the coverage per bin each scanned the
    flows). When the whole table is one capture of one kind, DuckDB answers from its column statistics; on a
    lake, the parts' Parquet footers answer (forensics/store/lake_stats.py), where DuckDB would scan them."""
    if is_lake_flows(con, table):
        parts = flow_part_spans(con)
        if parts is not None:
            return [FlowSpan(*row) for row in parts]
    one = con.execute(
        f"SELECT min(capture_id), max(capture_id), min(source), max(source), min(sampling_rate), "
        f"       max(sampling_rate), min(first_ts), max(last_ts), max(first_ts), count(*) FROM {table}"
    ).fetchone()
    if one[0] is None:
        return []
    cid, cid_hi, src, src_hi, rate, rate_hi = one[:6]
    pcap = src == "pcap"
    if cid == cid_hi and src == src_hi and (pcap or (rate > 1) == (rate_hi > 1)):
        return [FlowSpan(cid, pcap, not pcap and rate > 1, *one[6:])]
    rows = con.execute(
        f"SELECT capture_id, source = 'pcap' AS pcap, source <> 'pcap' AND coalesce(sampling_rate > 1, false) "
        f"       AS sampled, min(first_ts), max(last_ts), max(first_ts), count(*) "
        f"FROM {table} GROUP BY capture_id, pcap, sampled"
    ).fetchall()
    return [FlowSpan(*row) for row in rows]


def capture_spans(con: duckdb.DuckDBPyConnection, table: str = "flows",
                  rows: list[FlowSpan] | None = None) -> list[CaptureSpan]:
    """Per capture: what data_range, binning and the report's sources need (from `rows`, flow_spans of the
    table, when at hand)."""
    out: dict[int, CaptureSpan] = {}
    for r in flow_spans(con, table) if rows is None else rows:
        traffic = r.last_ts if r.pcap else r.max_first
        span = out.get(r.capture_id)
        if span is None:
            out[r.capture_id] = CaptureSpan(r.capture_id, r.first_ts, r.last_ts, traffic, r.flows,
                                            r.flows if r.pcap else 0)
            continue
        span.first_ts = least(span.first_ts, r.first_ts)
        span.last_ts = greatest(span.last_ts, r.last_ts)
        span.last_traffic = greatest(span.last_traffic, traffic)
        span.flows += r.flows
        span.pcap_flows += r.flows if r.pcap else 0
    return list(out.values())


def least(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else min(a, b)


def greatest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else max(a, b)


EXPORT_SPANS = "_export_spans"


def install_export_spans(con: duckdb.DuckDBPyConnection, rows: list[FlowSpan]) -> None:
    """TEMP table _export_spans(capture_id, sampled, lo, hi): the exported flows' spans per capture and
    sampling (from flow_spans), which queries/runs/coverage.sql and bin_sources.sql read instead of the flows."""
    spans = [[r.capture_id, r.sampled, r.first_ts, r.last_ts] for r in rows if not r.pcap]
    temp_table(con, EXPORT_SPANS, "capture_id INTEGER, sampled BOOLEAN, lo TIMESTAMP, hi TIMESTAMP", spans)


def span_range(spans: list[CaptureSpan]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(first, last) traffic time over the captures' spans (None, None when there are no flows)."""
    firsts = [s.first_ts for s in spans if s.first_ts is not None]
    lasts = [s.last_traffic for s in spans if s.last_traffic is not None]
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)


def captures_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(first, last) packet or record time over the case's imported files (None, None when it has none): the
    window of a case without IP traffic (only ARP, STP, ... frames), and of reports that read every frame."""
    return con.execute("SELECT min(first_ts), max(last_ts) FROM captures").fetchone()


def case_flows(con: duckdb.DuckDBPyConnection) -> str:
    """The case's own flows table, qualified by its catalog (`main.flows` would also name the TEMP one)."""
    db = con.execute("SELECT current_database()").fetchone()[0]
    return '"' + db.replace('"', '""') + '".main.flows'


def binning(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime,
            spans: list[CaptureSpan] | None = None) -> tuple[str, list[str]]:
    """How the window's traffic went into bins, and a note when both ways apply.

    packet-time where the case holds the packets of every flow in the window (or holds packets at all, when
    the window is empty), flow-start where it holds only exported flows; with both, packet-time and a note
    counting the exported flows binned by their start. `spans` (capture_spans of `flows`) settles the
    common case of one kind of flow without another scan.
    """
    if spans is not None:
        held = sum(s.pcap_flows for s in spans)
        exported = sum(s.flows - s.pcap_flows for s in spans)
        if not exported and not held:  # no flows: packets held (ARP, STP, ... frames only) or nothing
            held = con.execute("SELECT coalesce(sum(packets), 0) FROM captures").fetchone()[0]
        if not exported:
            return (BINNING_PACKETS if held else BINNING_FLOWS), []
        if not held:
            return BINNING_FLOWS, []
    packets, exports, held = con.execute(
        "SELECT count(*) FILTER (WHERE source = 'pcap' AND first_ts < $e "
        "                        AND (CASE WHEN source = 'pcap' THEN last_ts ELSE first_ts END) >= $s), "
        "       count(*) FILTER (WHERE source <> 'pcap' AND first_ts < $e AND first_ts >= $s), "
        "       count(*) FILTER (WHERE source = 'pcap') FROM flows",
        {"s": start, "e": end},
    ).fetchone()
    if packets and exports:
        return BINNING_PACKETS, [f"binned by packet time where the case holds the packets; {exports:,} exported "
                                 "flow records (no packets) are binned by their start"]
    if packets or (not exports and held):
        return BINNING_PACKETS, []
    return BINNING_FLOWS, []
