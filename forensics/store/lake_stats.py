"""What a lake's flow parts hold, answered from their Parquet footers (row-group statistics) instead of a scan.

A single-file case answers `min(first_ts), max(last_ts), count(*) ...` over its flows from DuckDB's own column
statistics; over the lake's view DuckDB scans every part (the views' glob always names the empty part too, and
DuckDB merges no statistics across files): 0.39 s of CPU per report on 10 M flows, more than the rest of
protocol_mix's setup together (issue 11/17, bench/README.md "Lake layout reports (s7)"). The footers are read
with pyarrow, once per file and process (footer_rows): DuckDB's parquet_metadata() took 35-45 ms for one 10 M-flow
part (82 row groups: a row per column chunk, every statistic as text), pyarrow 5 ms, and only the columns asked
for are walked.

flow_part_spans() gives, per capture, kind (flows built from packets or exported) and sampling, what
forensics.reports.traffic.flow_spans computes by a scan, or None when the statistics cannot say it exactly
(a statistic missing or inexact, NULLs in the columns that decide the kind, a part mixing kinds or captures):
the caller scans then.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from forensics.store.catalog_probe import persistent_objects, remembered

if TYPE_CHECKING:
    import pyarrow.parquet as pq

# Per part: the statistics that settle kind, sampling, time range and row count. A part listed with capture_id 0
# is a shared file (forensics/store/lake_compact.py): its capture is its capture_id column's (one value or none).
_PART_COLUMNS = ("source", "sampling_rate", "capture_id", "first_ts", "last_ts")


def _part_stats(path: str, meta: pq.FileMetaData) -> list[tuple]:
    """[(path, source min, source max, sampling_rate min, max, capture_id min, max, first_ts min, max, last_ts max,
    rows, unsure)] (no row for a file without row groups): a value is None where no row group states it; unsure
    when a row group with rows leaves one of these columns' range unsaid or holds NULLs in them."""
    chunks = _chunks(meta, _PART_COLUMNS)
    if not any(chunks.values()):
        return []
    unsure = None
    for name in _PART_COLUMNS:
        for rows, st in chunks[name]:
            if rows > 0:
                unsure = bool(unsure) or not _has_range(st) or not st.has_null_count or st.null_count != 0
    src, rate, cid = _range(chunks["source"]), _range(chunks["sampling_rate"]), _range(chunks["capture_id"])
    first, last = _range(chunks["first_ts"]), _range(chunks["last_ts"])
    n = sum(rows for rows, _ in chunks["first_ts"]) if chunks["first_ts"] else None
    return [(path, *src, *rate, *cid, *first, last[1], n, unsure)]


def _chunks(meta: pq.FileMetaData, names: tuple[str, ...]) -> dict[str, list[tuple[int, pq.Statistics | None]]]:
    """(rows, statistics) of each row group's chunk of each column in `names` (top-level columns; [] where absent)."""
    where = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    out: dict[str, list[tuple[int, pq.Statistics | None]]] = {n: [] for n in names}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for name in names:
            i = where.get(name)
            if i is not None:
                out[name].append((group.num_rows, group.column(i).statistics))
    return out


def _has_range(st: pq.Statistics | None) -> bool:
    return st is not None and st.has_min_max


def _range(chunks: list[tuple[int, pq.Statistics | None]]) -> tuple:
    """(least min, greatest max) over the chunks that state them (None where none does): SQL's min()/max() over
    parquet_metadata's stats_min_value/stats_max_value, with the values typed (integers, datetimes, text)."""
    stated = [st for _, st in chunks if _has_range(st)]
    if not stated:
        return None, None
    return min(st.min for st in stated), max(st.max for st in stated)


Span = tuple[int, bool, bool, dt.datetime, dt.datetime, dt.datetime, int]

# footer_rows' answers per (summary, file, mtime, size): a published part never changes (a new part is a new file),
# and a report asks several summaries of the same parts.
_FOOTERS: dict[tuple[object, str, int, int], list[tuple]] = {}
_FOOTERS_MAX = 8192
Summary = Callable[[str, "pq.FileMetaData"], list[tuple]]


