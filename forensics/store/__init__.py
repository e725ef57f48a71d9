"""The DuckDB case database. Knows tables, not file formats.

    with Case.open("case.duckdb") as case:
        with case.importing(CaptureMeta(...)) as writer:   # one transaction per input file
            writer.append_packets(batch)
        case.con.sql("SELECT count(*) FROM packets")
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from forensics import __version__
from forensics.errors import UsageError
from forensics.records import FlowColumns, PacketBatch
from forensics.resources import read_sql
from forensics.store import flow_rollup, lake, lake_compact
from forensics.store.flow_table import flow_columns_table, flow_record_table
from forensics.store.nulls import null_column
from forensics.store.pending_parts import PendingParts

# Packets per append: whole DuckDB row groups (122,880 rows) compress fully, and several let it use every core.
PACKET_BATCH_ROWS = 4 * 122_880
SCHEMA_VERSION = 3  # 2: packets in packet_rows with split IPv4/IPv6 address columns; 3: + MAC and ARP columns


def _machine_share() -> str:
    """DuckDB's memory limit for reports, checks and queries (FORENSICS_MEMORY_LIMIT overrides it): a quarter of
    the machine's RAM, at least 500MB. A fixed 500MB made aggregates over ~10^8 flows fail with DuckDB's "Out of
    Memory" (operators that cannot spill) and spilled 10^7-group ones (bench/README.md); imports keep their own
    IMPORT_MEMORY_LIMIT for the flat-memory target."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "500MB"
    return f"{max(500, total // 4 // 2**20)}MB"


DEFAULT_MEMORY_LIMIT = _machine_share()
# DuckDB's memory limit while importing (FORENSICS_IMPORT_MEMORY_LIMIT). Below ~400MB its parallel
# inserts slow down; its cache of written blocks is dropped after every batch (Case.drop_cached_blocks),
# which keeps a whole import under 1 GiB resident whatever the capture's size.
IMPORT_MEMORY_LIMIT = "500MB"
# DuckDB's limit for the rest of a file's import once its packets are in (the appdata pass, the application
# labels, a lake's publish): nothing appends in parallel then, and what DuckDB held past this (cached blocks,
# a lake's temp flows, the label join's hash tables) sat beside the Python arrays of those steps, at the
# import's peak. 200MB: on a 4M-packet capture the lake import's peak RSS 1,073 -> 975 MB, same tables.
IMPORT_TAIL_MEMORY_LIMIT = "200MB"
SMALL_FILE_BYTES = 16 << 20  # a file up to this size imports under one memory limit (Case.import_tail_memory)


def _memory_limit(text: str) -> str:
    """'500MB', '2GB' ... (digits and a unit only: the value is spliced into a SET statement)."""
    import re

    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", text, re.IGNORECASE):
        raise UsageError(f"memory limit {text!r}: write a size such as 500MB or 2GB")
    return text.strip()

# Schema files applied in order when a case is opened; other areas add theirs to this list.
SCHEMA_FILES = ["schema/tables.sql", "schema/macros.sql", "schema/flow_exports.sql", "derive/conversations.sql",
                "schema/alerts.sql", "schema/appdata.sql", "schema/runs.sql", "schema/flow_app.sql",
                "schema/flow_gaps.sql",
                "schema/retention.sql",
                "schema/lake_parts.sql"]
# A lake case (a folder: forensics/store/lake.py) applies this before SCHEMA_FILES (its views packet_rows and
# flows stand where tables.sql would create tables) and after (its packets view reads the Parquet parts directly).
LAKE_VIEWS = "schema/lake_views.sql"
# Case._apply_schema keeps the digest of the schema it applied as this view's comment (replaced with the view).
_DIGEST_VIEW = "conversations"
_DIGEST_PREFIX = "forensics schema sha256 "


@dataclass
class CaptureMeta:
    """What is known of an input file before its records are read."""

    path: str
    sha256: str
    size_bytes: int
    format: str
    link_types: str | None = None


@dataclass
class CaptureCounts:
    """Counters a reader fills while it reads; written to the captures row at commit."""

    packets: int = 0
    flow_records: int = 0
    malformed: int = 0
    undecoded: int = 0
    rejected: str | None = None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@dataclass
class PacketStats:
    """What the captures row needs of a packet batch, kept once the batch itself is gone."""

    rows: int
    malformed: int
    ts_min: int
    ts_max: int

    @classmethod
    def of(cls, batch: PacketBatch) -> PacketStats:
        return cls(len(batch["frame"]), int(np.count_nonzero(batch["malformed"])), int(batch["ts_us"].min()),
                   int(batch["ts_us"].max()))


