"""In-process report timings on an imported case: `python -m bench.reports DB [--repeat 5]`.

Times (first run and median of --repeat) of: the project's top_talkers report (top 10, 5-minute bins),
and two plain SQL queries on the packets table: top-10 sources by bytes, and the 5-minute bps series.
Prints one JSON line.
"""

import argparse
import json
import statistics
import time

TOP10_SQL = """SELECT src_ip, sum(wirelen) AS bytes FROM packets GROUP BY src_ip ORDER BY bytes DESC LIMIT 10"""
BPS_SQL = """SELECT time_bin(ts, 300) AS bin, sum(wirelen) * 8 / 300.0 AS bps FROM packets GROUP BY bin ORDER BY bin"""


def _timed(fn, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return {"first_s": round(runs[0], 4), "median_s": round(statistics.median(runs), 4)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("db")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    from forensics.reports import run_report
    from forensics.store import Case

    out: dict = {}
    with Case.open(args.db, read_only=True) as case:
        out["open_s"] = round(time.perf_counter() - t0, 4)
        out["packets_rows"] = case.con.execute("SELECT count(*) FROM packets").fetchone()[0]
        out["report_top_talkers_5min"] = _timed(
            lambda: run_report(case, "top_talkers", {"top": 10, "bin": 300}), args.repeat)
        out["sql_top10_sources"] = _timed(lambda: case.con.execute(TOP10_SQL).fetchall(), args.repeat)
        out["sql_bps_5min"] = _timed(lambda: case.con.execute(BPS_SQL).fetchall(), args.repeat)
    out["process_s"] = round(time.perf_counter() - t0, 4)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