def footer_rows(summary: Summary, files: list[str]) -> list[tuple]:
    """summary(path, footer) for each of `files` (its rows, first column the path), each file's answer computed once
    per process while its size and mtime stay the same. Raises OSError for a file gone or not Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys = {}
    for f in files:
        st = os.stat(f)
        keys[f] = (summary, f, st.st_mtime_ns, st.st_size)
    got = {f: _FOOTERS.get(k) for f, k in keys.items()}
    missing = [f for f, rows in got.items() if rows is None]
    if len(_FOOTERS) + len(missing) > _FOOTERS_MAX:
        _FOOTERS.clear()
    for f in missing:
        try:
            meta = pq.read_metadata(f)
        except (pa.ArrowException, ValueError) as exc:  # (ArrowInvalid: not Parquet, cut short)
            raise OSError(f"{f}: {exc}") from exc
        got[f] = _FOOTERS[keys[f]] = summary(f, meta)
    return [r for f in files for r in got[f]]


# The address columns of each table pin_parts shadows, held in the parts as A_hi, A_lo.
_ADDRESSES = {"flows": ("exporter_ip", "src_ip", "dst_ip", "next_hop"),
              "packets": ("src_ip", "dst_ip", "arp_spa", "arp_tpa")}


# TEMP objects named flows (a report's scope restriction or pinned parts, an import's staged rows)
_TEMP_FLOWS = ("(SELECT count(*) FROM duckdb_tables() WHERE table_name = 'flows' AND temporary) "
               "+ (SELECT count(*) FROM duckdb_views() WHERE view_name = 'flows' AND temporary)")


def is_lake_flows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `table` (a name as the report code passes it: `flows`, or the catalog-qualified main.flows) reads
    the lake's flows view: no TEMP `flows` shadows it (a report's scope restriction, an import's staged rows).
    False on another engine's connection (forensics/spark: its flows are Spark's own reading of the parts)."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return False
    taken = persistent_objects(con)  # within a report run: the views and lake_parts from its one look
    if taken is not None:
        if "flows" not in taken.views or "lake_parts" not in taken.tables:
            return False
        return table != "flows" or not con.execute(f"SELECT {_TEMP_FLOWS}").fetchone()[0]
    row = con.execute(
        "SELECT (SELECT count(*) FROM duckdb_views() WHERE view_name = 'flows' AND NOT temporary "
        "        AND schema_name = 'main' AND database_name = current_database()), "
        "       (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'lake_parts' AND NOT temporary "
        f"        AND schema_name = 'main' AND database_name = current_database()), {_TEMP_FLOWS}").fetchone()
    views, parts, temps = row
    if not views or not parts:
        return False
    return table != "flows" or not temps


def _flow_part_rows(con: duckdb.DuckDBPyConnection) -> list[tuple] | None:
    """Per flow part listed in lake_parts, its _PART_STATS row with the part's capture id in place of the file
    name (a shared file's from its capture_id statistics), the source one value (min = max); [] for no flows;
    None when a footer cannot say it (a part unreadable or gone, a statistic missing or inexact, a part mixing
    sources, a shared file of several captures)."""
    root = _root(con)
    parts = [(path, cid) for table, path, cid, _ in _listed_parts(con) if table == "flows"]
    if not parts or root is None:
        return [] if not parts else None
    files = {str(root / path): cid for path, cid in parts}
    try:
        rows = footer_rows(_part_stats, list(files))
    except OSError:  # a part gone or unreadable: the scan says what is wrong
        return None
    if len(rows) != len(files):
        return None
    out = []
    for name, src_lo, src_hi, *stats, unsure in rows:
        cid = files.get(name)
        if unsure or src_lo is None or src_lo != src_hi or cid is None:
            return None
        cid_lo, cid_hi = stats[2], stats[3]
        if cid == 0:  # a shared file: one capture's rows, or unsure
            if cid_lo is None or cid_lo != cid_hi:
                return None
            cid = int(cid_lo)
        out.append((cid, src_lo, *stats, unsure))
    return out


def flow_part_spans(con: duckdb.DuckDBPyConnection) -> list[Span] | None:
    """(capture_id, pcap, sampled, min first_ts, max last_ts, max first_ts, rows) per capture, kind and sampling
    of the lake's flow parts listed in lake_parts, from their footers; [] for no flows; None when unsure."""
    rows = _flow_part_rows(con)
    if rows is None:
        return None
    spans: dict[tuple[int, bool, bool], list] = {}
    for cid, source, rate_lo, rate_hi, _cid_lo, _cid_hi, first_lo, first_hi, last_hi, n, _unsure in rows:
        if None in (rate_lo, rate_hi, first_lo, first_hi, last_hi, n):
            return None
        pcap = source == "pcap"
        if not pcap and (rate_lo > 1) != (rate_hi > 1):
            return None
        key = (cid, pcap, not pcap and rate_lo > 1)
        span = spans.get(key)
        if span is None:
            spans[key] = [first_lo, last_hi, first_hi, int(n)]
        else:
            span[0], span[1], span[2] = min(span[0], first_lo), max(span[1], last_hi), max(span[2], first_hi)
            span[3] += int(n)
    return [(*key, *span) for key, span in sorted(spans.items())]


def flow_source_pairs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]] | None:
    """The (source, capture_id) pairs of the lake's exported flows (source other than pcap), ordered by capture and
    source, from the footers of the flow parts listed in lake_parts: what the runs' data fingerprint scans the
    flows for (a GROUP BY over 10 M flows: 0.05-0.08 s, twice per `forensics report`). None on a single-file case,
    a lake whose flows a TEMP object shadows, or when a footer cannot say it (_flow_part_rows): the caller scans."""
    if not is_lake_flows(con, "flows"):
        return None
    rows = _flow_part_rows(con)
    if rows is None:
        return None
    return sorted({(source, cid) for cid, source, *_ in rows if source != "pcap"}, key=lambda r: (r[1], r[0]))


