"""A lake case at work: one import's Parquet parts staged, then published in the catalog transaction; leftovers
of a killed import swept on open (layout and columns: forensics/store/lake_layout.py, docs/lake.md).

    stage = Stage(root, con)                   # _staging/<token>/ ; temp views packets/packet_rows over it
    stage.write_packets(capture_id, table)     # Arrow shaped by forensics.store.packet_table()
    stage.publish()                            # inside the file's transaction, before COMMIT
    ... COMMIT ...; stage.cleanup()            # or, on any failure: ROLLBACK; stage.discard()

Publishing renames each staged file into packets/ or flows/ and inserts its lake_parts row; a kill between the
renames and COMMIT leaves files that lake_parts does not list: sweep() deletes them on the next open.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import uuid
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from forensics.errors import UsageError
from forensics.resources import read_sql
from forensics.store.flow_rollup import write_rollups
from forensics.store.home_bits import home_column, with_home_bits
from forensics.store.lake_layout import (
    CATALOG,
    DAY_COLUMN,
    EMPTY_PART,
    SCHEMAS,
    SHARED,
    SHARED_EMPTY_PART,
    STAGING,
    TABLES,
    PartWriter,
    ensure_layout,
    part_path,
    published_parts,
    write_part,
)
from forensics.store.nulls import null_column
from forensics.store.pending_parts import NOT_YET, PendingParts

_MAPPED = pa.scalar(0xFFFF << 32, pa.uint64())
_US_PER_DAY = 86_400_000_000
# Rows of the import's temp flows table written out per batch at publish (Stage._stage_temp_flows).
TEMP_FLOW_BATCH = 2 * 122_880


def is_lake(path: str | Path) -> bool:
    """A case folder (an existing directory), as opposed to a single-file case."""
    return str(path) != ":memory:" and Path(path).is_dir()


LAYOUTS = ("lake", "file")  # FORENSICS_LAYOUT: what a new .duckdb case path becomes (default: lake)


def new_case_layout() -> str:
    """FORENSICS_LAYOUT, 'lake' (the default) or 'file'."""
    layout = os.environ.get("FORENSICS_LAYOUT", "lake").strip().lower() or "lake"
    if layout not in LAYOUTS:
        raise UsageError(f"FORENSICS_LAYOUT={layout!r}: write lake (a case folder, the default) or file "
                         "(a single .duckdb file)")
    return layout


def wants_lake(path: str | Path) -> bool:
    """Whether a case at `path` is (or, new, becomes) a lake: an existing folder; a new path not ending in
    .duckdb; a new .duckdb path unless FORENSICS_LAYOUT=file. An existing file stays a single-file case."""
    p = Path(path)
    if str(path) == ":memory:":
        return False
    if p.is_dir():
        return True
    if p.exists():
        return False
    if p.suffix != ".duckdb":
        return True
    return new_case_layout() == "lake"


def catalog_path(root: str | Path) -> str:
    return str(Path(root) / CATALOG)


def sql_literal(text: str) -> str:
    """A string as a SQL literal (file paths in SET and in view definitions, which take no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def set_search_path(con: duckdb.DuckDBPyConnection, root: str | Path) -> None:
    """Resolve relative paths against the case folder, for this and every cursor of `con`; let the case folder
    be read when file access is switched off (enable_external_access = false, as user checks run); keep
    Parquet footers cached between queries (parts never change once written: a rewrite is a new file). Binding
    a query on the flows view took 23 ms without the cache, 2.3 ms with it (400k-packet case, bench/lake.py)."""
    base = str(Path(root).resolve())
    con.execute(f"SET GLOBAL file_search_path = {sql_literal(base)}")
    con.execute(f"SET GLOBAL allowed_directories = [{sql_literal(base + '/')}]")
    con.execute("SET GLOBAL parquet_metadata_cache = true")


VIEWS_SQL = "schema/lake_views.sql"
# The comment lake_views.sql puts on each view: views made by an older version read the same rows, slower.
VIEWS_VERSION = "forensics lake views 2"
# The second line of a view in lake_views.sql: the shared tree's rows.
_SHARED_ARM = re.compile(r"\nUNION ALL SELECT \* FROM lake_\w+\('shared/(\w+)/\*/\*\.parquet'\)")


def has_shared_rows(root: Path, table_name: str) -> bool:
    """Whether shared/<table>/ holds a file besides its empty part (a compaction wrote shared files)."""
    folder = Path(root) / SHARED / table_name
    return folder.is_dir() and any(not p.as_posix().endswith(SHARED_EMPTY_PART) for p in folder.glob("*/*.parquet"))


def views_sql(text: str, root: Path) -> str:
    """queries/schema/lake_views.sql with the views' globs made absolute under `root`: a connection with file
    access switched off (user checks, `forensics sql`) may still read them through allowed_directories, which
    matches absolute paths only. A view's UNION ALL over the shared tree is left out while that tree holds no
    rows (planning the union of two Parquet scans costs 2-3 ms per query): whatever writes the first shared file
    (lake_compact) rebuilds the views in its transaction, and an open that finds shared rows under views
    without them rebuilds them (views_are_stale)."""
    for table_name in TABLES:
        if not has_shared_rows(root, table_name):
            text = _SHARED_ARM.sub(lambda m, t=table_name: "" if m.group(1) == t else m.group(0), text)
    base = str(Path(root).resolve()).replace("'", "''")
    for glob in ("packets/*/*/*.parquet", "flows/*/*/*.parquet", "shared/packets/*/*.parquet",
                 "shared/flows/*/*.parquet"):
        text = text.replace(f"('{glob}')", f"('{base}/{glob}')")
    return text


def rebuild_views(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """(Re)create the catalog's views for the case folder `root` as it is now (in the caller's transaction)."""
    con.execute(views_sql(read_sql(VIEWS_SQL), root))


def views_are_stale(con: duckdb.DuckDBPyConnection, root: Path) -> bool:
    """Whether the catalog's views read another folder than `root` (the case was moved or copied), or leave out
    a shared tree that holds rows now (views made before small captures could share files, or while none did)."""
    rows = dict(con.execute("SELECT view_name, sql FROM duckdb_views() WHERE view_name IN ('packets', 'flows') "
                            "AND NOT temporary AND schema_name = 'main' AND database_name = current_database()")
                .fetchall())
    base = str(Path(root).resolve()).replace("'", "''")
    if "packets" not in rows or f"'{base}/packets/" not in rows["packets"]:
        return True
    return any(f"'{base}/shared/{t}/" not in rows.get(t, "") and has_shared_rows(root, t) for t in TABLES)


def views_are_old(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the catalog's views (and the macros behind them) were made by an older lake_views.sql: they read
    the same rows, only slower (a write-open rebuilds them)."""
    rows = con.execute("SELECT count(*) FILTER (WHERE comment IS DISTINCT FROM $v), count(*) FROM duckdb_views() "
                       "WHERE view_name IN ('packets', 'flows') AND NOT temporary AND schema_name = 'main' "
                       "AND database_name = current_database()", {"v": VIEWS_VERSION}).fetchone()
    return bool(rows[0]) and rows[1] == 2


def orphans(con: duckdb.DuckDBPyConnection, root: Path) -> list[str]:
    """Published files that lake_parts does not list (an import killed between its renames and COMMIT, or
    files of a removed capture not yet deleted)."""
    on_disk = published_parts(root)
    if not on_disk:
        return []
    listed = {r[0] for r in con.execute("SELECT path FROM lake_parts").fetchall()}
    return [p for p in on_disk if p not in listed]


def sweep(con: duckdb.DuckDBPyConnection, root: Path) -> int:
    """Delete leftovers: staged imports of other processes (none can be running: this one holds the write
    lock) and published files lake_parts does not list. Returns the files removed."""
    removed = 0
    staging = root / STAGING
    mine = f"{os.getpid()}-"  # an import of this process may be running on another connection: not a leftover
    if staging.is_dir():
        for entry in staging.iterdir():
            if entry.name.startswith(mine):
                continue
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            removed += 1
    for rel in orphans(con, root):
        (root / rel).unlink(missing_ok=True)
        removed += 1
    return removed


def remove_files(root: Path, rels: list[str]) -> None:
    """Delete published files (after the COMMIT that dropped their lake_parts rows) and empty folders."""
    for rel in rels:
        path = root / rel
        path.unlink(missing_ok=True)
        for folder in (path.parent, path.parent.parent):
            try:
                folder.rmdir()
            except OSError:
                break


def lake_packet_table(table: pa.Table) -> pa.Table:
    """A packet_table() Arrow table (src4/src6_hi/src6_lo, arp_spa as uint32) in the Parquet layout
    (src_ip_hi/src_ip_lo ..., IPv4 as the mapped address)."""
    import pyarrow.compute as pc
    cols: dict[str, pa.Array] = {}
    for name in SCHEMAS["packets"].names:
        if name in table.column_names:
            cols[name] = table.column(name)
    for side in ("src", "dst"):
        v4 = table.column(side + "4")
        is4 = pc.is_valid(v4)
        v4_64 = pc.cast(v4, pa.uint64())
        cols[side + "_ip_hi"] = pc.if_else(is4, pa.scalar(0, pa.uint64()), table.column(side + "6_hi"))
        cols[side + "_ip_lo"] = pc.if_else(is4, pc.bit_wise_or(v4_64, _MAPPED), table.column(side + "6_lo"))
    for name in ("arp_spa", "arp_tpa"):
        v4_64 = pc.cast(table.column(name), pa.uint64())
        cols[name + "_hi"] = pc.multiply(v4_64, pa.scalar(0, pa.uint64()))
        cols[name + "_lo"] = pc.bit_wise_or(v4_64, _MAPPED)
    return pa.table([cols[n] for n in SCHEMAS["packets"].names], schema=SCHEMAS["packets"])


def _nullable(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    valid = values >= 0
    data = values.astype(arrow_type.to_pandas_dtype(), copy=False)
    return pa.array(data, type=arrow_type, mask=None if valid.all() else ~valid)


def _as_u64(values: np.ndarray) -> np.ndarray:
    """A column of counts (never negative) as uint64: int64's bits as they are (a view, no copy)."""
    return values.view(np.uint64) if values.dtype == np.int64 else values.astype(np.uint64, copy=False)


def derived_flow_table(flows: dict[str, np.ndarray], capture_id: int,
                       home: tuple[tuple[int, int], ...] | None = None) -> pa.Table:
    """Flows metered from a capture's packets (forensics.ingest.flowmeter.FLOW_COLUMNS, -1 for NULL, ids as
    for capture 0) in the Parquet layout, with the ids of `capture_id`: what _INSERT_DERIVED_FLOWS stores.
    `home`: the home blocks src_home and dst_home are computed from (None: NULL, unknown)."""
    n = len(flows["flow_id"])
    order = np.argsort(flows["flow_id"], kind="stable")  # the meter gives flows as they end: in id order, the
    if (order != np.arange(n)).any():  # delta-encoded ids and times stay small (flows 6.98 MB, not 8.07)
        flows = {k: v[order] for k, v in flows.items()}
    schema = SCHEMAS["flows"]
    nulls = {name: null_column(n, schema.field(name).type) for name in (
        "exporter_ip_hi", "exporter_ip_lo", "observation_domain", "in_if", "out_if", "src_as", "dst_as",
        "next_hop_hi", "next_hop_lo", "direction", "tos")}
    # counts and sums are never negative: the int64 columns' bits are the uint64 values (a view, not a copy)
    packets = pa.array(_as_u64(flows["packets"]))
    nbytes = pa.array(_as_u64(flows["bytes"]))
    cols = {
        "flow_id": pa.array(flows["flow_id"].astype(np.int64, copy=False) + (np.int64(capture_id) << np.int64(32))),
        "source": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array(["pcap"])).cast(
            pa.string()),
        "record_pos": pa.array(flows["record_pos"].astype(np.int64, copy=False)),
        "first_ts": pa.array(flows["first_ts_us"].astype(np.int64, copy=False)).cast(pa.timestamp("us")),
        "last_ts": pa.array(flows["last_ts_us"].astype(np.int64, copy=False)).cast(pa.timestamp("us")),
        "ip_version": pa.array(flows["ip_version"].astype(np.uint8), type=pa.uint8()),
        "src_ip_hi": pa.array(flows["src_hi"].astype(np.uint64, copy=False)),
        "src_ip_lo": pa.array(flows["src_lo"].astype(np.uint64, copy=False)),
        "dst_ip_hi": pa.array(flows["dst_hi"].astype(np.uint64, copy=False)),
        "dst_ip_lo": pa.array(flows["dst_lo"].astype(np.uint64, copy=False)),
        "ip_proto": _nullable(flows["ip_proto"], pa.uint8()),
        "src_port": pa.array(flows["src_port"].astype(np.uint16), type=pa.uint16()),
        "dst_port": pa.array(flows["dst_port"].astype(np.uint16), type=pa.uint16()),
        "icmp_type": _nullable(flows["icmp_type"], pa.uint8()),
        "icmp_code": _nullable(flows["icmp_code"], pa.uint8()),
        "iface": pa.array(flows["iface"].astype(np.uint16), type=pa.uint16()),
        "vlan": _nullable(flows["vlan"], pa.uint16()),
        "tcp_flags": _nullable(flows["tcp_flags"], pa.uint16()),
        "packets": packets,
        "bytes": nbytes,
        "frame_bytes": pa.array(_as_u64(flows["frame_bytes"])),
        "sampling_rate": pa.array(np.ones(n, np.uint32)),
        "packets_scaled": packets,
        "bytes_scaled": nbytes,
        **nulls,
    }
    for end in ("src", "dst"):
        cols[f"{end}_home"] = home_column(flows[f"{end}_hi"], flows[f"{end}_lo"], home)
    return pa.table([cols[name] for name in schema.names], schema=schema)


def _split(name: str) -> str:
    return (f"({name} >> 64)::UBIGINT AS {name}_hi, "
            f"({name} & 18446744073709551615::UHUGEINT)::UBIGINT AS {name}_lo")


# The rows of the import's temp flows table (exported flow records, flows derived in SQL) in the Parquet
# layout, with the capture id and day that place them ({rows}: the table's name).
_TEMP_FLOWS_OUT = f"""
SELECT capture_id AS _cid, epoch_us(first_ts) // {_US_PER_DAY} AS _day,
    flow_id, source, record_pos, {_split('exporter_ip')}, observation_domain, first_ts, last_ts, ip_version,
    {_split('src_ip')}, {_split('dst_ip')}, ip_proto, src_port, dst_port, icmp_type, icmp_code, iface, vlan,
    in_if, out_if, src_as, dst_as, {_split('next_hop')}, direction, tos, tcp_flags, packets, bytes, frame_bytes,
    sampling_rate, packets_scaled, bytes_scaled
FROM {{rows}}
ORDER BY _cid, _day, flow_id
"""


def _day_text(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


class Stage:
    """One input file's parts, staged under _staging/<token>/ until published. While it is open, the
    import's connection sees them through temp objects named as the catalog's views: `packets` and
    `packet_rows` (views over the staged packet parts) and `flows` (a table the file's exported flow
    records and SQL-derived flows go to; metered flows are written as parts directly). expose_flow_parts()
    turns `flows` into a view over that table and the metered parts, for SQL that must see every flow."""

    def __init__(self, root: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.root = root
        self.con = con
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.dir = root / STAGING / self.token
        self.parts: list[tuple[str, str, int, str, int, int, int]] = []  # table, rel, cid, day, rows, lo, hi
        self.published: list[str] = []
        self._writing: list[tuple[int, PendingParts]] = []  # batches the decode thread writes (settle)
        self._seq = itertools.count(1)  # part numbers; next() on it is atomic (parts written on two threads)
        self._flow_rows = "flows"  # the temp table of flows not metered (renamed when `flows` becomes a view)
        # the home blocks the flows parts' src_home and dst_home are computed from (forensics/store/home_bits.py);
        # None: written NULL (a conversion; an import sets them from the case config)
        self.home: tuple[tuple[int, int], ...] | None = None
        # metered flows of a (capture, day) go into one part as they come, closed when SQL must see them
        # (expose_flow_parts) or at publish: (part writer, rel, lowest and highest first_ts)
        self._flow_parts: dict[tuple[int, str], list] = {}
        empty = self.root / "flows" / EMPTY_PART
        con.execute(f"CREATE OR REPLACE TEMP TABLE flows AS SELECT * FROM lake_flows({sql_literal(str(empty))}) "
                    "LIMIT 0")
        # the temp packet views come with the first staged packets (write_packets): made here over the empty
        # part too, they cost a small file 3 ms of CPU; SQL on a file without packets finds none of its
        # capture id in the catalog's views either

    def _packet_views(self) -> None:
        files = [str(self.dir / rel) for t, rel, *_ in self.parts if t == "packets"]
        files = files or [str(self.root / "packets" / EMPTY_PART)]
        listed = "[" + ", ".join(sql_literal(f) for f in files) + "]"
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW packets AS SELECT * FROM lake_packets({listed})")
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW packet_rows AS SELECT * FROM lake_packet_rows({listed})")

    def _write(self, table_name: str, capture_id: int, table: pa.Table) -> None:
        """Write `table` (SCHEMAS order) as one part per UTC day of its time column."""
        self.parts.extend(self._part_files(table_name, capture_id, table))

    def _part_files(self, table_name: str, capture_id: int, table: pa.Table) -> list[tuple]:
        """Write `table` as one staged part per UTC day of its time column; their `parts` entries. Safe on
        another thread than the one that registers them (the part names are drawn from one counter)."""
        entries = []
        for day, part, part_us in self._days(table_name, table):
            rel = part_path(table_name, capture_id, _day_text(day), f"part-{self.token}-{next(self._seq)}.parquet")
            write_part(part, self.dir / rel)
            entries.append((table_name, rel, capture_id, _day_text(day), len(part), int(part_us.min()),
                            int(part_us.max())))
        return entries

    def _packet_files(self, capture_id: int, table: pa.Table) -> list[tuple]:
        if "src_ip_hi" not in table.column_names:
            table = lake_packet_table(table)
        return self._part_files("packets", capture_id, table)

    @staticmethod
    def _days(table_name: str, table: pa.Table) -> list[tuple[int, pa.Table, np.ndarray]]:
        """(day, its rows, their times in microseconds) for each UTC day of the table's time column."""
        import pyarrow.compute as pc
        if not len(table):
            return []
        us = pc.cast(table.column(DAY_COLUMN[table_name]), pa.int64()).to_numpy()
        days = us // _US_PER_DAY
        lo_day, hi_day = int(days.min()), int(days.max())
        if lo_day == hi_day:
            return [(lo_day, table, us)]
        if (np.diff(days) >= 0).all():  # in time order (most captures): one slice per day, nothing copied
            edges = [0, *(np.flatnonzero(np.diff(days)) + 1).tolist(), len(days)]
            return [(int(days[a]), table.slice(a, b - a), us[a:b]) for a, b in zip(edges, edges[1:], strict=False)]
        return [(int(d), table.filter(pa.array(days == d)), us[days == d]) for d in np.unique(days)]

    def write_packets(self, capture_id: int, table: pa.Table | PendingParts) -> None:
        """Stage a batch of packets shaped by forensics.store.packet_table() (either layout); a PendingParts
        batch's parts may have been written already by the decode thread (help_write)."""
        if isinstance(table, PendingParts):
            entries = table.take(lambda t: self._packet_files(capture_id, t), wait=False)
            if entries is NOT_YET:  # the decode thread is writing them: registered by settle(), not waited for
                self._writing.append((capture_id, table))
                return
            self.parts.extend(entries)
        else:
            self.parts.extend(self._packet_files(capture_id, table))
        self._packet_views()

    def settle(self) -> None:
        """The packet parts the decode thread was still writing when the main thread came to them, waited for
        and registered (before SQL reads the staged packets, and at publish)."""
        if not self._writing:
            return
        writing, self._writing = self._writing, []
        for capture_id, pending in writing:
            self.parts.extend(pending.take(lambda t, c=capture_id: self._packet_files(c, t)))
        self._packet_views()

    def help_write(self, capture_id: int, pending: PendingParts) -> bool:
        """On the decode thread, while it waits for the main thread: write `pending`'s parts unless the main
        thread has taken the batch (write_packets then registers them); whether this call wrote them."""
        return pending.help(lambda t: self._packet_files(capture_id, t))

    def write_flows(self, capture_id: int, table: pa.Table) -> None:
        """Stage flows already in the Parquet layout (derived_flow_table()), in flow id order (the meter gives
        them as they end): appended to the part of their capture and day, whose file holds the tables in the
        order they came, in whole row groups (one file a day, as publish wrote from a part per table and day,
        merged: no part is read back and written again)."""
        ids = table.column("flow_id")
        if ids.num_chunks != 1 or ids.null_count or (np.diff(ids.chunk(0).to_numpy()) < 0).any():
            table = table.sort_by("flow_id")  # (derived_flow_table's are in order already: no copy of them)
        for day, part, part_us in self._days("flows", table):
            key = (capture_id, _day_text(day))
            open_part = self._flow_parts.get(key)
            if open_part is None:
                rel = part_path("flows", capture_id, key[1], f"part-{self.token}-{next(self._seq)}.parquet")
                open_part = self._flow_parts[key] = [PartWriter(SCHEMAS["flows"], self.dir / rel), rel,
                                                     int(part_us.min()), int(part_us.max())]
            open_part[0].write(part)
            open_part[2] = min(open_part[2], int(part_us.min()))
            open_part[3] = max(open_part[3], int(part_us.max()))
        self._flow_view()

    def _close_flow_parts(self) -> None:
        """The open flow parts written out and listed in `parts` (in the order they were begun)."""
        for (cid, day), (writer, rel, lo, hi) in self._flow_parts.items():
            writer.close()
            self.parts.append(("flows", rel, cid, day, writer.rows, lo, hi))
        self._flow_parts = {}

    def _abandon_flow_parts(self) -> None:
        for writer, *_ in self._flow_parts.values():
            writer.abandon()
            writer.path.unlink(missing_ok=True)
        self._flow_parts = {}

    def write_table(self, table_name: str, capture_id: int, table: pa.Table) -> None:
        """Stage rows already in the Parquet layout of `table_name` (no temp view follows them: conversion)."""
        self._write(table_name, capture_id, table)

    def drop_derived_flows(self) -> None:
        """Forget the metered flows staged so far (the SQL derives the capture's flows instead)."""
        self._abandon_flow_parts()
        for entry in [p for p in self.parts if p[0] == "flows"]:
            (self.dir / entry[1]).unlink(missing_ok=True)
            self.parts.remove(entry)
        self._flow_view()

    def expose_flow_parts(self) -> None:
        """Make SQL over `flows` on this connection inside the import (the application labels) see every flow
        of the file: `flows` becomes a temp view over the temp table (renamed) and the staged metered parts.
        Nothing is inserted into `flows` after this. (The metered flows used to be copied into the temp table
        and written out again at publish: +590 MB of RSS at 1.44 M flows.)"""
        if self._flow_rows == "flows":
            self.con.execute("ALTER TABLE temp.flows RENAME TO _stage_flow_rows")
            self._flow_rows = "_stage_flow_rows"
        elif not self._flow_parts:  # shown already, and no part begun since: the view stands as it is
            return
        self._flow_view()

    def _flow_view(self) -> None:
        if self._flow_rows == "flows":
            return  # `flows` is still the temp table: the metered parts are not shown yet
        self._close_flow_parts()
        files = [str(self.dir / rel) for t, rel, *_ in self.parts if t == "flows"]
        parts = ""
        if files:
            listed = "[" + ", ".join(sql_literal(f) for f in files) + "]"
            parts = f" UNION ALL SELECT * FROM lake_flows({listed})"
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW flows AS SELECT * FROM temp.{self._flow_rows}{parts}")

    def _stage_temp_flows(self) -> None:
        """Write the temp table's flows as parts, one file per capture and day with the metered parts of that
        day (the table's rows first, then the metered parts read back one at a time). The table's rows stream out
        in batches of TEMP_FLOW_BATCH in (capture, day, flow id) order, each batch written as it comes: flat
        memory whatever the number of exported flows (the whole table read into Arrow, split and cast took 2-3
        copies of it: 7.7 GB of RSS for a 10 M-flow nfcapd file)."""
        metered: dict[tuple[int, str], list[tuple[str, str, int, str, int, int, int]]] = {}
        for entry in self.parts:
            if entry[0] == "flows":
                metered.setdefault((entry[2], entry[3]), []).append(entry)
        rows = f"temp.{self._flow_rows}"
        done: set[tuple[int, str]] = set()
        if self.con.execute(f"SELECT EXISTS (SELECT 1 FROM {rows})").fetchall()[0][0]:  # most captures: none
            done = self._stream_temp_flows(rows, metered)
        for key in sorted(set(metered) - done):
            if len(metered[key]) > 1:
                self._merge_flows(key, metered[key])

    def _stream_temp_flows(self, rows: str, metered: dict[tuple[int, str], list]) -> set[tuple[int, str]]:
        """_stage_temp_flows' writing of the temp table `rows`; the (capture, day) keys written."""
        import pyarrow.compute as pc
        schema = SCHEMAS["flows"]
        done: set[tuple[int, str]] = set()
        open_key: tuple[int, str] | None = None
        part: PartWriter | None = None
        rel = ""
        span: list[int] = []  # lowest and highest first_ts (us) of the open part

        def finish() -> None:
            assert open_key is not None and part is not None
            self._close_flow_part(open_key, rel, part, metered.get(open_key, []), span)
            done.add(open_key)

        query = self.con.sql(_TEMP_FLOWS_OUT.format(rows=rows))
        # (DuckDB 2 names it to_arrow_reader; 1.x fetch_record_batch)
        reader = (getattr(query, "to_arrow_reader", None) or query.fetch_record_batch)(TEMP_FLOW_BATCH)
        try:
            for batch in reader:
                table = with_home_bits(pa.Table.from_batches([batch]), self.home)
                cids = table.column("_cid").to_numpy()
                days = table.column("_day").to_numpy().astype(np.int64)
                # runs of one (capture, day): the rows come sorted by them
                edges = [0, *(np.flatnonzero((np.diff(cids) != 0) | (np.diff(days) != 0)) + 1).tolist(), len(days)]
                for a, b in zip(edges, edges[1:], strict=False):
                    key = (int(cids[a]), _day_text(int(days[a])))
                    if key != open_key:
                        if open_key is not None:
                            finish()
                        open_key, span = key, []
                        rel = part_path("flows", key[0], key[1], f"part-{self.token}-{next(self._seq)}.parquet")
                        part = PartWriter(schema, self.dir / rel)
                    run = table.slice(a, b - a)
                    us = pc.cast(run.column(DAY_COLUMN["flows"]), pa.int64())
                    span += [pc.min(us).as_py(), pc.max(us).as_py()]
                    part.write(pa.table([run.column(n).cast(schema.field(n).type) for n in schema.names],
                                        schema=schema))
                del table, batch
            if open_key is not None:
                finish()
        except BaseException:
            if part is not None and open_key not in done:
                part.abandon()
                part.path.unlink(missing_ok=True)
            raise
        return done

    def _merge_flows(self, key: tuple[int, str], parts: list[tuple[str, str, int, str, int, int, int]]) -> None:
        """One part of the staged flow `parts` of a capture and day, in place of them."""
        rel = part_path("flows", key[0], key[1], f"part-{self.token}-{next(self._seq)}.parquet")
        self._close_flow_part(key, rel, PartWriter(SCHEMAS["flows"], self.dir / rel), parts, [])

    def _close_flow_part(self, key: tuple[int, str], rel: str, part: PartWriter,
                         entries: list[tuple[str, str, int, str, int, int, int]], span: list[int]) -> None:
        """The flows part `rel` of `key` being written: the staged flow parts `entries` appended (read back one at a
        time), closed, listed in place of them. `span`: the lowest and highest first_ts (us) written to it so far."""
        import pyarrow.parquet as pq
        schema = SCHEMAS["flows"]
        try:
            for entry in entries:
                part.write(pq.ParquetFile(self.dir / entry[1]).read().cast(schema))
                span = [*span, entry[5], entry[6]]
            part.close()
        except BaseException:
            part.abandon()
            part.path.unlink(missing_ok=True)
            raise
        for entry in entries:
            (self.dir / entry[1]).unlink(missing_ok=True)
            self.parts.remove(entry)
        self.parts.append(("flows", rel, key[0], key[1], part.rows, min(span), max(span)))

    def publish(self) -> None:
        """Inside the file's transaction: stage the temp flows table, move every part into place, list it in
        lake_parts, drop the temp objects. COMMIT makes the rows the catalog's."""
        self.settle()
        self._close_flow_parts()
        self._stage_temp_flows()
        rows = []
        for table_name, rel, cid, day, nrows, lo, hi in self.parts:
            src, dst = self.dir / rel, self.root / rel
            size = src.stat().st_size
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
            self.published.append(rel)
            rows.append((rel, table_name, cid, day, nrows, size, lo, hi))
        if rows:
            table = pa.table({
                "path": pa.array([r[0] for r in rows]), "table_name": pa.array([r[1] for r in rows]),
                "capture_id": pa.array([r[2] for r in rows], pa.int32()),
                "day": pa.array([r[3] for r in rows]).cast(pa.date32()),
                "rows": pa.array([r[4] for r in rows], pa.int64()), "bytes": pa.array([r[5] for r in rows], pa.int64()),
                "min_ts": pa.array([r[6] for r in rows], pa.int64()).cast(pa.timestamp("us")),
                "max_ts": pa.array([r[7] for r in rows], pa.int64()).cast(pa.timestamp("us"))})
            self.con.register("_lake_parts_new", table)
            try:
                self.con.execute("INSERT INTO lake_parts SELECT * FROM _lake_parts_new").fetchall()
            finally:
                self.con.unregister("_lake_parts_new")
        if self.home is not None:  # large parts of exported flows, with their home bits: their 5-minute rollup
            write_rollups(self.con, self.root, [(r[0], r[2]) for r in rows if r[1] == "flows"], self.home)
        self.drop_temp()

    def drop_temp(self) -> None:
        flows = ("TABLE", "flows") if self._flow_rows == "flows" else ("VIEW", "flows")
        for kind, name in (("VIEW", "packets"), ("VIEW", "packet_rows"), flows, ("TABLE", "_stage_flow_rows")):
            self.con.execute(f"DROP {kind} IF EXISTS temp.{name}")

    def cleanup(self) -> None:
        """After COMMIT: the staging folder goes."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def discard(self) -> None:
        """After ROLLBACK: staged and already moved files go (the catalog never listed them)."""
        for _, pending in self._writing:  # (not into a folder being removed)
            pending.wait()
        self._writing = []
        self._abandon_flow_parts()
        remove_files(self.root, self.published)
        self.published = []
        self.cleanup()


# The catalog's names that are views over the Parquet parts on a lake (tables on a single-file case).
LAKE_VIEW_NAMES = ("packets", "packet_rows", "flows")
_WRITE_TARGET = re.compile(r"^\s*(?:UPDATE|DELETE\s+FROM|INSERT\s+(?:OR\s+\w+\s+)?INTO|TRUNCATE(?:\s+TABLE)?)"
                           r"\s+(?:main\.)?\"?(\w+)\"?", re.IGNORECASE)


def refused_write(statement: str, read_only: bool) -> str | None:
    """Our words for an INSERT/UPDATE/DELETE/TRUNCATE aimed at one of a lake's views (DuckDB's own, "Can only
    update base table", name neither the view nor a way out), or None when `statement` aims elsewhere."""
    match = _WRITE_TARGET.match(statement)
    if match is None or match.group(1).lower() not in LAKE_VIEW_NAMES:
        return None
    verb = statement.split(None, 1)[0].upper()
    name = match.group(1).lower()
    why = (f"{name} of a lake case is a view over Parquet parts that are never changed in place; copy the rows "
           f"you want to change into a TEMP table (CREATE TEMP TABLE t AS SELECT * FROM {name}) and query that")
    if read_only:
        return f"{verb} on {name} refused: the case is opened read-only, and {why}"
    return f"{verb} on {name} refused: {why}, or re-import the capture with --force"


def capture_parts(con: duckdb.DuckDBPyConnection, capture_id: int) -> list[str]:
    """Remove a capture's parts from lake_parts (in the caller's transaction); the files to delete after COMMIT."""
    return [r[0] for r in con.execute("DELETE FROM lake_parts WHERE capture_id = $c RETURNING path",
                                      {"c": capture_id}).fetchall()]


__all__ = ["CATALOG", "LAKE_VIEW_NAMES", "LAYOUTS", "SCHEMAS", "TABLES", "Stage", "capture_parts", "catalog_path",
           "derived_flow_table", "ensure_layout", "is_lake", "new_case_layout", "orphans", "refused_write",
           "has_shared_rows", "rebuild_views", "remove_files", "set_search_path", "sweep", "views_are_stale",
           "views_are_old", "views_sql", "wants_lake"]