class CaptureWriter:
    """Appends one file's records inside the open transaction."""

    def __init__(self, case: Case, capture_id: int) -> None:
        self.case = case
        self.con = case.con
        self.capture_id = capture_id
        self.counts = CaptureCounts()
        self.ts_range: tuple[int, int] | None = None  # packet times seen, microseconds
        self.bulk = case.bulk  # where packet rows and derived flows go (see Case.importing)
        self.invalid_flows: Counter[str] = Counter()  # exported flow records left out: reason -> count
        self._invalid_reasons: dict[str, str] = {}
        self._flow_seq = 0  # exported records appended so far, also those stored under an earlier capture
        self.exported_rows = 0  # exported flow records this writer inserted (capture_id = its capture), ever
        self.stage: lake.Stage | None = None  # a lake case: where this file's parts are staged
        # the home blocks of the import (a single-file case's rollup of many exported flows: flow_rollup.py)
        self.home: tuple[tuple[int, int], ...] | None = None
        self._interfaces_added = False

    def clear_derived_flows(self) -> None:
        """Remove the flows metered from this capture's packets so far (the SQL derives them instead)."""
        if self.stage is not None:
            self.stage.drop_derived_flows()
        self.bulk.execute("DELETE FROM flows WHERE capture_id = $c AND source = 'pcap'", {"c": self.capture_id})

    def add_interface(
        self, iface: int, section: int, linktype: int, snaplen: int | None,
        tsresol_ns: int | None, name: str | None = None, fcs_len: int | None = None,
    ) -> None:
        """Record an interface of the file (pcapng IDB, or the single pcap 'interface')."""
        self.add_interfaces([(iface, section, linktype, snaplen, tsresol_ns, name, fcs_len)])

    def add_interfaces(self, rows: list[tuple]) -> None:
        """Record the file's interfaces, (iface, section, linktype, snaplen, tsresol_ns, name[, fcs_len[, isb_ifrecv,
        isb_ifdrop, isb_filteraccept, isb_osdrop, isb_usrdeliv, isb_starttime, isb_endtime]]) each."""
        if not rows:
            return
        rows = [tuple(r) + (None,) * (len(_INTERFACE_COLUMNS) - len(r)) for r in rows]
        params: dict = {name: [r[i] for r in rows] for i, (name, _) in enumerate(_INTERFACE_COLUMNS)}
        params["cid"] = self.capture_id
        # the file's first rows, one per interface: a plain INSERT (OR REPLACE costs 3 ms of CPU more a file)
        first = not self._interfaces_added and len(set(params["iface"])) == len(rows)
        self._interfaces_added = True
        self.con.execute(f"INSERT {'' if first else 'OR REPLACE '}INTO interfaces BY NAME SELECT $cid AS capture_id, "
                         f"{_INTERFACE_SELECT}", params).fetchall()

    def flows_visible(self) -> None:
        """Make every flow of this file visible to SQL over `flows` on the file's connection (a lake stages
        metered flows as Parquet parts, outside the temp table that stands for `flows` during the import)."""
        if self.stage is not None:
            self.stage.expose_flow_parts()

    def packets_visible(self) -> None:
        """Make every packet of this file visible to SQL over `packets` on the file's connection (a lake: the
        parts the decode thread was still writing when append_packet_table came to them, waited for)."""
        if self.stage is not None:
            self.stage.settle()

    def append_packets(self, batch: PacketBatch) -> None:
        """Append a batch of decoded packets (see forensics.records)."""
        if len(batch["frame"]):
            self.append_packet_table(packet_table(batch), PacketStats.of(batch))

    def append_packet_table(self, table: pa.Table | PendingParts, stats: PacketStats) -> None:
        """Append packets already shaped by packet_table() (on another thread), with their PacketStats (a lake:
        or a PendingParts batch, whose parts the decode thread may have written).

        Packets go through the case's bulk connection, each batch committed on its own (DuckDB keeps an
        open transaction's appends in memory); the file's transaction rolls them back by purging.
        Batches of PACKET_BATCH_ROWS rows compress best.
        """
        bulk = self.bulk
        if self.stage is not None:
            self.stage.write_packets(self.capture_id, table)  # shaped for the lake already, or converted
        else:
            bulk.register("_batch", table)
            try:
                bulk.execute(_INSERT_PACKETS, {"cid": self.capture_id}).fetchall()
            finally:
                bulk.unregister("_batch")
            if bulk is not self.con:
                self.case.drop_cached_blocks()
        self.counts.packets += stats.rows
        self.counts.malformed += stats.malformed
        lo, hi = stats.ts_min, stats.ts_max
        self.ts_range = (lo, hi) if self.ts_range is None else (min(lo, self.ts_range[0]), max(hi, self.ts_range[1]))

    def append_derived_flows(self, flows: dict[str, np.ndarray]) -> None:
        """Append flows built from this capture's packets (columns as forensics.ingest.flowmeter.FLOW_COLUMNS:
        -1 for NULL, addresses as uint64 halves; flow ids as a FlowMeter for capture 0 numbers them: the
        capture id is added here), through the bulk connection like the packets."""
        if len(flows["flow_id"]) == 0:
            return
        if self.stage is not None:
            table = lake.derived_flow_table(flows, self.capture_id, self.stage.home)
            self.stage.write_flows(self.capture_id, table)
            return
        bulk = self.bulk
        bulk.register("_flows", pa.table(flows))
        try:
            bulk.execute(_INSERT_DERIVED_FLOWS, {"cid": self.capture_id}).fetchall()
        finally:
            bulk.unregister("_flows")

    def append_flow_records(self, records: list[dict] | FlowColumns) -> None:
        """Append exported flow records (dicts with forensics.records.FLOW_RECORD_KEYS, or the same as columns).

        A record with a value its column cannot hold is left out and counted in `invalid_flows`
        (reason -> records; the reason names the column and the first such record's position).
        """
        if not len(records):
            return
        if isinstance(records, FlowColumns):  # decoded as columns (forensics.readers.flow_columns)
            self._append_flow_table(*flow_columns_table(records))
        else:
            self._append_flow_table(*flow_record_table(records))

    def _append_flow_table(self, table: pa.Table, bad: list[tuple[dict, str, str]]) -> None:
        for rec, column, problem in bad:
            reason = self._invalid_reasons.get(column)
            if reason is None:
                reason = f"{column} out of range (first: record {rec.get('record_pos')}, {problem})"
                self._invalid_reasons[column] = reason
            self.invalid_flows[reason] += 1
        if not len(table):
            return
        # the chunk as a relation, not register()ed: a view registered and dropped inside the file's transaction
        # keeps its Arrow table alive until the COMMIT (every chunk of a 10 M-flow nfcapd file at once: GBs of RSS;
        # bench/README.md, "Twenty-third session"). The two numbers are this writer's integers.
        sql = _INSERT_FLOW_RECORDS.replace("$cid", str(int(self.capture_id))).replace("$seq0", str(int(self._flow_seq)))
        self.con.from_arrow(table).query("_frecs", sql)
        self.counts.flow_records += len(table)
        self.exported_rows += len(table)
        self._flow_seq += len(table)  # flow_ids stay unique when counts.flow_records is wound back


def _addr(name: str) -> str:
    return f"CASE WHEN {name}_hi IS NULL THEN NULL ELSE ({name}_hi::UHUGEINT << 64) | {name}_lo::UHUGEINT END"