def _time_stats(path: str, meta: pq.FileMetaData) -> list[tuple]:
    """[(path, least ts/first_ts, greatest, unsure)] (no row for a file without row groups): the range of the part's
    time column (packets.ts, flows.first_ts), unsure when a row group with rows leaves it unsaid."""
    chunks = _chunks(meta, ("ts", "first_ts"))
    both = chunks["ts"] + chunks["first_ts"]
    if not both:
        return []
    said = [_has_range(st) for rows, st in both if rows > 0]
    lo, hi = _range(both)
    return [(path, lo, hi, (not all(said)) if said else None)]


def time_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """(least of min(packets.ts) and min(flows.first_ts), greatest of their maxima) over the lake's parts listed
    in lake_parts, from the footers (each read once per process): what `forensics check` scans the views for to
    find the case's span (on the 2M-packet bench lake 26-38 ms of CPU, against 3-5 ms from a single file's
    column statistics). (None, None) for a lake without rows; None on a single-file case, another engine's connection,
    a lake whose flows or packets a TEMP object shadows (an import's staged rows), or when a footer cannot say it
    exactly (a statistic missing or inexact): the caller scans then."""
    if not is_lake_flows(con, "flows"):
        return None
    root = _root(con)
    if root is None or con.execute(
            "SELECT (SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'packets') "
            "     + (SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = 'packets')").fetchone()[0]:
        return None
    files = [str(root / path) for (path,) in con.execute(
        "SELECT path FROM lake_parts WHERE table_name IN ('flows', 'packets') AND rows > 0").fetchall()]
    if not files:
        return None, None
    try:
        rows = footer_rows(_time_stats, files)
    except OSError:  # a part gone or unreadable: the scan says what is wrong
        return None
    if len(rows) != len(files) or any(unsure or lo is None or hi is None for _, lo, hi, unsure in rows):
        return None
    return min(r[1] for r in rows), max(r[2] for r in rows)


def _listed_parts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, int]]:
    """(table_name, path, capture_id, rows) of every part with rows listed in lake_parts."""
    return remembered(con, "lake_parts", lambda: con.execute(
        "SELECT table_name, path, capture_id, rows FROM lake_parts WHERE rows > 0").fetchall())


def _root(con: duckdb.DuckDBPyConnection) -> Path | None:
    base = remembered(con, "file_search_path",
                      lambda: con.execute("SELECT current_setting('file_search_path')").fetchone()[0])
    return Path(base.split(",")[0]) if base else None


# Which tables pin_parts reads part by part: each part is a branch of the TEMP view's UNION ALL, and DuckDB plans
# every branch at every mention of the view (about 0.55 ms of CPU a branch, against ~1.5 ms for a glob of any
# length: 2M-packet bench lake, 2026-12-03), while what the statistics save grows with the rows. So: up to
# PINNED_PARTS parts whatever their size, up to MAX_PINNED_PARTS when they hold PINNED_PART_ROWS rows on average
# (a large capture's parts); a case of many small captures is read through the catalog's glob (or compacted).
PINNED_PARTS = 8
MAX_PINNED_PARTS = 64
PINNED_PART_ROWS = 100_000

def _address_stats(path: str, meta: pq.FileMetaData) -> list[tuple]:
    """[(path, A_hi, zero, null)] per address column A of the part (a column named *_hi): zero when every row
    group states that A_hi is 0 in every row (no NULL); null when every row group holds only NULLs in it."""
    names = tuple(meta.schema.column(i).path for i in range(meta.num_columns)
                  if meta.schema.column(i).path.endswith("_hi"))
    out = []
    for name, chunks in _chunks(meta, names).items():
        if not chunks:
            continue
        zero = all(_has_range(st) and st.has_null_count and st.null_count == 0 and st.min == 0 and st.max == 0
                   for _, st in chunks)
        null = all(st is not None and st.has_null_count and st.null_count == rows for rows, st in chunks)
        out.append((path, name, zero, null))
    return out


