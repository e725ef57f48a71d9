"""The DuckDB case database. Knows tables, not file formats.

    with Case.open("case.duckdb") as case:
        with case.importing(CaptureMeta(...)) as writer:   # one transaction per input file
            writer.append_packets(batch)
        case.con.sql("SELECT count(*) FROM packets")
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from forensics import __version__
from forensics.errors import UsageError
from forensics.records import PACKET_FIELDS, PacketBatch
from forensics.resources import read_sql

SCHEMA_VERSION = 1
DEFAULT_MEMORY_LIMIT = "500MB"


def _memory_limit(text: str) -> str:
    """'500MB', '2GB' ... (digits and a unit only: the value is spliced into a SET statement)."""
    import re

    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", text, re.IGNORECASE):
        raise UsageError(f"memory limit {text!r}: write a size such as 500MB or 2GB")
    return text.strip()

# Schema files applied in order when a case is opened; other areas add theirs to this list.
SCHEMA_FILES = ["schema/tables.sql", "schema/macros.sql", "schema/flow_exports.sql", "derive/conversations.sql"]


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


class CaptureWriter:
    """Appends one file's records inside the open transaction."""

    def __init__(self, case: Case, capture_id: int) -> None:
        self.case = case
        self.con = case.con
        self.capture_id = capture_id
        self.counts = CaptureCounts()
        self.ts_range: tuple[int, int] | None = None  # packet times seen, microseconds
        self.bulk = case.bulk

    def add_interface(
        self, iface: int, section: int, linktype: int, snaplen: int | None,
        tsresol_ns: int | None, name: str | None = None,
    ) -> None:
        """Record an interface of the file (pcapng IDB, or the single pcap 'interface')."""
        self.con.execute(
            "INSERT OR REPLACE INTO interfaces VALUES ($cid, $iface, $section, $lt, $snap, $res, $name)",
            {"cid": self.capture_id, "iface": iface, "section": section, "lt": linktype,
             "snap": snaplen, "res": tsresol_ns, "name": name},
        )

    def append_packets(self, batch: PacketBatch) -> None:
        """Append a batch of decoded packets (see forensics.records).

        Packets go through the case's bulk connection, each batch committed on its own (DuckDB keeps an
        open transaction's appends in memory); the file's transaction rolls them back by purging.
        """
        n = len(batch["frame"])
        if n == 0:
            return
        table = pa.table({name: batch[name] for name, _ in PACKET_FIELDS})
        bulk = self.case.bulk
        bulk.register("_batch", table)
        try:
            bulk.execute(_INSERT_PACKETS, {"cid": self.capture_id}).fetchall()
        finally:
            bulk.unregister("_batch")
        self.counts.packets += n
        self.counts.malformed += int(np.count_nonzero(batch["malformed"]))
        lo, hi = int(batch["ts_us"].min()), int(batch["ts_us"].max())
        self.ts_range = (lo, hi) if self.ts_range is None else (min(lo, self.ts_range[0]), max(hi, self.ts_range[1]))

    def append_flow_records(self, records: list[dict]) -> None:
        """Append exported flow records (dicts with forensics.records.FLOW_RECORD_KEYS)."""
        if not records:
            return
        arrays: dict[str, pa.Array] = {}
        for k in _FLOW_PLAIN_COLS:
            values = [r.get(k) for r in records]
            arrays[k] = pa.array(values, type=_FLOW_TYPES[k])
        mask = 0xFFFFFFFFFFFFFFFF
        for addr in _ADDR_COLS:
            values = [r.get(addr) for r in records]
            arrays[addr + "_hi"] = pa.array([None if v is None else v >> 64 for v in values], type=pa.uint64())
            arrays[addr + "_lo"] = pa.array([None if v is None else v & mask for v in values], type=pa.uint64())
        self.con.register("_frecs", pa.table(arrays))
        try:
            self.con.execute(_INSERT_FLOW_RECORDS,
                             {"cid": self.capture_id, "seq0": self.counts.flow_records}).fetchall()
        finally:
            self.con.unregister("_frecs")
        self.counts.flow_records += len(records)