_INSERT_DERIVED_FLOWS = """
INSERT INTO flows
SELECT
    flow_id + ($cid::BIGINT << 32), 'pcap', $cid, record_pos, NULL, NULL, make_timestamp(first_ts_us),
    make_timestamp(last_ts_us),
    ip_version, (src_hi::UHUGEINT << 64) | src_lo, (dst_hi::UHUGEINT << 64) | dst_lo, NULLIF(ip_proto, -1),
    src_port, dst_port, NULLIF(icmp_type, -1), NULLIF(icmp_code, -1), iface, NULLIF(vlan, -1),
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULLIF(tcp_flags, -1), packets, bytes, frame_bytes, 1, packets, bytes
FROM _flows
"""

_INSERT_FLOW_RECORDS = f"""
INSERT INTO flows
SELECT
    ($cid::BIGINT << 32) + $seq0 + row_number() OVER () AS flow_id,
    source, $cid, record_pos, {_addr('exporter_ip')}, observation_domain,
    make_timestamp(first_ts_us), make_timestamp(last_ts_us),
    ip_version, {_addr('src_ip')}, {_addr('dst_ip')}, ip_proto, src_port, dst_port, icmp_type, icmp_code,
    NULL AS iface, vlan, in_if, out_if, src_as, dst_as, {_addr('next_hop')}, direction, tos, tcp_flags,
    packets, bytes, NULL AS frame_bytes, coalesce(sampling_rate, 1),
    packets * coalesce(sampling_rate, 1), bytes * coalesce(sampling_rate, 1)
FROM _frecs
"""

_INTERFACE_COLUMNS = [("iface", pa.uint16()), ("section", pa.uint16()), ("linktype", pa.uint16()),
                      ("snaplen", pa.uint32()), ("tsresol_ns", pa.int64()), ("name", pa.string()),
                      ("fcs_len", pa.uint8()), ("isb_ifrecv", pa.uint64()), ("isb_ifdrop", pa.uint64()),
                      ("isb_filteraccept", pa.uint64()), ("isb_osdrop", pa.uint64()),
                      ("isb_usrdeliv", pa.uint64()), ("isb_starttime", pa.timestamp("us")),
                      ("isb_endtime", pa.timestamp("us"))]

# add_interfaces' rows as list parameters, one per column (a registered Arrow table cost 1 ms more a file)
_SQL_TYPES = {pa.uint8(): "UTINYINT", pa.uint16(): "USMALLINT", pa.uint32(): "UINTEGER", pa.uint64(): "UBIGINT",
              pa.int64(): "BIGINT", pa.string(): "VARCHAR"}
_INTERFACE_SELECT = ", ".join(
    f"unnest(${name})::{_SQL_TYPES[t]} AS {name}" if t in _SQL_TYPES
    else f"make_timestamp(unnest(${name})::BIGINT) AS {name}"  # microseconds
    for name, t in _INTERFACE_COLUMNS)


def _nullable(values: np.ndarray, arrow_type: pa.DataType, valid: np.ndarray | None = None) -> pa.Array:
    """An Arrow column from a numpy column where -1 (or ~valid) means NULL."""
    if valid is None:
        valid = values >= 0
    if not valid.any():  # (vlan_inner, mpls_label, arp_* of most batches) no copy for a column of NULLs
        return null_column(len(values), arrow_type)
    data = values.astype(arrow_type.to_pandas_dtype(), copy=False)
    if valid.all():
        return pa.array(data, type=arrow_type)
    bits = np.packbits(valid, bitorder="little")
    return pa.Array.from_buffers(arrow_type, len(values), [pa.py_buffer(bits), pa.py_buffer(data)])


_NULLABLE = {
    "vlan": pa.uint16(), "vlan_inner": pa.uint16(), "mpls_label": pa.uint32(), "eth_type": pa.uint16(),
    "ip_version": pa.uint8(), "ip_proto": pa.uint8(), "ip_len": pa.uint16(), "ttl": pa.uint8(), "ip_id": pa.uint32(),
    "frag_offset": pa.uint16(), "frag_flags": pa.uint8(), "src_port": pa.uint16(), "dst_port": pa.uint16(),
    "tcp_flags": pa.uint16(), "icmp_type": pa.uint8(), "icmp_code": pa.uint8(),
}
# Link-layer columns (schema 3), after `malformed` in packet_rows.
# MAC addresses are 6-byte BLOBs: DuckDB dictionary-compresses those (2.3 bytes a MAC on the 2M bench
# capture, whose every host has its own MAC) where a UBIGINT is bit-packed (4.4 bytes); on a real LAN, a
# few dozen MACs, the dictionary makes them nearly free.
_MAC_COLUMNS = ("src_mac", "dst_mac", "arp_sha", "arp_tha")
_LINK_NULLABLE = {"arp_op": pa.uint16(), "arp_spa": pa.uint32(), "arp_tpa": pa.uint32()}
_LINK_ORDER = ("src_mac", "dst_mac", "arp_op", "arp_sha", "arp_spa", "arp_tha", "arp_tpa")


# The low six bytes of a big-endian 64-bit number as one 6-byte field: numpy copies them as whole items (a
# [:, 2:] byte slice was copied byte by byte: 4.1 ms a column of 491,520 against 2.6)
_MAC_OF_BE64 = np.dtype({"names": ["mac"], "formats": ["V6"], "offsets": [2], "itemsize": 8})


def _mac_blobs(values: np.ndarray) -> pa.Array:
    """48-bit MAC numbers (-1 = absent) as a 6-byte binary column in network byte order."""
    valid = values >= 0
    if not valid.any():  # the ARP columns of nearly every batch (4 ms a column to build the same NULLs)
        return null_column(len(values), pa.binary(6))
    data = values.astype(">u8").view(_MAC_OF_BE64)["mac"].tobytes()
    bits = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.binary(6), len(values), [bits, pa.py_buffer(data)])
_V4_MAPPED_HI32 = np.uint64(0xFFFF)


