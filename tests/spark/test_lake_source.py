"""On a lake case Spark reads the flow parts that lake_parts lists, with capture_id from the hive folders, and
exports nothing of them (only catalog tables); its rows, and a query joining flows with captures, equal
DuckDB's on the single file the lake was converted from. (The reports on lakes: FORENSICS_LAYOUT=lake
python -m pytest tests/spark.)"""

from __future__ import annotations

from pathlib import Path

from forensics.spark.connection import SparkConnection
from forensics.spark.source import parquet_paths, read_table
from forensics.store import Case
from forensics.store.lake_convert import convert_to_lake

from .conftest import build_flow_case


def _two_capture_lake(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """(single-file case, lake converted from it): the generated flows as capture 1 and a copy a day later as
    capture 2 (two hive capture/day folders)."""
    monkeypatch.setenv("FORENSICS_LAYOUT", "file")
    single = build_flow_case(tmp_path / "case", n=300, seed=11, layout="file")
    with Case.open(single) as case:
        case.con.execute("INSERT INTO captures (capture_id, path, sha256, size_bytes, format, importer_version, "
                         "imported_at) VALUES (2, 'gen2', 'gen2', 0, 'generated', 'test', now()::TIMESTAMP)")
        case.con.execute("INSERT INTO flows BY NAME SELECT * REPLACE (flow_id + 100000 AS flow_id, 2 AS capture_id, "
                         "first_ts + INTERVAL 1 DAY AS first_ts, last_ts + INTERVAL 1 DAY AS last_ts) "
                         "FROM flows WHERE capture_id = 1")
    lake = tmp_path / "case" / "lake"  # beside the single file: the same forensics.toml
    convert_to_lake(single, lake)
    return single, lake


def _rows(con, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall())


def test_lake_flows_read_in_place(spark, tmp_path, monkeypatch):
    single, lake = _two_capture_lake(tmp_path, monkeypatch)
    with Case.open(lake, read_only=True) as case:
        paths, _ = parquet_paths(case.con, str(lake), "flows")
        listed = {r[0] for r in case.con.execute("SELECT path FROM lake_parts WHERE table_name = 'flows'").fetchall()}
        assert {str(Path(p).relative_to(lake.resolve())) for p in paths} == listed
        assert {r[0] for r in case.con.execute("SELECT DISTINCT capture_id FROM lake_parts").fetchall()} == {1, 2}
        duck = _rows(case.con, "SELECT flow_id, capture_id, first_ts, src_ip, dst_ip, dst_port, bytes FROM flows")
        frame = read_table(spark, case.con, str(lake), "flows")
        got = sorted((r.flow_id, r.capture_id, r.first_ts, int.from_bytes(r.src_ip, "big"),
                      int.from_bytes(r.dst_ip, "big"), r.dst_port, r.bytes)
                     for r in frame.select("flow_id", "capture_id", "first_ts", "src_ip", "dst_ip", "dst_port",
                                           "bytes").collect())
    assert len(duck) == 600
    assert got == duck
    # through the engine's connection: the lake's flows (read in place) joined with a catalog table (exported)
    sql = ("SELECT c.path, f.capture_id, count(*), sum(f.bytes), count(DISTINCT f.src_ip), min(f.first_ts) "
           "FROM flows f JOIN captures c ON c.capture_id = f.capture_id GROUP BY ALL")
    with Case.open(single, read_only=True) as case:
        oracle = _rows(case.con, sql)
    with Case.open(lake, read_only=True) as case:
        con = SparkConnection(case.con, str(lake), spark)
        try:
            on_spark = sorted(con.execute(sql).fetchall())
        finally:
            con.close()
    assert [r[:2] for r in oracle] == [("gen", 1), ("gen2", 2)]
    assert on_spark == oracle
    exported = {p.name for p in Path(str(lake) + ".spark").rglob("*.parquet")}
    assert exported == {"captures.parquet"}


def test_compacted_lake_read_in_place(spark, tmp_path, monkeypatch):
    """Small captures compacted into shared files (capture_id a column there, forensics/store/lake_compact.py):
    Spark reads both trees and gets DuckDB's rows."""
    from forensics.store.lake_compact import compact

    _, lake = _two_capture_lake(tmp_path, monkeypatch)
    with Case.open(lake) as case:
        compact(case)
    with Case.open(lake, read_only=True) as case:
        shared = case.con.execute("SELECT count(*) FROM lake_parts WHERE path LIKE 'shared/flows/%'").fetchone()[0]
        duck = _rows(case.con, "SELECT flow_id, capture_id, first_ts, dst_port, bytes FROM flows")
        frame = read_table(spark, case.con, str(lake), "flows")
        got = sorted(tuple(r) for r in frame.select("flow_id", "capture_id", "first_ts", "dst_port",
                                                     "bytes").collect())
    assert shared >= 1 and len(duck) == 600
    assert got == duck


def test_address_halves_to_binary_all_bits(spark, tmp_path):
    """The view's BINARY of an address is its 16 bytes big-endian for halves on both sides of 2^63 (the signed
    reinterpretation of Spark's DECIMAL(20,0) reading of UINT64), and Spark orders the BINARY as the numbers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from forensics.spark.source import project_view

    edges = [0, 1, 0xFFFF_0A00_0001, (1 << 63) - 1, 1 << 63, (1 << 63) + 1, 0xFE80 << 48, (1 << 64) - 1]
    pairs = [(hi, lo) for hi in edges for lo in edges] + [(None, None)]
    path = tmp_path / "addresses.parquet"
    pq.write_table(pa.table({"n": pa.array(range(len(pairs)), pa.int64()),
                             "a_hi": pa.array([p[0] for p in pairs], pa.uint64()),
                             "a_lo": pa.array([p[1] for p in pairs], pa.uint64())}), path)
    frame = project_view(spark, spark.read.parquet(str(path)), [("n", "BIGINT"), ("a", "UHUGEINT")])
    got = {r.n: r.a for r in frame.collect()}
    want = {n: None if hi is None else ((hi << 64) | lo).to_bytes(16, "big") for n, (hi, lo) in enumerate(pairs)}
    assert got == want
    ordered = [r.n for r in frame.where("a IS NOT NULL").orderBy("a").collect()]
    assert ordered == sorted(range(len(pairs) - 1), key=lambda n: (pairs[n][0] << 64) | pairs[n][1])
