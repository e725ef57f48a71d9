"""The lake layout of a case: what the Parquet parts hold and where they live (docs/lake.md).

    case/                                       the case folder (--db case/)
      case.duckdb                               the catalog: captures, interfaces, runs, alerts, appdata ...
      packets/capture_id=N/day=YYYY-MM-DD/part-<token>.parquet
      flows/capture_id=N/day=YYYY-MM-DD/part-<token>.parquet
      _staging/<token>/...                      parts of an import not yet published (swept on open)

Every 128-bit address column A is two UINT64 columns A_hi, A_lo; capture_id and day are in the folder names
only (hive partitioning). Knows pyarrow, not DuckDB.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    import pyarrow.parquet as pq

CATALOG = "case.duckdb"
TABLES = ("packets", "flows")
STAGING = "_staging"
# A part with no rows under capture 0 (never a real capture id): the views' globs never come up empty.
EMPTY_PART = "capture_id=0/day=1970-01-01/part-empty.parquet"
# Small captures' rows share files here (forensics/store/lake_compact.py): shared/packets/day=D/part-*.parquet,
# with capture_id a column of the file (INTEGER) rather than a folder name; listed in lake_parts with capture_id 0.
SHARED = "shared"
SHARED_EMPTY_PART = "day=1970-01-01/part-empty.parquet"
# zstd level 1 keeps the writer near pyarrow's encode speed; measured on the 2M bench capture (bench/lake.py).
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1
# Columns written uncompressed: the ones reports and filters read on every query (times, addresses, ports,
# protocol, lengths, flags, counters), where zstd saves least (delta-encoded times: 2%; dictionary-encoded
# ports and addresses: 20-25%) and DuckDB's decompression is a third of its Parquet decode. The rest (MACs,
# file offsets, frame lengths, ARP, ...) stays zstd. Every flow column is hot (a flow is 3.4 bytes a packet
# uncompressed on the bench capture). Measured on /tmp/bench/p2m.pcap (bench/lake.py): see docs/lake.md.
HOT_COLUMNS = {
    "packets": ("ts", "iface", "vlan", "ip_version", "src_ip_hi", "src_ip_lo", "dst_ip_hi", "dst_ip_lo", "ip_proto",
                "ip_len", "src_port", "dst_port", "tcp_flags", "icmp_type", "icmp_code", "eth_type"),
}
# DuckDB's own row group size: a scan splits across cores and prunes by min/max per 122,880 rows, as on a
# single-file case (400k-packet part: 14.7 bytes/packet against 14.9 with 1M-row groups, filters no slower).
ROW_GROUP_ROWS = 122_880
# One data page per column of a row group (pyarrow's default cuts a page every 20,000 rows or 1 MiB): DuckDB's
# reader pays per page.
PAGE_BYTES = 16 << 20

_ADDR = pa.uint64()
_MAC = pa.binary(6)

# (column, Arrow type, documentation); the order of the Parquet files. The views (queries/schema/lake_views.sql)
# give the columns of a single-file case's packets/flows (queries/schema/tables.sql documents their meaning).
PACKET_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("frame", pa.uint32(), "frame number in the file, from 1 (as Wireshark numbers them)"),
    ("ts", pa.timestamp("us"), "capture time, UTC, microseconds (naive: isAdjustedToUTC=false)"),
    ("iface", pa.uint16(), "interface number in the file (0 for pcap)"),
    ("linktype", pa.uint16(), "LINKTYPE_* of the record"),
    ("file_offset", pa.uint64(), "byte offset of the record in the uncompressed file"),
    ("caplen", pa.uint32(), "bytes captured"),
    ("wirelen", pa.uint32(), "bytes on the wire"),
    ("vlan", pa.uint16(), "outermost VLAN id, null when untagged"),
    ("vlan_inner", pa.uint16(), "second VLAN id (QinQ)"),
    ("mpls_label", pa.uint32(), "outermost MPLS label"),
    ("eth_type", pa.uint16(), "ethertype of the network layer"),
    ("ip_version", pa.uint8(), "4 or 6; null for non-IP"),
    ("src_ip_hi", _ADDR, "source address, high 64 bits (IPv4 as ::ffff:a.b.c.d: 0)"),
    ("src_ip_lo", _ADDR, "source address, low 64 bits (IPv4: 0xffff00000000 + the 32-bit address)"),
    ("dst_ip_hi", _ADDR, "destination address, high 64 bits"),
    ("dst_ip_lo", _ADDR, "destination address, low 64 bits"),
    ("ip_proto", pa.uint8(), "transport protocol number"),
    ("ip_len", pa.uint16(), "IP-layer length"),
    ("ttl", pa.uint8(), "IPv4 TTL / IPv6 hop limit"),
    ("ip_id", pa.uint32(), "IPv4 identification / IPv6 fragment identification"),
    ("frag_offset", pa.uint16(), "fragment offset in bytes"),
    ("frag_flags", pa.uint8(), "bit 1 more fragments, bit 2 don't fragment"),
    ("src_port", pa.uint16(), "TCP/UDP/SCTP source port"),
    ("dst_port", pa.uint16(), "TCP/UDP/SCTP destination port"),
    ("tcp_flags", pa.uint16(), "TCP flags (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, ...)"),
    ("icmp_type", pa.uint8(), "ICMP/ICMPv6 type"),
    ("icmp_code", pa.uint8(), "ICMP/ICMPv6 code"),
    ("malformed", pa.bool_(), "headers inconsistent or cut short"),
    ("src_mac", _MAC, "Ethernet source MAC, 6 bytes in wire order"),
    ("dst_mac", _MAC, "Ethernet destination MAC"),
    ("arp_op", pa.uint16(), "ARP opcode"),
    ("arp_sha", _MAC, "ARP sender MAC"),
    ("arp_spa_hi", _ADDR, "ARP sender IPv4 address as an IPv4-mapped address, high 64 bits (0)"),
    ("arp_spa_lo", _ADDR, "ARP sender IPv4 address, low 64 bits (0xffff00000000 + the address)"),
    ("arp_tha", _MAC, "ARP target MAC"),
    ("arp_tpa_hi", _ADDR, "ARP target IPv4 address, high 64 bits"),
    ("arp_tpa_lo", _ADDR, "ARP target IPv4 address, low 64 bits"),
]

FLOW_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("flow_id", pa.int64(), "unique in the case"),
    ("source", pa.string(), "pcap, netflow_v5, netflow_v9, ipfix, sflow, nfcapd, nfdump_csv, zeek, suricata"),
    ("record_pos", pa.int64(), "frame number of the export packet, line number or record index"),
    ("exporter_ip_hi", _ADDR, "exporter address, high 64 bits (null for pcap-derived flows)"),
    ("exporter_ip_lo", _ADDR, "exporter address, low 64 bits"),
    ("observation_domain", pa.uint64(), "IPFIX observation domain / NetFlow v9 source id"),
    ("first_ts", pa.timestamp("us"), "first packet of the flow, UTC"),
    ("last_ts", pa.timestamp("us"), "last packet of the flow, UTC"),
    ("ip_version", pa.uint8(), "4 or 6"),
    ("src_ip_hi", _ADDR, "source address, high 64 bits"),
    ("src_ip_lo", _ADDR, "source address, low 64 bits"),
    ("dst_ip_hi", _ADDR, "destination address, high 64 bits"),
    ("dst_ip_lo", _ADDR, "destination address, low 64 bits"),
    ("ip_proto", pa.uint8(), "transport protocol number"),
    ("src_port", pa.uint16(), "source port"),
    ("dst_port", pa.uint16(), "destination port"),
    ("icmp_type", pa.uint8(), "ICMP type"),
    ("icmp_code", pa.uint8(), "ICMP code"),
    ("iface", pa.uint16(), "capture interface (pcap-derived flows)"),
    ("vlan", pa.uint16(), "VLAN id"),
    ("in_if", pa.uint32(), "input ifIndex (exported flows)"),
    ("out_if", pa.uint32(), "output ifIndex"),
    ("src_as", pa.uint32(), "source AS"),
    ("dst_as", pa.uint32(), "destination AS"),
    ("next_hop_hi", _ADDR, "next-hop address, high 64 bits"),
    ("next_hop_lo", _ADDR, "next-hop address, low 64 bits"),
    ("direction", pa.uint8(), "0 ingress, 1 egress"),
    ("tos", pa.uint8(), "IP type of service"),
    ("tcp_flags", pa.uint16(), "OR of TCP flags over the flow"),
    ("packets", pa.uint64(), "packets as counted"),
    ("bytes", pa.uint64(), "IP-layer bytes as counted"),
    ("frame_bytes", pa.uint64(), "link-layer bytes (pcap-derived flows)"),
    ("sampling_rate", pa.uint32(), "1 in N sampling (1 = unsampled)"),
    ("packets_scaled", pa.uint64(), "packets * sampling_rate"),
    ("bytes_scaled", pa.uint64(), "bytes * sampling_rate"),
    # written by the import from the case config's home blocks (forensics/store/home_bits.py); not in the views
    ("src_home", pa.bool_(), "source address in a home block of the config at import (flow_home_bits); null: unknown"),
    ("dst_home", pa.bool_(), "destination address in a home block of the config at import; null: unknown"),
]

SCHEMAS = {"packets": pa.schema([(n, t) for n, t, _ in PACKET_COLUMNS]),
           "flows": pa.schema([(n, t) for n, t, _ in FLOW_COLUMNS])}
# A shared part: the capture id as a column first, then the columns of a part of its own.
SHARED_SCHEMAS = {t: pa.schema([("capture_id", pa.int32()), *[(f.name, f.type) for f in s]])
                  for t, s in SCHEMAS.items()}
# The time column that decides a row's day folder.
DAY_COLUMN = {"packets": "ts", "flows": "first_ts"}


# Columns that grow row by row (counters, times, offsets) are delta-encoded (DELTA_BINARY_PACKED, which DuckDB,
# Spark, Polars and pyarrow read); the rest dictionary-encoded where it pays. On the 2M bench capture's first
# part: 24.2 bytes/packet with dictionary+zstd everywhere, 16.2 with these delta columns, and the writer
# faster (0.26 s CPU against 0.39 for 491,520 packets).
DELTA_COLUMNS = {"packets": ("frame", "ts", "file_offset", "ip_id"),
                 "flows": ("flow_id", "record_pos", "first_ts", "last_ts")}


# Flows: each part chooses, per integer column, delta or dictionary encoding by which its first rows say is smaller
# (_delta_columns): many distinct values close together (the addresses of a few networks, ports, byte counts of a
# large export) are smaller delta-encoded than through a dictionary of tens of thousands of entries, and DuckDB
# decodes them faster; values that repeat keep their dictionary. 10 M bench flows (bench/README.md, "Tenth
# session"): 513 -> 296 MB, a scan of the hot columns 0.88 -> 0.62 s of CPU; the 2M-packet bench capture's flows:
# ports and byte counts go delta, addresses keep their dictionaries, 6.96 -> 6.55 MB. The delta estimate is an
# upper bound (one bit width for the whole sample, where the encoder takes one per 32 values). Packets keep the
# static choice: on the bench capture the estimate picks delta for the lengths, and is wrong there (a 122,880-row
# dictionary is relatively smaller than the sample's, and zstd packs its indices: +3.6% bytes).
_SAMPLE_ROWS = 16_384


def _delta_columns(table: pa.Table) -> list[str]:
    """The integer columns of a flows table estimated smaller delta- than dictionary-encoded on its first rows."""
    import numpy as np
    import pyarrow.compute as pc
    sample = table.slice(0, _SAMPLE_ROWS)
    chosen = []
    for name in sample.column_names:
        kind = sample.schema.field(name).type
        if not pa.types.is_integer(kind) or name in DELTA_COLUMNS["flows"]:
            continue
        values = sample.column(name).drop_null()
        n = len(values)
        if n < 1024:
            continue
        distinct = pc.count_distinct(values).as_py()
        if distinct <= 256:  # a small dictionary: bit-packed or run-length indices, as small and as fast to read
            continue
        width = 8 if kind.bit_width == 64 else 4  # the physical INT64 / INT32 a dictionary entry is stored as
        dictionary = distinct * width + n * max(1, (distinct - 1).bit_length()) / 8
        as_int = values.to_numpy().astype(np.int64)  # (uint64 wraps, as the INT64 the encoder writes)
        steps = np.diff(as_int)  # wraps modulo 2^64 as the encoder's INT64 arithmetic does
        delta = n * (int(steps.max()) - int(steps.min())).bit_length() / 8
        if delta < dictionary:
            chosen.append(name)
    return chosen


def _writer_options(names: list[str], delta_too: list[str] | None = None) -> dict:
    kind = "packets" if "frame" in names else "flows"
    delta = [*DELTA_COLUMNS[kind], *(delta_too or [])]
    hot = HOT_COLUMNS.get(kind)
    compression = {c: ("none" if hot is None or c in hot else COMPRESSION) for c in names}
    return {"compression": compression,
            "compression_level": {c: COMPRESSION_LEVEL for c, codec in compression.items() if codec != "none"},
            "max_rows_per_page": ROW_GROUP_ROWS, "data_page_size": PAGE_BYTES, "write_statistics": True,
            "use_dictionary": [c for c in names if c not in delta],
            "column_encoding": {c: "DELTA_BINARY_PACKED" for c in delta}}


def _options_for(table: pa.Table) -> dict:
    """Writer options for a part of `table`'s rows (a flows part: its delta columns chosen from them)."""
    names = table.column_names
    return _writer_options(names, None if "frame" in names else _delta_columns(table))