def packet_table(batch: PacketBatch, lake_layout: bool = False) -> pa.Table:
    """A packet batch as the Arrow table _INSERT_PACKETS reads: packet_rows' types, NULLs as validity.

    An address goes to the 32-bit IPv4 column when the packet is IPv4 and the address is in the mapped
    range (a cut IPv4 header leaves it 0: that one is kept as the 128-bit 0, as before the split).
    With lake_layout, the table of a lake's Parquet parts instead (forensics/store/lake_layout.py: each
    address as A_hi/A_lo, the IPv4-mapped address for IPv4), made from the batch's own halves.
    """
    if lake_layout:
        return _lake_packet_table(batch)
    cols = _record_columns(batch)
    v4 = batch["ip_version"] == 4
    v6 = batch["ip_version"] == 6
    for side in ("src", "dst"):
        hi, lo = batch[side + "_hi"], batch[side + "_lo"]
        mapped = v4 & (hi == 0) & ((lo >> np.uint64(32)) == _V4_MAPPED_HI32)
        wide = v6 | (v4 & ~mapped)
        cols[side + "4"] = _nullable(lo & np.uint64(0xFFFFFFFF), pa.uint32(), mapped)
        cols[side + "6_hi"] = _nullable(hi, pa.uint64(), wide)
        cols[side + "6_lo"] = _nullable(lo, pa.uint64(), wide)
    cols["malformed"] = pa.array(batch["malformed"], type=pa.bool_())
    for name in _LINK_ORDER:
        if name in _MAC_COLUMNS:
            cols[name] = _mac_blobs(batch[name])
        else:
            cols[name] = _nullable(batch[name], _LINK_NULLABLE[name])
    return pa.table(cols)


def _record_columns(batch: PacketBatch) -> dict[str, pa.Array]:
    """The columns both layouts store alike: frame, time, interface, link type, offset, lengths, header fields."""
    cols: dict[str, pa.Array] = {
        "frame": pa.array(batch["frame"], type=pa.uint32()),
        "ts": pa.array(batch["ts_us"].astype(np.int64, copy=False)).cast(pa.timestamp("us")),
        "iface": pa.array(batch["iface"], type=pa.uint16()),
        "linktype": pa.array(batch["linktype"], type=pa.uint16()),
        "file_offset": pa.array(batch["file_offset"], type=pa.uint64()),
        "caplen": pa.array(batch["caplen"], type=pa.uint32()),
        "wirelen": pa.array(batch["wirelen"], type=pa.uint32()),
    }
    for name, arrow_type in _NULLABLE.items():
        cols[name] = _nullable(batch[name], arrow_type)
    return cols


def _lake_packet_table(batch: PacketBatch) -> pa.Table:
    cols = _record_columns(batch)
    ip = (batch["ip_version"] == 4) | (batch["ip_version"] == 6)
    for side in ("src", "dst"):
        cols[side + "_ip_hi"] = _nullable(batch[side + "_hi"], pa.uint64(), ip)
        cols[side + "_ip_lo"] = _nullable(batch[side + "_lo"], pa.uint64(), ip)
    cols["malformed"] = pa.array(batch["malformed"], type=pa.bool_())
    for name in _LINK_ORDER:
        if name in _MAC_COLUMNS:
            cols[name] = _mac_blobs(batch[name])
        elif name in ("arp_spa", "arp_tpa"):
            values = batch[name]
            valid = values >= 0
            if not valid.any():  # (most batches) the columns of NULLs without their arrays
                cols[name + "_hi"] = cols[name + "_lo"] = null_column(len(values), pa.uint64())
                continue
            cols[name + "_hi"] = _nullable(np.zeros(len(values), np.uint64), pa.uint64(), valid)
            cols[name + "_lo"] = _nullable(values.astype(np.uint64) | (_V4_MAPPED_HI32 << np.uint64(32)),
                                           pa.uint64(), valid)
        else:
            cols[name] = _nullable(batch[name], _LINK_NULLABLE[name])
    return pa.table([cols[name] for name in lake.SCHEMAS["packets"].names], schema=lake.SCHEMAS["packets"])


_INSERT_PACKETS = """
INSERT INTO packet_rows
SELECT
    $cid, frame, ts, iface, linktype, file_offset, caplen, wirelen, vlan, vlan_inner, mpls_label, eth_type,
    ip_version, src4, (src6_hi::UHUGEINT << 64) | src6_lo, dst4, (dst6_hi::UHUGEINT << 64) | dst6_lo,
    ip_proto, ip_len, ttl, ip_id, frag_offset, frag_flags, src_port, dst_port, tcp_flags, icmp_type, icmp_code,
    malformed, src_mac, dst_mac, arp_op, arp_sha, arp_spa, arp_tha, arp_tpa
FROM _batch
"""


_MIGRATE_V1 = """
INSERT INTO packet_rows
SELECT
    capture_id, frame, ts, iface, linktype, file_offset, caplen, wirelen, vlan, vlan_inner, mpls_label, eth_type,
    ip_version,
    CASE WHEN ip_version = 4 AND src_ip >> 32 = 65535 THEN (src_ip & 4294967295::UHUGEINT)::UINTEGER END,
    CASE WHEN ip_version = 6 OR (ip_version = 4 AND src_ip >> 32 <> 65535) THEN src_ip END,
    CASE WHEN ip_version = 4 AND dst_ip >> 32 = 65535 THEN (dst_ip & 4294967295::UHUGEINT)::UINTEGER END,
    CASE WHEN ip_version = 6 OR (ip_version = 4 AND dst_ip >> 32 <> 65535) THEN dst_ip END,
    ip_proto, ip_len, ttl, ip_id, frag_offset, frag_flags, src_port, dst_port, tcp_flags, icmp_type, icmp_code,
    malformed, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM packets_v1
"""

# Schema 2 -> 3: the link-layer columns, added in place (NULL for the packets already imported).
_MIGRATE_V2 = [f"ALTER TABLE packet_rows ADD COLUMN {name} {sql_type}" for name, sql_type in (
    ("src_mac", "BLOB"), ("dst_mac", "BLOB"), ("arp_op", "USMALLINT"), ("arp_sha", "BLOB"),
    ("arp_spa", "UINTEGER"), ("arp_tha", "BLOB"), ("arp_tpa", "UINTEGER"))]


