"""The lake against a single file for the commands outside `forensics report` (issue 17: "no slower than on a
single-file case of the same data, ratio within 1.1x, same run"): check, flows, packets, sql, carve.

    python -m bench.lake_cmds --preset p2m                # the cases of `python -m bench.lake --work W`
    python -m bench.lake_cmds --preset b10m --rounds 3    # /tmp/speed/b10m: lake/ and bench.duckdb
    python -m bench.lake_cmds --lake L --single S --work W --baseline /tmp/base --only check

Both cases are copied into --work first (`forensics check` writes alerts; the originals stay as they were). Each
command runs as its own process (`forensics ... --db CASE`), on the lake and on the single file in turn (and, with
--baseline, the same with the forensics of another source tree: before/after in one run), --rounds times,
interleaved; printed: medians of wall and CPU seconds (user + system of the process and its threads, from wait4:
on a shared machine the steadier figure), the ratios lake / single file, the load average at start and end, and
whether the outputs are the same on both layouts (and both trees): stdout, with check's per-check seconds left
out, and the alert ids of its table; after the rounds, check's stored alerts (`forensics alerts --json`, ids left out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.procenv import forensics_env

ROOT = Path(__file__).resolve().parent.parent
FORENSICS = [sys.executable, "-c", "import sys; sys.argv[0] = 'forensics'; from forensics.cli import main; main()"]

# label -> forensics arguments (without --db); "check" is all built-in checks.
FLOOR = {"floor: sql 'SELECT 1' (start, open, context)": ["sql", "--csv", "SELECT 1"]}
P2M = {**FLOOR,
    "check (all)": ["check", "--quiet"],
    "flows --sort bytes -c 20": ["flows", "--sort", "bytes", "-c", "20"],
    "flows --filter 'tcp dst port 445' (all, csv)": ["flows", "--filter", "tcp dst port 445", "--csv"],
    "packets --count --filter 'tcp dst port 445'": ["packets", "--count", "--filter", "tcp dst port 445"],
    "packets --count --filter 'net 10.1.20.0/24 and tcp'": ["packets", "--count", "--filter",
                                                             "net 10.1.20.0/24 and tcp"],
    "packets --filter 'udp port 53' -c 200": ["packets", "--filter", "udp port 53", "-c", "200"],
    "sql proto aggregate (flows)": ["sql", "--csv", "SELECT ip_proto, count(*) AS n, sum(bytes) AS b, "
                                    "min(first_ts) AS lo, max(last_ts) AS hi FROM flows GROUP BY 1 ORDER BY 1"],
    "sql ports aggregate (packets)": ["sql", "--csv", "SELECT dst_port, count(*) AS n, sum(ip_len) AS b FROM packets "
                                      "WHERE ip_proto = 6 GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 20"],
    "carve --filter 'tcp dst port 445'": ["carve", "--filter", "tcp dst port 445", "-w", "{out}/carved.pcap"],
}
B10M = {**FLOOR,
    "flows --sort bytes -c 20": ["flows", "--sort", "bytes", "-c", "20"],
    "flows --filter 'tcp dst port 445' -c 1000": ["flows", "--filter", "tcp dst port 445", "-c", "1000"],
    "flows --from/--to one hour (csv)": ["flows", "--from", "2016-09-06T10:00:00Z", "--to", "2016-09-06T11:00:00Z",
                                         "--csv"],
    "sql proto aggregate (flows)": P2M["sql proto aggregate (flows)"][:],
    "sql top dst_port by bytes (flows)": ["sql", "--csv", "SELECT dst_port, sum(bytes) AS b FROM flows "
                                          "WHERE ip_proto = 6 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20"],
}
PRESETS = {"p2m": (Path("/tmp/s9-lakecmds/p2m/lake"), Path("/tmp/s9-lakecmds/p2m/single.duckdb"), P2M),
           "b10m": (Path("/tmp/speed/b10m/lake"), Path("/tmp/speed/b10m/bench.duckdb"), B10M)}
_SECONDS = re.compile(r"\(\d+\.\d+ s\)")
_ALERT_ID = re.compile(r"(?m)^ *\d+  ")  # check's table: an alert's id first (a new id each run)


def _run(cmd: list[str], tree: Path) -> dict:
    env = forensics_env(tree)  # bench/procenv.py
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=tree)  # cwd: this tree's forensics
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        rc = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read()
        if rc not in (0, 1):
            raise SystemExit(f"{' '.join(cmd[3:8])}: exit {rc}: {err.read().decode(errors='replace')[-500:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "out": text, "rc": rc}


def _digest(label: str, text: bytes, out: Path) -> str:
    if label.startswith("check"):
        text = _ALERT_ID.sub("", _SECONDS.sub("", text.decode(errors="replace"))).encode()
    return hashlib.sha256(text.replace(str(out).encode(), b"OUT")).hexdigest()[:16]


def _alerts(db: Path, tree: Path) -> str:
    rows = json.loads(_run([*FORENSICS, "alerts", "--json", "--db", str(db)], tree)["out"] or b"[]")
    if isinstance(rows, dict):
        rows = rows.get("response", {}).get("result", {}).get("data", rows)
    rows = rows.get("alerts", rows) if isinstance(rows, dict) else rows
    plain = sorted(json.dumps({k: v for k, v in r.items() if k != "id"}, sort_keys=True) for r in rows)
    return f"{len(plain)} alerts, " + hashlib.sha256("\n".join(plain).encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="p2m")
    ap.add_argument("--lake", type=Path, help="a lake case (default: the preset's)")
    ap.add_argument("--single", type=Path, help="a single-file case of the same data (default: the preset's)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/lake-cmds"), help="where the cases are copied to")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", action="append", help="labels containing this text (repeatable)")
    ap.add_argument("--baseline", type=Path, help="also run the forensics of this source tree (before/after)")
    ap.add_argument("--no-copy", action="store_true", help="reuse the copies in --work")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    lake, single, commands = PRESETS[args.preset]
    lake, single = args.lake or lake, args.single or single
    if args.only:
        commands = {k: v for k, v in commands.items() if any(o in k for o in args.only)}
    work = args.work
    cases = {"lake": work / "lake", "single": work / "single.duckdb"}
    if not args.no_copy:
        for src in (lake, single):
            if not src.exists():
                raise SystemExit(f"{src}: missing (p2m: python -m bench.lake --work /tmp/s9-lakecmds/p2m --rounds 1)")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        shutil.copytree(lake, cases["lake"])
        shutil.copy2(single, cases["single"])
    (work / "out").mkdir(exist_ok=True)
    trees = {"": ROOT, **({"base ": args.baseline} if args.baseline else {})}
    load0 = os.getloadavg()
    t0 = time.strftime("%H:%M:%S", time.gmtime())
    results: dict = {}
    for label, argv_ in commands.items():
        cmd_args = [a.replace("{out}", str(work / "out")) for a in argv_]
        runs: dict[str, list[dict]] = {}
        for _ in range(args.rounds):
            for tname, tree in trees.items():
                for kind, db in cases.items():
                    r = _run([*FORENSICS, *cmd_args, "--db", str(db)], tree)
                    for written in sorted((work / "out").iterdir()):  # carve: the bytes written, then gone
                        r["out"] += f"\n{written.name} {hashlib.sha256(written.read_bytes()).hexdigest()}".encode()
                        written.unlink()
                    runs.setdefault(f"{tname}{kind}", []).append(r)
        row: dict = {}
        for key, rs in runs.items():
            row[key] = {"wall_s": round(statistics.median(r["wall_s"] for r in rs), 3),
                        "cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 3),
                        "cpu_runs": [round(r["cpu_s"], 2) for r in rs],
                        "out": _digest(label, rs[-1]["out"], work / "out"), "rc": rs[-1]["rc"]}
        for tname in trees:
            a, b = row[f"{tname}lake"], row[f"{tname}single"]
            row[f"{tname}ratio"] = {"wall": round(a["wall_s"] / b["wall_s"], 2),
                                    "cpu": round(a["cpu_s"] / b["cpu_s"], 2)}
        row["same_output"] = len({v["out"] for k, v in row.items() if "out" in v}) == 1
        results[label] = row
    if any(k.startswith("check") for k in commands):
        results["alerts after the checks"] = {f"{t}{kind}": _alerts(db, tree) for t, tree in trees.items()
                                              for kind, db in cases.items()}
    doc = {"lake": str(lake), "single": str(single), "rounds": args.rounds, "utc": [t0, time.strftime(
        "%H:%M:%S", time.gmtime())], "load_average": [list(load0), list(os.getloadavg())], "results": results}
    if args.json:
        print(json.dumps(doc, indent=2))
        return doc
    print(f"{lake} against {single}; medians of {args.rounds} interleaved rounds; UTC {doc['utc'][0]}-{doc['utc'][1]}, "
          f"load average {' '.join(f'{x:.2f}' for x in load0)} -> {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, row in results.items():
        if label.startswith("alerts"):
            print(f"{label}: " + "; ".join(f"{k} {v}" for k, v in row.items())
                  + ("" if len(set(row.values())) == 1 else "  ALERTS DIFFER"))
            continue
        for tname in trees:
            a, b, q = row[f"{tname}lake"], row[f"{tname}single"], row[f"{tname}ratio"]
            print(f"{(tname + label):<58} wall lake {a['wall_s']:7.3f} single {b['wall_s']:7.3f} ratio {q['wall']:.2f}"
                  f"   cpu lake {a['cpu_s']:7.3f} single {b['cpu_s']:7.3f} ratio {q['cpu']:.2f}"
                  + ("" if row["same_output"] else "  OUTPUTS DIFFER"))
    return doc


if __name__ == "__main__":
    main()