_ADDR_COLS = ("exporter_ip", "src_ip", "dst_ip", "next_hop")
_FLOW_PLAIN_COLS = [
    "source", "record_pos", "observation_domain", "first_ts_us", "last_ts_us", "ip_version", "ip_proto",
    "src_port", "dst_port", "icmp_type", "icmp_code", "vlan", "in_if", "out_if", "src_as", "dst_as", "direction",
    "tos", "tcp_flags", "packets", "bytes", "sampling_rate",
]
_UNSIGNED = {"packets", "bytes", "observation_domain", "in_if", "out_if", "src_as", "dst_as"}
_FLOW_TYPES = {
    k: pa.string() if k == "source" else pa.uint64() if k in _UNSIGNED else pa.int64() for k in _FLOW_PLAIN_COLS
}


def _addr(name: str) -> str:
    return f"CASE WHEN {name}_hi IS NULL THEN NULL ELSE ({name}_hi::UHUGEINT << 64) | {name}_lo::UHUGEINT END"


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

_INSERT_PACKETS = """
INSERT INTO packets
SELECT
    $cid, frame, make_timestamp(ts_us), iface, linktype, file_offset, caplen, wirelen,
    NULLIF(vlan, -1), NULLIF(vlan_inner, -1), NULLIF(mpls_label, -1), NULLIF(eth_type, -1),
    NULLIF(ip_version, -1),
    CASE WHEN ip_version > 0 THEN (src_hi::UHUGEINT << 64) | src_lo::UHUGEINT END,
    CASE WHEN ip_version > 0 THEN (dst_hi::UHUGEINT << 64) | dst_lo::UHUGEINT END,
    NULLIF(ip_proto, -1), NULLIF(ip_len, -1), NULLIF(ttl, -1), NULLIF(ip_id, -1),
    NULLIF(frag_offset, -1), NULLIF(frag_flags, -1), NULLIF(src_port, -1), NULLIF(dst_port, -1),
    NULLIF(tcp_flags, -1), NULLIF(icmp_type, -1), NULLIF(icmp_code, -1), malformed
FROM _batch
"""