# The flows view with each end's home bit (forensics/store/home_bits.py) that a report's traffic() reads when they
# apply (forensics/reports/traffic.py home_bits_usable): made by pin_parts(homes=True) when every flows part
# holds them.
HOME_VIEW = "_flow_homes"
HOME_COLUMNS = ("src_home", "dst_home")
# ... and only for this many flows or more: a report reading the bits sends five statements more (the view, the
# captures' fingerprints, flow_traffic() made and put back: +5 ms of a 64 ms protocol_mix on a 37-flow case),
# and spares ~9 ns a flow (10 M bench flows: 452 -> 366 ms)
HOME_BITS_MIN_ROWS = 1_000_000


def _home_columns(path: str, meta: pq.FileMetaData) -> list[tuple]:
    """[(path, the part holds src_home and dst_home)]."""
    names = {meta.schema.column(i).path for i in range(meta.num_columns)}
    return [(path, all(c in names for c in HOME_COLUMNS))]


def _address(name: str, hi: tuple[bool, bool] | None) -> str:
    """The view's expression for address `name` from its _hi/_lo columns: the catalog view's CASE
    (queries/schema/lake_views.sql), or what it comes to in a part whose footer says every _hi is 0 (IPv4 only: the
    low half) or every _hi is NULL (NULL): the same value, without the CASE DuckDB does not fold from statistics."""
    zero, null = hi or (False, False)
    if zero:
        return f"{name}_lo::UHUGEINT AS {name}"
    if null:
        return f"CAST(NULL AS UHUGEINT) AS {name}"
    return (f"CASE WHEN {name}_hi = 0 THEN {name}_lo::UHUGEINT "
            f"ELSE {name}_hi::UHUGEINT * 18446744073709551616::UHUGEINT + {name}_lo END AS {name}")


def pin_parts(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...] = ("flows", "packets"),
              homes: bool = False) -> list[str]:
    """For each of `tables` in few parts, or in large ones (PINNED_PARTS, MAX_PINNED_PARTS), a TEMP view of that
    name for the length of a report (unpin() drops it): a UNION ALL with one branch per part file, each a
    read_parquet of that file alone. The catalog's view reads a glob (which always names the empty part too), and
    DuckDB keeps a Parquet file's statistics only when it reads that file alone; a UNION ALL merges its branches'
    statistics. With them DuckDB folds `source = 'pcap'` to a constant where no flow is from packets, skips a time
    filter a window makes moot, drops `IS NOT NULL` tests on columns without NULLs and packs group keys by their
    ranges (protocol_mix on 10 M flows in one part: 1.74 -> 1.08 s of CPU, wannacry 4.38 -> 2.47, s7; the 2M-packet
    bench capture, six packet parts and two flow parts: bench/README.md, s8-lakeread). Each branch also rebuilds an
    address as its part's footer allows (_address). The same rows: lake_parts lists every published file, and the
    view has the catalog view's columns, names and types. Left alone: a lake opened for its import (TEMP objects of
    that name), a table in more (or smaller) parts. `homes`: also HOME_VIEW, the flows with their parts' home
    bits, when every flows part holds them. Returns the names pinned."""
    pinned = []
    for view, sql in part_views(con, tables, homes).items():
        try:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {sql}")
        except duckdb.Error:  # (a part unreadable, views of an older version): the catalog's view answers
            continue
        pinned.append(view)
    return pinned