def write_part(table: pa.Table, path: Path) -> int:
    """Write one Parquet part (a table of SCHEMAS) and return its size in bytes."""
    import pyarrow.parquet as pq
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS, **_options_for(table))
    return path.stat().st_size


def write_part_batches(tables: Iterable[pa.Table], schema: pa.Schema, path: Path) -> int:
    """Write one Parquet part from tables of `schema` that come one at a time, in row groups of ROW_GROUP_ROWS
    as write_part writes their concatenation: only one of them (and less than a row group of the one before)
    in memory. Returns the size in bytes."""
    part = PartWriter(schema, path)
    try:
        for table in tables:
            part.write(table)
            del table
    except BaseException:
        part.abandon()
        raise
    return part.close()


class PartWriter:
    """One Parquet part written from tables of `schema` as they come (write_part_batches one table at a time):
    row groups of ROW_GROUP_ROWS, as write_part writes the tables' concatenation (the same bytes when the first
    table's rows choose the encodings as the concatenation's first rows do); less than a row group of them is held
    in memory. close() writes the rest and returns the file's size."""

    def __init__(self, schema: pa.Schema, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rows = 0
        self._schema = schema
        # opened by the first table, whose rows choose the flows' encodings (_delta_columns)
        self._writer: pq.ParquetWriter | None = None
        self._closed = False
        self._rest = schema.empty_table()

    def _open(self, first: pa.Table) -> None:
        import pyarrow.parquet as pq
        self._writer = pq.ParquetWriter(self.path, self._schema, **_options_for(first))

    def write(self, table: pa.Table) -> None:
        assert not self._closed
        if self._writer is None:
            self._open(table)
        self.rows += len(table)
        table = pa.concat_tables([self._rest, table]) if len(self._rest) else table
        whole = len(table) - len(table) % ROW_GROUP_ROWS
        if whole:
            self._writer.write_table(table.slice(0, whole), row_group_size=ROW_GROUP_ROWS)
        self._rest = table.slice(whole).take(pa.array(range(len(table) - whole), pa.int64()))  # a copy: the table goes

    def close(self) -> int:
        assert not self._closed
        if self._writer is None:
            self._open(self._rest)  # no table came: an empty part
        assert self._writer is not None
        if len(self._rest):
            self._writer.write_table(self._rest, row_group_size=ROW_GROUP_ROWS)
        self._rest = self._rest.slice(0, 0)
        self._writer.close()
        self._writer = None
        self._closed = True
        return self.path.stat().st_size

    def abandon(self) -> None:
        """Close the file without the rest (an error: the caller deletes it)."""
        self._closed = True
        if self._writer is not None:
            try:
                self._writer.close()
            except (OSError, pa.ArrowException):
                pass
            self._writer = None


def part_path(table_name: str, capture_id: int, day: str, name: str) -> str:
    """The path of a part relative to the case folder (or to a staging folder)."""
    return f"{table_name}/capture_id={capture_id}/day={day}/{name}"


def ensure_layout(root: Path) -> None:
    """Create the folders, the empty parts and README.md of a lake case (idempotent)."""
    for table_name in TABLES:
        empty = root / table_name / EMPTY_PART
        if not empty.exists():
            tmp = empty.with_suffix(".tmp")
            write_part(SCHEMAS[table_name].empty_table(), tmp)
            os.replace(tmp, empty)
        shared_empty = root / SHARED / table_name / SHARED_EMPTY_PART
        if not shared_empty.exists():
            tmp = shared_empty.with_suffix(".tmp")
            write_part(SHARED_SCHEMAS[table_name].empty_table(), tmp)
            os.replace(tmp, shared_empty)
    (root / STAGING).mkdir(exist_ok=True)
    readme = root / "README.md"
    text = readme_text()
    if not readme.exists() or readme.read_text(encoding="utf-8") != text:
        readme.write_text(text, encoding="utf-8")


def published_parts(root: Path) -> list[str]:
    """Every Parquet file under packets/, flows/ and shared/, relative to the case folder (the empty parts left
    out)."""
    found = []
    for table_name in TABLES:
        for base, pattern, empty in ((root / table_name, "*/*/*.parquet", EMPTY_PART),
                                     (root / SHARED / table_name, "*/*.parquet", SHARED_EMPTY_PART)):
            if not base.is_dir():
                continue
            for path in base.glob(pattern):
                rel = path.relative_to(root).as_posix()
                if not rel.endswith(empty):
                    found.append(rel)
    return found


def readme_text() -> str:
    """README.md of a case folder: the layout and every column of the Parquet files."""
    lines = [
        "# A forensics case (lake layout)",
        "",
        "Written by `forensics`; do not edit the files by hand. `case.duckdb` is the catalog (captures, interfaces,",
        "exporters and templates, runs, alerts, application metadata, summaries, and `lake_parts`: every published",
        "Parquet part). Packets and flows are Parquet files (the columns queries read most uncompressed, the",
        "rest zstd), partitioned hive-style:",
        "",
        "    packets/capture_id=N/day=YYYY-MM-DD/part-*.parquet   (day of the packet's ts, UTC)",
        "    flows/capture_id=N/day=YYYY-MM-DD/part-*.parquet     (day of the flow's first_ts, UTC)",
        "",
        "`capture_id` (INTEGER) and `day` (DATE) are in the folder names only. The part under `capture_id=0`",
        "holds no rows (it keeps the globs from coming up empty). `_staging/` holds an import in progress:",
        "never read it. A file under packets/, flows/ or shared/ that `lake_parts` does not list is the leftover",
        "of a killed import or compaction; the next open of the case deletes it.",
        "",
        "Small captures (fewer rows than one row group) share files once compacted (`forensics compact`):",
        "",
        "    shared/packets/day=YYYY-MM-DD/part-*.parquet   rows of many captures, sorted by capture_id, frame",
        "    shared/flows/day=YYYY-MM-DD/part-*.parquet     sorted by capture_id, flow_id",
        "",
        "There `capture_id` is the file's first column (INT32), not a folder name; every other column is as",
        "below. A capture's rows are in packets/ or in shared/, never both. Read the two trees as two hive",
        "datasets and union them by name, e.g. DuckDB:",
        "",
        "    SELECT * EXCLUDE (day) FROM read_parquet('packets/*/*/*.parquet', hive_partitioning = true)",
        "    UNION ALL BY NAME",
        "    SELECT * EXCLUDE (day) FROM read_parquet('shared/packets/*/*.parquet', hive_partitioning = true);",
        "",
        "Spark: `spark.read.parquet('packets').unionByName(spark.read.parquet('shared/packets'))` (each tree",
        "has one directory structure; read together, Spark's partition discovery refuses them).",
        "",
        "Addresses: each 128-bit address A is two UINT64 columns `A_hi` and `A_lo`, its high and low 64 bits.",
        "IPv4 addresses are IPv4-mapped IPv6 (::ffff:a.b.c.d): `A_hi = 0`, `A_lo = 0xFFFF00000000 + ipv4`.",
        "Timestamps are TIMESTAMP in microseconds, UTC, stored naive (isAdjustedToUTC=false). MACs are 6 bytes.",
        "",
        "Render an address in DuckDB (one line):",
        "",
        "    SELECT CASE WHEN src_ip_hi = 0 AND src_ip_lo >> 32 = 65535",
        "           THEN ((src_ip_lo >> 24) & 255) || '.' || ((src_ip_lo >> 16) & 255) || '.' || "
        "((src_ip_lo >> 8) & 255) || '.' || (src_ip_lo & 255)",
        "           ELSE printf('%016x%016x', src_ip_hi, src_ip_lo) END AS src FROM 'packets/*/*/*.parquet';",
        "",
        "or open the catalog, where the views `packets` and `flows` rebuild UHUGEINT addresses and the macro",
        "`ip_text(a)` renders them. The views name this folder by its absolute path; after moving the folder,",
        "open it once with forensics (or use `lake_packets('/new/place/packets/*/*/*.parquet')`).",
        "",
    ]
    for table_name, cols in (("packets", PACKET_COLUMNS), ("flows", FLOW_COLUMNS)):
        lines += [f"## {table_name}", "", "| column | Parquet type | meaning |", "|---|---|---|"]
        lines += [f"| {name} | {arrow_type} | {doc} |" for name, arrow_type, doc in cols]
        lines.append("")
    return "\n".join(lines)
