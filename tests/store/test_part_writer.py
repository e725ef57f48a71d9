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


def _dictionary_bytes(path, column: str) -> list[int]:
    """Per row group, the bytes of `column`'s dictionary page (0: none)."""
    meta = pq.ParquetFile(path).metadata
    out = []
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        chunk = next(rg.column(i) for i in range(rg.num_columns) if rg.column(i).path_in_schema == column)
        out.append(chunk.data_page_offset - chunk.dictionary_page_offset if chunk.has_dictionary_page else 0)
    return out


def test_exported_flows_keep_small_dictionaries(tmp_path):
    """Exported flows: a column with many distinct values goes over to plain encoding after 32 KiB of dictionary
    (DuckDB decodes it faster); flows built from packets keep a full dictionary. Same values either way, and a
    PartWriter chooses by its first table as write_part does by the whole."""
    from forensics.store.lake_layout import EXPORTED_DICTIONARY_BYTES
    pcap = _flows(ROW_GROUP_ROWS + 500, 3)
    rng = np.random.default_rng(7)
    pcap = pcap.set_column(pcap.column_names.index("src_ip_lo"), "src_ip_lo",
                           pa.array(rng.integers(0, 2**40, len(pcap)).astype(np.uint64)))
    exported = pcap.set_column(pcap.column_names.index("source"), "source",
                               pa.array(["netflow_v5"] * len(pcap), pcap.schema.field("source").type))
    sizes = {}
    for name, table in (("pcap", pcap), ("exported", exported)):
        write_part(table, tmp_path / f"{name}.parquet")
        streamed = PartWriter(SCHEMAS["flows"], tmp_path / f"{name}-streamed.parquet")
        streamed.write(table.slice(0, 1000))
        streamed.write(table.slice(1000))
        streamed.close()
        assert pq.read_table(tmp_path / f"{name}.parquet").equals(table)
        assert pq.read_table(tmp_path / f"{name}-streamed.parquet").equals(table)
        sizes[name] = [_dictionary_bytes(tmp_path / f"{name}{how}.parquet", "src_ip_lo") for how in ("", "-streamed")]
    # (where a dictionary gives over to plain depends on the batches the writer was given: the exported files
    # hold the same rows, not the same bytes)
    assert sizes["pcap"][0] == sizes["pcap"][1]
    assert sizes["pcap"][0][0] > 8 * EXPORTED_DICTIONARY_BYTES  # the first row group: 122,880 distinct values
    # the writer checks the limit after each batch of 1,024 values: up to 8 KiB of them over it, and the header
    assert all(0 < n <= EXPORTED_DICTIONARY_BYTES + 1024 * 8 + 1024 for both in sizes["exported"] for n in both)
    # a column with few values keeps its whole dictionary in both
    assert _dictionary_bytes(tmp_path / "exported.parquet", "dst_port") == \
        _dictionary_bytes(tmp_path / "pcap.parquet", "dst_port")
