"""The report benchmarks' generated cases (bench/reports_nfdump.py, bench/spark.py): the lake written chunk by chunk
through the store holds the flows the single-file case holds, with each flow's home bits, and a report reads alike
on both. (A fresh `python -m bench.reports_nfdump --layout lake` failed here once the flows parts had the two home
columns: the loader appended them a second time.)"""

from __future__ import annotations

import duckdb
import numpy as np

from bench.reports_nfdump import generate, load_case
from bench.spark import load_lake
from forensics.reports import run_report
from forensics.store import Case, flow_rollup, lake_stats

FLOWS = 3_000


def test_lake_and_single_file_bench_cases_answer_alike(tmp_path, monkeypatch):
    # thresholds lowered: both cases get (and protocol_mix reads) the 5-minute rollups an import of as many flows as
    # the bench's would (forensics/store/flow_rollup.py)
    monkeypatch.setattr(flow_rollup, "ROLLUP_MIN_ROWS", 1_000)
    monkeypatch.setattr(lake_stats, "HOME_BITS_MIN_ROWS", 1_000)
    load_lake(tmp_path / "lake", FLOWS, 1_000)  # three chunks, seeds 1, 2, 3
    single = tmp_path / "single.duckdb"
    chunks = [generate(1_000, seed=1 + k) for k in range(3)]
    monkeypatch.setenv("FORENSICS_LAYOUT", "file")  # as the bench's --layout file
    load_case(single, {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]})

    monkeypatch.delenv("FORENSICS_LAYOUT")

    parts = str(tmp_path / "lake" / "flows" / "**" / "*.parquet")
    with duckdb.connect() as con:
        rows, src_home, dst_home = con.execute(
            f"SELECT count(*), count(src_home), count(dst_home) FROM read_parquet('{parts}') "
            "WHERE capture_id = 1").fetchone()  # (hive capture_id=1; the empty part is capture 0)
    assert rows == FLOWS and src_home == FLOWS and dst_home == FLOWS

    results = []
    for path in (tmp_path / "lake", single):
        with Case.open(path, read_only=True) as case:
            assert case.con.execute("SELECT count(*) FROM flows").fetchone()[0] == FLOWS
            assert case.con.execute("SELECT sum(flows) FROM flow_rollups").fetchone()[0] == FLOWS
            report = run_report(case, "protocol_mix", {})
            results.append([[(i.names, i.values) for i in s.items] for s in report.sections])
    assert results[0] == results[1] and any(results[0])