def part_views(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...] = ("flows", "packets"),
               homes: bool = False, homes_without: frozenset[str] = frozenset()) -> dict[str, str]:
    """The SELECT pin_parts makes a TEMP view of, for each of `tables` it would read part by part (none shadowed by
    a TEMP object, few or large parts); {} on another engine's connection or a single-file case. `homes` (with
    flows among `tables`): also HOME_VIEW when every flows part holds the home bits; of the parts whose paths
    (relative to the case folder) are in `homes_without`, only the flows built from packets (their exported
    flows are read from their rollup: forensics/reports/rollup.py, which has pinned the parts already)."""
    if not is_lake_flows(con, "main.flows"):  # (first: another engine's connection has no DuckDB settings)
        return {}
    root = _root(con)
    if root is None:
        return {}
    temps = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
                                       "SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}
    if homes_without:  # (a report pinning HOME_VIEW again: the TEMP views are the ones it pinned itself)
        temps -= {"flows", "packets"}
    paths_of: dict[str, list[str]] = {}
    rows_of: dict[str, int] = {}
    hive_capture: dict[str, int] = {}  # a part in its capture's folder: the capture id its path names
    for table, path, cid, rows in _listed_parts(con):
        paths_of.setdefault(table, []).append(path)
        rows_of[table] = rows_of.get(table, 0) + rows
        if path.startswith(f"{table}/capture_id={cid}/"):
            hive_capture[str(root / path)] = int(cid)
    listed = {t: sorted(str(root / p) for p in paths) for t, paths in paths_of.items()
              if t in tables and t not in temps and (len(paths) <= PINNED_PARTS or (
                  len(paths) <= MAX_PINNED_PARTS and rows_of[t] >= PINNED_PART_ROWS * len(paths)))}
    if not listed:
        return {}
    files = [f for paths in listed.values() for f in paths]
    try:
        his = {(f, c.removesuffix("_hi")): (bool(z), bool(n))
               for f, c, z, n in footer_rows(_address_stats, files)}
    except OSError:  # a part gone or unreadable: the catalog's view says what is wrong
        return {}
    described = dict(con.execute(  # the catalog views' columns, in order
        "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND table_name IN ('flows', 'packets') "
        "GROUP BY 1").fetchall())
    try:
        with_homes = homes and "flows" in listed and rows_of["flows"] >= HOME_BITS_MIN_ROWS and all(
            has for _, has in footer_rows(_home_columns, listed["flows"]))
    except OSError:
        with_homes = False
    views = {}
    rolled_up = {str(root / p) for p in homes_without}
    for table_name, paths in sorted(listed.items()):
        columns = described.get(table_name)
        if not columns:
            continue
        addresses = set(_ADDRESSES[table_name])
        branches = []
        home_branches = []
        for path in paths:
            # a part in its capture's folder: the capture id as a literal, no hive partitioning to bind (0.35 ms a
            # branch at every mention of the view); a shared file (lake_compact.py) holds a capture_id column
            cid = hive_capture.get(path)
            exprs = [(f"CAST({cid} AS INTEGER) AS capture_id" if cid is not None
                      else "capture_id::INTEGER AS capture_id") if c == "capture_id"
                     else _address(c, his.get((path, c))) if c in addresses else c for c in columns]
            literal = "'" + path.replace("'", "''") + "'"
            hive = "false" if cid is not None else "true, hive_types = {'day': DATE}"
            branches.append(f"SELECT {', '.join(exprs)} FROM read_parquet([{literal}], hive_partitioning = {hive})")
            if with_homes and table_name == "flows":
                rolled = " WHERE source = 'pcap'" if path in rolled_up else ""
                home_branches.append(f"SELECT {', '.join([*exprs, *HOME_COLUMNS])} "
                                     f"FROM read_parquet([{literal}], hive_partitioning = {hive}){rolled}")
        views[table_name] = "\nUNION ALL ".join(branches)
        if home_branches:
            views[HOME_VIEW] = "\nUNION ALL ".join(home_branches)
    return views


def unpin(con: duckdb.DuckDBPyConnection, pinned: list[str]) -> None:
    """Drop the TEMP views pin_parts made."""
    for view in pinned:
        con.execute(f"DROP VIEW IF EXISTS temp.{view}")


@contextmanager
def parts_pinned(*cons: duckdb.DuckDBPyConnection,
                 tables: tuple[str, ...] = ("flows", "packets")) -> Iterator[list[list[str]]]:
    """pin_parts on each of `cons` (a connection and its cursors: TEMP views belong to one connection) for the
    length of a `with`, unpinned after, however it ends (the commands that read flows and packets outside a
    report: check, flows, packets, sql, carve). Yields the names pinned on each. Nothing on a single-file case,
    another engine's connection, or a table in many small parts (pin_parts). The views shadow only the catalog
    views `flows` and `packets`, which nothing writes; a writer on the same connection (check's alerts) is not
    touched."""
    pinned: list[list[str]] = []
    try:
        for con in cons:
            pinned.append(pin_parts(con, tables))
        yield pinned
    finally:
        for con, names in zip(cons, pinned, strict=False):
            try:
                unpin(con, names)
            except duckdb.Error:  # (the connection closed under us: its TEMP views went with it)
                pass


__all__ = ["HOME_BITS_MIN_ROWS", "HOME_COLUMNS", "HOME_VIEW", "flow_part_spans", "flow_source_pairs", "footer_rows",
           "is_lake_flows", "part_views", "parts_pinned", "pin_parts", "time_range", "unpin"]
