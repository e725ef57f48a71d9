"""lake_layout.PartWriter: a part written from tables as they come is the file write_part makes of their
concatenation (the import streams each capture-day's metered flows into one part this way)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from forensics.store.lake import derived_flow_table
from forensics.store.lake_layout import ROW_GROUP_ROWS, SCHEMAS, PartWriter, write_part


def _flows(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols = {name: rng.integers(0, 1000, n) for name in (
        "record_pos", "src_hi", "src_lo", "dst_hi", "dst_lo", "src_port", "dst_port", "iface", "packets", "bytes",
        "frame_bytes")}
    cols.update(flow_id=np.arange(seed * n, seed * n + n), first_ts_us=1_700_000_000_000_000 + np.arange(n),
                last_ts_us=1_700_000_000_000_000 + np.arange(n) + 5, ip_version=np.full(n, 4),
                ip_proto=np.where(np.arange(n) % 3 == 0, -1, 6), icmp_type=np.full(n, -1), icmp_code=np.full(n, -1),
                vlan=np.full(n, -1), tcp_flags=np.full(n, 18))
    return derived_flow_table(cols, 1)


def test_pieces_make_the_same_file(tmp_path):
    pieces = [_flows(n, i) for i, n in enumerate((ROW_GROUP_ROWS + 17, 5, 2 * ROW_GROUP_ROWS, 1000))]
    write_part(pa.concat_tables(pieces), tmp_path / "whole.parquet")
    part = PartWriter(SCHEMAS["flows"], tmp_path / "d" / "pieces.parquet")
    for piece in pieces:
        part.write(piece)
    size = part.close()
    assert part.rows == sum(len(p) for p in pieces)
    assert size == (tmp_path / "d" / "pieces.parquet").stat().st_size
    whole, streamed = pq.ParquetFile(tmp_path / "whole.parquet"), pq.ParquetFile(tmp_path / "d" / "pieces.parquet")
    assert [streamed.metadata.row_group(i).num_rows for i in range(streamed.num_row_groups)] == \
        [whole.metadata.row_group(i).num_rows for i in range(whole.num_row_groups)] == [ROW_GROUP_ROWS] * 3 + [1022]
    assert streamed.read().equals(whole.read())
    assert (tmp_path / "d" / "pieces.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()


def test_abandon_leaves_a_closed_file(tmp_path):
    part = PartWriter(SCHEMAS["flows"], tmp_path / "x.parquet")
    part.write(_flows(10, 0))
    part.abandon()
    part.abandon()  # twice: nothing left to close
    (tmp_path / "x.parquet").unlink()


def _encodings(path, column: str) -> set[str]:
    """The encodings of `column`'s data in every row group of a part."""
    meta = pq.ParquetFile(path).metadata
    found: set[str] = set()
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        chunk = next(rg.column(i) for i in range(rg.num_columns) if rg.column(i).path_in_schema == column)
        found |= set(chunk.encodings) - {"RLE", "PLAIN"}  # levels, and a dictionary page's own encoding
    return found


def test_flow_columns_choose_delta_or_dictionary_by_their_values(tmp_path):
    """A flows part delta-encodes an integer column whose first rows hold many values close together (addresses
    of one network, byte counts) and keeps the dictionary of one whose values repeat; the values read back the
    same, and a PartWriter given the rows in pieces writes the file write_part writes of them whole."""
    n = 2 * ROW_GROUP_ROWS + 300
    rng = np.random.default_rng(11)
    table = _flows(n, 5)
    many = (0xFFFF0A000000 + rng.integers(0, 1 << 20, n)).astype(np.uint64)  # 10.0.0.0/12: ~1 M addresses
    few = (0xFFFFC0A80000 + rng.integers(0, 40, n)).astype(np.uint64)        # 40 addresses
    table = table.set_column(table.column_names.index("src_ip_lo"), "src_ip_lo", pa.array(many))
    table = table.set_column(table.column_names.index("dst_ip_lo"), "dst_ip_lo", pa.array(few))
    write_part(table, tmp_path / "whole.parquet")
    part = PartWriter(SCHEMAS["flows"], tmp_path / "pieces.parquet")
    for a, b in ((0, 20_000), (20_000, ROW_GROUP_ROWS + 3), (ROW_GROUP_ROWS + 3, n)):
        part.write(table.slice(a, b - a))
    part.close()
    assert (tmp_path / "pieces.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert pq.read_table(tmp_path / "whole.parquet").equals(table)
    assert _encodings(tmp_path / "whole.parquet", "src_ip_lo") == {"DELTA_BINARY_PACKED"}
    assert _encodings(tmp_path / "whole.parquet", "dst_ip_lo") == {"RLE_DICTIONARY"}
    assert _encodings(tmp_path / "whole.parquet", "first_ts") == {"DELTA_BINARY_PACKED"}  # always
    # the same many addresses under a dictionary: the choice is the smaller file
    plain = pq.ParquetFile(tmp_path / "whole.parquet")
    pq.write_table(table.select(["src_ip_lo"]), tmp_path / "dict.parquet", row_group_size=ROW_GROUP_ROWS,
                   use_dictionary=True, compression="none", dictionary_pagesize_limit=64 << 20)
    delta_bytes = sum(plain.metadata.row_group(g).column(table.column_names.index("src_ip_lo")).total_compressed_size
                      for g in range(plain.metadata.num_row_groups))
    assert delta_bytes < (tmp_path / "dict.parquet").stat().st_size