class Case:
    """An open case database."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str) -> None:
        self.con = con
        self.path = path
        # A lake case (a folder): packets and flows are Parquet parts under it (forensics/store/lake.py).
        self.lake_root: Path | None = Path(path) if lake.is_lake(path) else None
        self._doomed: list[str] = []  # lake parts of captures removed in the open transaction: deleted after COMMIT
        self._fresh: list[str] = []  # parts written in this transaction (retention, shared rewrites): gone on ROLLBACK
        self._bulk: duckdb.DuckDBPyConnection | None = None
        self.read_only = False  # opened read-only (Case.open)
        self.memory_limit = DEFAULT_MEMORY_LIMIT  # DuckDB's limit outside imports, as set at open
        self._import_limit = IMPORT_MEMORY_LIMIT
        self._stream_limit = IMPORT_MEMORY_LIMIT  # the import's limit while packets stream in
        self._tail_limit: str | None = None  # set by import_memory() (None: leave the limit alone)
        self._importing = 0  # files inside importing() now (several when small files go side by side)
        # the file being imported is small: its tail leaves the limit alone (lowering it and putting it back cost
        # 5 SET statements, 4.5 ms of CPU a file, for nothing a file of a few MB holds)
        self._small_file = False

    @property
    def bulk(self) -> duckdb.DuckDBPyConnection:
        """A second connection to the same database, in autocommit mode, for packet rows and derived flows."""
        if self._bulk is None:
            self._bulk = self.con.cursor()
        return self._bulk

    _ORPHANS = "FROM {table} WHERE capture_id > (SELECT coalesce(max(capture_id), 0) FROM captures)"

    def has_orphans(self) -> bool:
        """Rows of an import that never committed: their capture id is past every committed capture's
        (a lake: Parquet parts that lake_parts does not list)."""
        if self.lake_root is not None:
            return bool(lake.orphans(self.con, self.lake_root))
        return any(self.con.execute(f"SELECT EXISTS (SELECT 1 {self._ORPHANS.format(table=t)})").fetchall()[0][0]
                   for t in ("packet_rows", "flows"))

    def purge_orphans(self) -> None:
        """Delete packet and flow rows whose capture was never committed (an interrupted or killed import)."""
        if self.lake_root is not None:
            lake.sweep(self.con, self.lake_root)
            return
        for table in ("packet_rows", "flows"):
            self.con.execute(f"DELETE {self._ORPHANS.format(table=table)}").fetchall()

    @classmethod
    def open(cls, path: str | Path, read_only: bool = False) -> Case:
        """Open (or create) the case database at `path` and bring its schema up to date."""
        path = str(path)
        if read_only and path != ":memory:" and not Path(path).exists():
            raise UsageError(f"{path}: no case database here. Import captures first: forensics import PATH")
        db = path
        if lake.wants_lake(path):
            if read_only and not Path(lake.catalog_path(path)).exists():
                raise UsageError(f"{path}: a folder without {lake.CATALOG}: not a case. Import captures first: "
                                 "forensics import PATH --db FOLDER")
            if not read_only:
                folder = Path(path)
                if folder.is_dir() and not Path(lake.catalog_path(path)).exists() and any(folder.iterdir()):
                    raise UsageError(f"{path}: a folder that is not a case (no {lake.CATALOG}) and not empty; "
                                     "give a new path or an empty folder for a new case")
                lake.ensure_layout(folder)
            db = lake.catalog_path(path)
        try:
            con = duckdb.connect(db, read_only=read_only)
        except duckdb.Error as exc:
            raise UsageError(f"{path}: cannot open the case database: {str(exc).splitlines()[0]}") from None
        if db != path:
            lake.set_search_path(con, path)
        case = cls(con, path)
        if read_only and (case._needs_recovery() or case._needs_upgrade()):
            con.close()  # an import was killed, or the schema is older: fix it once with a write-open, then read
            cls.open(path).close()
            con = duckdb.connect(db, read_only=True)
            if db != path:
                lake.set_search_path(con, path)
            case = cls(con, path)
        elif read_only and case.lake_root is not None and lake.views_are_old(con):
            con.close()  # views of an older version (same rows, slower): rebuilt when the case may be written now
            try:
                cls.open(path).close()
            except (UsageError, duckdb.Error, OSError):
                pass  # written by another process, or read-only storage: read through the old views
            con = duckdb.connect(db, read_only=True)
            lake.set_search_path(con, path)
            case = cls(con, path)
        # DuckDB draws its own progress bar on stdout for a statement over 2 s, piped or not: it would land inside
        # a --json/--csv answer (the CLI shows its own progress on stderr)
        con.execute("SET enable_progress_bar = false")
        # Keep DuckDB's own memory bounded (it spills sorts and windows to a temp folder beside the case).
        limit = os.environ.get("FORENSICS_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
        try:
            con.execute(f"SET memory_limit = '{_memory_limit(limit)}'")
        except duckdb.Error as exc:
            raise UsageError(f"FORENSICS_MEMORY_LIMIT={limit!r}: {str(exc).splitlines()[0]}") from None
        case.memory_limit = _memory_limit(limit)
        case.read_only = read_only
        if not read_only:
            case._apply_schema()
            case.purge_orphans()
        else:
            macros = read_sql("schema/macros.sql")
            con.execute(macros.replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))
        return case

    def drop_cached_blocks(self) -> None:
        """Make DuckDB's buffer pool let go of the blocks it keeps cached after writing them (they are on
        disk): left alone, the cache grows to the memory limit on a large import. Lowering the limit
        evicts them; the limit is then put back (a high limit keeps the inserts parallel)."""
        try:
            self.con.execute("SET memory_limit = '64MB'")
        except duckdb.Error:  # what is pinned cannot go: fine, the rest went
            pass
        self.con.execute(f"SET memory_limit = '{self._import_limit}'")

    @contextmanager
    def import_memory(self) -> Iterator[None]:
        """DuckDB's memory limit for an import (FORENSICS_IMPORT_MEMORY_LIMIT, default IMPORT_MEMORY_LIMIT)."""
        limit = os.environ.get("FORENSICS_IMPORT_MEMORY_LIMIT", IMPORT_MEMORY_LIMIT)
        self._import_limit = self._stream_limit = _memory_limit(limit)
        # a limit the user set holds for the whole import; the default one is lowered for each file's tail
        self._tail_limit = None if "FORENSICS_IMPORT_MEMORY_LIMIT" in os.environ else IMPORT_TAIL_MEMORY_LIMIT
        try:
            self.con.execute(f"SET memory_limit = '{_memory_limit(limit)}'")
        except duckdb.Error as exc:
            raise UsageError(f"FORENSICS_IMPORT_MEMORY_LIMIT={limit!r}: {str(exc).splitlines()[0]}") from None
        try:
            yield
        finally:
            self._import_limit = self._stream_limit
            self._tail_limit = None
            self.con.execute(f"SET memory_limit = '{self.memory_limit}'")

    @contextmanager
    def import_stream_memory(self) -> Iterator[None]:
        """The streaming limit back for one query of a file's tail that needs it (the label join over every flow
        of the capture: out of memory at 200MB on 1.44 M flows in a single-file case), the tail limit after."""
        lowered = self._import_limit
        if lowered == self._stream_limit:
            yield
            return
        self.con.execute(f"SET memory_limit = '{self._stream_limit}'")
        try:
            yield
        finally:
            try:
                self.con.execute(f"SET memory_limit = '{lowered}'")
            except duckdb.Error:  # what is pinned cannot go now: it goes as it is unpinned
                pass

    def import_tail_memory(self, lower: bool = True) -> None:
        """A file's packets are in: lower DuckDB's limit to IMPORT_TAIL_MEMORY_LIMIT for the rest of its import
        (DuckDB lets go of what it holds past it: the RSS the later steps' Python arrays add to stays under
        1 GiB). Left alone while other files import side by side (their packets may still be streaming);
        the next file's importing() puts the streaming limit back, as does `lower=False` (before a step that
        may need it: SQL over every packet, flows derived in SQL)."""
        if not lower:
            if self._tail_limit is not None and self._import_limit != self._stream_limit:
                self._import_limit = self._stream_limit
                self.con.execute(f"SET memory_limit = '{self._stream_limit}'")
            return
        if (self._tail_limit is None or self._importing != 1 or self._import_limit == self._tail_limit
                or self._small_file):
            return
        self._import_limit = self._tail_limit
        try:
            self.con.execute(f"SET memory_limit = '{self._tail_limit}'")
        except duckdb.Error:  # what is pinned cannot go now: it goes as it is unpinned
            pass

    def _needs_recovery(self) -> bool:
        try:
            return self.has_orphans()
        except duckdb.Error:  # not a case database (yet): nothing to recover
            return False

    def _needs_upgrade(self) -> bool:
        """A schema-2 case: packet_rows without the link-layer columns; a lake whose views name another folder
        (moved or copied since they were made: a write-open rebuilds them)."""
        if self.lake_root is not None:
            return lake.views_are_stale(self.con, self.lake_root)
        return self._needs_v2_upgrade()

    def _needs_v2_upgrade(self) -> bool:
        try:
            return self._table_type("packet_rows") == "BASE TABLE" and not self._has_column("packet_rows", "src_mac")
        except duckdb.Error:
            return False

    def _has_column(self, table: str, column: str) -> bool:
        row = self.con.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'main' "
                               "AND table_name = $t AND column_name = $c", {"t": table, "c": column}).fetchone()
        return bool(row[0])

    def _apply_schema(self) -> None:
        """Bring the catalog to this version's schema: migrations, then every schema file (tables if absent,
        macros and views replaced) and a lake's views. The digest of what was applied is kept as the comment of
        view conversations (derive/conversations.sql): a write-open that finds the same digest skips the
        statements (they would replace every macro and view with itself: 0.05-0.2 s per command, and a checkpoint
        at close). Every version that applies the schema replaces that view, which drops the comment: an older
        forensics that wrote the case meanwhile leaves no digest, and the next open applies this version's schema
        again. The count of the catalog's tables and views is kept beside it: one dropped by hand is put back."""
        if self._table_type("packets") == "BASE TABLE":
            self._migrate_v1()
        elif self._needs_v2_upgrade():
            self._migrate_v2()
        views = lake.views_sql(read_sql(LAKE_VIEWS), self.lake_root) if self.lake_root is not None else None
        files = []
        for rel in SCHEMA_FILES:
            try:
                files.append(read_sql(rel))
            except FileNotFoundError:
                continue
        digest = hashlib.sha256("\0".join([str(SCHEMA_VERSION), views or "", *files]).encode()).hexdigest()
        if self._schema_digest() == f"{digest} {self._catalog_objects()}":
            return
        # one transaction, not a commit per statement: a whole schema or none, and a new case opens and closes in
        # 0.11-0.13 s instead of 0.13-0.15 (10 of each, two alternating runs against the commit per statement)
        self.con.execute("BEGIN TRANSACTION")
        try:
            if views is not None:
                self.con.execute(views)
            for sql in files:
                self.con.execute(sql)
            if views is not None:
                self.con.execute(views)
            if self.con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 0:
                self.con.execute("INSERT INTO schema_version VALUES ($v)", {"v": SCHEMA_VERSION})
            self.con.execute(f"COMMENT ON VIEW {_DIGEST_VIEW} IS '{_DIGEST_PREFIX}{digest} {self._catalog_objects()}'")
            self.con.execute("COMMIT")
        except BaseException:
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:  # (the connection is gone: nothing was committed) the first error is the one to see
                pass
            raise

    def _catalog_objects(self) -> int:
        """How many tables and views the case's catalog holds (its own, not TEMP ones; macros are not counted:
        listing functions costs 15-30 ms, listing tables and views ~1 ms)."""
        return self.con.execute(
            "SELECT (SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()) "
            "     + (SELECT count(*) FROM duckdb_views() WHERE database_name = current_database() AND NOT internal)"
        ).fetchone()[0]

    def _schema_digest(self) -> str | None:
        """What _apply_schema last stored: the digest and the count of catalog objects (None: nothing, or a case
        from before it was kept)."""
        rows = self.con.execute(
            "SELECT comment FROM duckdb_views() WHERE view_name = $v AND schema_name = 'main' "
            "AND database_name = current_database()", {"v": _DIGEST_VIEW}).fetchall()
        comment = rows[0][0] if len(rows) == 1 else None
        return comment.removeprefix(_DIGEST_PREFIX) if comment and comment.startswith(_DIGEST_PREFIX) else None

    def _migrate_v1(self) -> None:
        """Schema 1 kept packets in a table with 128-bit addresses: move them to packet_rows, in one transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute("ALTER TABLE packets RENAME TO packets_v1")
            for rel in SCHEMA_FILES:
                self.con.execute(read_sql(rel))
            self.con.execute(_MIGRATE_V1)
            self.con.execute("DROP TABLE packets_v1")
            self.con.execute("UPDATE schema_version SET version = $v", {"v": SCHEMA_VERSION})
            self.con.execute("COMMIT")
        except duckdb.Error as exc:
            self.con.execute("ROLLBACK")
            raise UsageError(f"{self.path}: cannot upgrade this case database to schema {SCHEMA_VERSION}: "
                             f"{str(exc).splitlines()[0]}. Open it with the forensics version that made it") from None

    def _migrate_v2(self) -> None:
        """Schema 2 lacked the link-layer columns: add them in place (existing rows keep NULL there)."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            for statement in _MIGRATE_V2:
                self.con.execute(statement)
            self.con.execute("UPDATE schema_version SET version = $v", {"v": SCHEMA_VERSION})
            self.con.execute("COMMIT")
        except duckdb.Error as exc:
            self.con.execute("ROLLBACK")
            raise UsageError(f"{self.path}: cannot upgrade this case database to schema {SCHEMA_VERSION}: "
                             f"{str(exc).splitlines()[0]}. Open it with the forensics version that made it") from None

    def _table_type(self, name: str) -> str | None:
        rows = self.con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = $n "
                                "AND table_schema = 'main'", {"n": name}).fetchall()
        return rows[0][0] if rows else None

    def close(self) -> None:
        """Checkpoint and close."""
        if self._bulk is not None:
            self._bulk.close()
        self.con.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def capture_by_sha256(self, sha256: str) -> tuple[int, str] | None:
        """(capture_id, path) of an already imported file with this content, or None."""
        row = self.con.execute("SELECT capture_id, path FROM captures WHERE sha256 = $s", {"s": sha256}).fetchone()
        return (int(row[0]), row[1]) if row else None

    def delete_capture(self, capture_id: int) -> None:
        """Remove a capture and everything imported from it (used by --force). A lake's parts of it leave
        lake_parts here; their files are deleted once the transaction commits."""
        tables = ("packet_rows", "flows", "interfaces", "captures", "import_rejects")
        if self.lake_root is not None:
            self._doomed += lake.capture_parts(self.con, capture_id)
            doomed, fresh = lake_compact.drop_capture(self.con, self.lake_root, capture_id)  # shared files
            self._doomed += doomed
            self._fresh += fresh
            tables = tables[2:]
        for table in tables:
            self.con.execute(f"DELETE FROM {table} WHERE capture_id = $c", {"c": capture_id})
        done = {*tables, "packet_rows", "flows", "lake_parts"}
        for table in [t for t in _EXTRA_CAPTURE_TABLES + self._capture_tables() if t not in done]:
            done.add(table)
            self.con.execute(f"DELETE FROM {table} WHERE capture_id = $c", {"c": capture_id})

    def _capture_tables(self) -> list[str]:
        """The catalog's tables with a capture_id column: whatever an area keyed by capture goes with its capture,
        whether or not this process imported the module that writes it (the CLI loads those lazily)."""
        return [r[0] for r in self.con.execute(
            "SELECT c.table_name FROM duckdb_columns() c JOIN duckdb_tables() t USING (database_name, schema_name, "
            "table_name) WHERE c.column_name = 'capture_id' AND c.schema_name = 'main' AND NOT t.temporary "
            "AND c.database_name = current_database() ORDER BY c.table_name").fetchall()]

    def record_reject(self, path: str, offset: int | None, reason: str, capture_id: int | None = None) -> None:
        """Note a rejected file (or a file whose reading stopped early)."""
        self.con.execute(
            "INSERT INTO import_rejects VALUES ($c, $p, $o, $r, $t)",
            {"c": capture_id, "p": path, "o": offset, "r": reason, "t": _utcnow()},
        )

    @contextmanager
    def importing(self, meta: CaptureMeta, small: bool = False,
                  capture_id: int | None = None) -> Iterator[CaptureWriter]:
        """One transaction for one input file: all of it lands, or none of it.

        On any exception (KeyboardInterrupt included) the transaction rolls back and the case is as
        it was before this file. Packet rows and derived flows of a large file go through the bulk
        connection, committed batch by batch (flat memory) and purged on rollback; a `small` file's go
        into the file's transaction itself (one commit for the file). `capture_id` is the id to take
        (files imported side by side get theirs in file order), else the next free one.
        """
        if self._tail_limit is not None and self._importing == 0 and self._import_limit != self._stream_limit:
            self._import_limit = self._stream_limit  # the last file lowered it for its tail
            self.con.execute(f"SET memory_limit = '{self._stream_limit}'")
        self._importing += 1
        self._small_file = meta.size_bytes <= SMALL_FILE_BYTES
        self.con.execute("BEGIN TRANSACTION")
        stage: lake.Stage | None = None
        self._doomed = []
        self._fresh = []
        try:
            cid = capture_id if capture_id is not None else self.con.execute(
                "SELECT coalesce(max(capture_id), 0) + 1 FROM captures").fetchone()[0]
            self.con.execute(
                "INSERT INTO captures (capture_id, path, sha256, size_bytes, format, link_types, "
                "importer_version, imported_at) VALUES ($c, $p, $s, $z, $f, $l, $v, $t)",
                {"c": cid, "p": meta.path, "s": meta.sha256, "z": meta.size_bytes, "f": meta.format,
                 "l": meta.link_types, "v": __version__, "t": _utcnow()},
            )
            writer = CaptureWriter(self, int(cid))
            if small or self.lake_root is not None:
                writer.bulk = self.con
            if self.lake_root is not None:
                stage = writer.stage = lake.Stage(self.lake_root, self.con)
            yield writer
            self._finish_capture(writer, meta)
            if stage is not None:
                stage.publish()
            elif writer.home is not None:  # a single-file case: the rollup of the file's many exported flows
                flow_rollup.write_capture_rollup(self.con, writer.capture_id, writer.exported_rows, writer.home)
            self._commit_file()
            if stage is not None:
                stage.cleanup()
            if self._doomed:
                lake.remove_files(self.lake_root, self._doomed)
        except BaseException:
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            self._doomed = []
            if "stage" in locals() and stage is not None and not self._committed(locals().get("cid"), meta):
                stage.discard()
                lake.remove_files(self.lake_root, self._fresh)
            self._fresh = []
            if self.lake_root is not None:
                raise
            # A signal can land after COMMIT returned and before this block was left: the file is then
            # kept whole (its captures row is committed, as the bulk connection sees), and nothing is purged.
            if "cid" in locals() and not self.bulk.execute(
                    "SELECT count(*) FROM captures WHERE capture_id = $c AND sha256 = $s",
                    {"c": cid, "s": meta.sha256}).fetchone()[0]:
                for table in ("packet_rows", "flows"):  # what the bulk connection committed for this file
                    self.bulk.execute(f"DELETE FROM {table} WHERE capture_id = $c", {"c": cid}).fetchall()
            raise
        finally:
            self._importing -= 1

    def _commit_file(self) -> None:
        """COMMIT an imported file's transaction. A large file's catalog rows (application data and labels: 12 MB
        for the 2M-packet bench capture) go into the database file at this COMMIT, not into the WAL first and the
        database at close: DuckDB checkpoints instead of logging a commit that would take the WAL past
        checkpoint_threshold. The 2M-packet capture: COMMIT 0.05 -> 0.09 s, close 0.07 -> 0.01 s, 12 MB less
        written. Small files keep the default threshold (a checkpoint per small file would rewrite the tables'
        last row groups again and again)."""
        if self._small_file:
            self.con.execute("COMMIT")
            return
        self.con.execute("SET checkpoint_threshold = '1MB'")
        try:
            self.con.execute("COMMIT")
        finally:
            try:
                self.con.execute("RESET checkpoint_threshold")
            except duckdb.Error:  # (a connection a failed COMMIT invalidated: that error is the one to see)
                pass

    def finish_lake_commit(self) -> None:
        """After a COMMIT that dropped lake parts from lake_parts (forensics.store.lake_prune): delete their files."""
        if self.lake_root is not None and self._doomed:
            lake.remove_files(self.lake_root, self._doomed)
        self._doomed = []
        self._fresh = []

    def abort_lake_commit(self) -> None:
        """After a ROLLBACK of such a transaction: delete the parts it wrote (lake_parts never listed them; left,
        the views' globs would show their rows until the next write-open swept them); the old parts stay."""
        if self.lake_root is not None and self._fresh:
            lake.remove_files(self.lake_root, self._fresh)
        self._doomed = []
        self._fresh = []

    def _committed(self, cid: int | None, meta: CaptureMeta) -> bool:
        """Whether the file's captures row is committed (a signal can land after COMMIT returned)."""
        if cid is None:
            return False
        return bool(self.bulk.execute("SELECT count(*) FROM captures WHERE capture_id = $c AND sha256 = $s",
                                      {"c": cid, "s": meta.sha256}).fetchone()[0])

    def _finish_capture(self, writer: CaptureWriter, meta: CaptureMeta) -> None:
        c = writer.counts
        params = {"packets": c.packets, "flows": c.flow_records, "malformed": c.malformed,
                  "undecoded": c.undecoded, "rejected": c.rejected, "lt": meta.link_types,
                  "fmt": meta.format, "c": writer.capture_id,
                  "lo": writer.ts_range[0] if writer.ts_range else None,
                  "hi": writer.ts_range[1] if writer.ts_range else None}
        if writer.exported_rows == 0:  # no exported flow record in this capture: its times are its packets'
            self.con.execute(  # (the flows view's subqueries below cost 4-5 ms of CPU a file)
                "UPDATE captures SET packets = $packets, flow_records = $flows, malformed = $malformed, "
                "undecoded = $undecoded, rejected = $rejected, link_types = coalesce($lt, link_types), format = $fmt, "
                "first_ts = make_timestamp($lo), last_ts = make_timestamp($hi) WHERE capture_id = $c", params)
            return
        self.con.execute(
            """
            UPDATE captures SET
                packets = $packets, flow_records = $flows, malformed = $malformed, undecoded = $undecoded,
                rejected = $rejected, link_types = coalesce($lt, link_types), format = $fmt,
                first_ts = (SELECT least(make_timestamp($lo),
                    (SELECT min(first_ts) FROM flows WHERE capture_id = $c AND source <> 'pcap'))),
                last_ts = (SELECT greatest(make_timestamp($hi),
                    (SELECT max(last_ts) FROM flows WHERE capture_id = $c AND source <> 'pcap')))
            WHERE capture_id = $c
            """,
            params,
        )


# Tables keyed by capture_id that other areas (flow exports) add; --force clears them too. Every table of the
# catalog with a capture_id column is cleared as well (Case._capture_tables), registered here or not.
_EXTRA_CAPTURE_TABLES: list[str] = []


def register_capture_table(name: str) -> None:
    """Let an area's table be cleared with its capture on --force."""
    if name not in _EXTRA_CAPTURE_TABLES:
        _EXTRA_CAPTURE_TABLES.append(name)


# What retention kept of a capture (queries/schema/retention.sql) goes with it on --force: the file re-imported
# holds all its packets again.
register_capture_table("traffic_summary")
register_capture_table("retention_captures")