class Case:
    """An open case database."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str) -> None:
        self.con = con
        self.path = path
        self._bulk: duckdb.DuckDBPyConnection | None = None

    @property
    def bulk(self) -> duckdb.DuckDBPyConnection:
        """A second connection to the same database, in autocommit mode, for packet rows and derived flows."""
        if self._bulk is None:
            self._bulk = self.con.cursor()
        return self._bulk

    _ORPHANS = "FROM {table} WHERE capture_id > (SELECT coalesce(max(capture_id), 0) FROM captures)"

    def has_orphans(self) -> bool:
        """Rows of an import that never committed: their capture id is past every committed capture's."""
        return any(self.con.execute(f"SELECT EXISTS (SELECT 1 {self._ORPHANS.format(table=t)})").fetchall()[0][0]
                   for t in ("packets", "flows"))

    def purge_orphans(self) -> None:
        """Delete packet and flow rows whose capture was never committed (an interrupted or killed import)."""
        for table in ("packets", "flows"):
            self.con.execute(f"DELETE {self._ORPHANS.format(table=table)}").fetchall()

    @classmethod
    def open(cls, path: str | Path, read_only: bool = False) -> Case:
        """Open (or create) the case database at `path` and bring its schema up to date."""
        path = str(path)
        if read_only and path != ":memory:" and not Path(path).exists():
            raise UsageError(f"{path}: no case database here. Import captures first: forensics import PATH")
        try:
            con = duckdb.connect(path, read_only=read_only)
        except duckdb.Error as exc:
            raise UsageError(f"{path}: cannot open the case database: {str(exc).splitlines()[0]}") from None
        case = cls(con, path)
        if read_only and case._needs_recovery():
            con.close()  # an import was killed: purge its rows once with a write-open, then read
            cls.open(path).close()
            con = duckdb.connect(path, read_only=True)
            case = cls(con, path)
        # Keep DuckDB's own memory bounded (it spills sorts and windows to a temp folder beside the case).
        limit = os.environ.get("FORENSICS_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
        try:
            con.execute(f"SET memory_limit = '{_memory_limit(limit)}'")
        except duckdb.Error as exc:
            raise UsageError(f"FORENSICS_MEMORY_LIMIT={limit!r}: {str(exc).splitlines()[0]}") from None
        if not read_only:
            case._apply_schema()
            case.purge_orphans()
        else:
            macros = read_sql("schema/macros.sql")
            con.execute(macros.replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))
        return case

    def _needs_recovery(self) -> bool:
        try:
            return self.has_orphans()
        except duckdb.Error:  # not a case database (yet): nothing to recover
            return False

    def _apply_schema(self) -> None:
        for rel in SCHEMA_FILES:
            try:
                sql = read_sql(rel)
            except FileNotFoundError:
                continue
            self.con.execute(sql)
        if self.con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 0:
            self.con.execute("INSERT INTO schema_version VALUES ($v)", {"v": SCHEMA_VERSION})

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
        """Remove a capture and everything imported from it (used by --force)."""
        for table in ("packets", "flows", "interfaces", "captures", "import_rejects"):
            self.con.execute(f"DELETE FROM {table} WHERE capture_id = $c", {"c": capture_id})
        for table in _EXTRA_CAPTURE_TABLES:
            self.con.execute(f"DELETE FROM {table} WHERE capture_id = $c", {"c": capture_id})

    def record_reject(self, path: str, offset: int | None, reason: str, capture_id: int | None = None) -> None:
        """Note a rejected file (or a file whose reading stopped early)."""
        self.con.execute(
            "INSERT INTO import_rejects VALUES ($c, $p, $o, $r, $t)",
            {"c": capture_id, "p": path, "o": offset, "r": reason, "t": _utcnow()},
        )

    @contextmanager
    def importing(self, meta: CaptureMeta) -> Iterator[CaptureWriter]:
        """One transaction for one input file: all of it lands, or none of it.

        On any exception (KeyboardInterrupt included) the transaction rolls back and the case is as
        it was before this file.
        """
        self.con.execute("BEGIN TRANSACTION")
        try:
            cid = self.con.execute("SELECT coalesce(max(capture_id), 0) + 1 FROM captures").fetchone()[0]
            self.con.execute(
                "INSERT INTO captures (capture_id, path, sha256, size_bytes, format, link_types, "
                "importer_version, imported_at) VALUES ($c, $p, $s, $z, $f, $l, $v, $t)",
                {"c": cid, "p": meta.path, "s": meta.sha256, "z": meta.size_bytes, "f": meta.format,
                 "l": meta.link_types, "v": __version__, "t": _utcnow()},
            )
            writer = CaptureWriter(self, int(cid))
            yield writer
            self._finish_capture(writer, meta)
            self.con.execute("COMMIT")
        except BaseException:
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            if "cid" in locals():
                for table in ("packets", "flows"):  # what the bulk connection committed for this file
                    self.bulk.execute(f"DELETE FROM {table} WHERE capture_id = $c", {"c": cid}).fetchall()
            raise

    def _finish_capture(self, writer: CaptureWriter, meta: CaptureMeta) -> None:
        c = writer.counts
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
            {"packets": c.packets, "flows": c.flow_records, "malformed": c.malformed,
             "undecoded": c.undecoded, "rejected": c.rejected, "lt": meta.link_types,
             "fmt": meta.format, "c": writer.capture_id,
             "lo": writer.ts_range[0] if writer.ts_range else None,
             "hi": writer.ts_range[1] if writer.ts_range else None},
        )


# Tables keyed by capture_id that other areas (flow exports) add; --force clears them too.
_EXTRA_CAPTURE_TABLES: list[str] = []


def register_capture_table(name: str) -> None:
    """Let an area's table be cleared with its capture on --force."""
    if name not in _EXTRA_CAPTURE_TABLES:
        _EXTRA_CAPTURE_TABLES.append(name)
