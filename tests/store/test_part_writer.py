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
