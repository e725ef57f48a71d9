"""Benchmark: the shipped flow reports over N generated flows (default 10 million), next to nfdump answering the
same question on the same records in nfcapd form, in the same run.

    python -m bench.reports_nfdump [--flows 10000000] [--rounds 3] [--keep DIR] [--layout file,lake] [--only W]

The records are generated once (numpy, seeded), loaded into a fresh single-file case (DuckDB, via Arrow) and
sent as NetFlow v5 datagrams over loopback to a local `nfcapd` (the only way nfdump's tools take foreign
records in), which writes the nfcapd file nfdump reads. NetFlow v5 is IPv4-only, so all flows are IPv4.
`--layout lake` (or file,lake) also writes the same flows as a lake case (docs/lake.md; bench/spark.py's
load_lake) and times every report on each layout against the same nfdump runs.

Each pair (a forensics report and the nfdump command(s) answering the same question) runs once per round, the
rounds interleaved (forensics, nfdump, next pair, ...) so that load on a shared machine hits both sides alike;
the figures are medians over the rounds. Every top-N item and its byte total is compared with nfdump's (a
difference, e.g. datagrams dropped by nfcapd, is printed), not only the sum.
Pairs: WannaCry src->dst section = `nfdump -A srcip,dstip,proto,dstport`; its dst IP/output interface section =
`nfdump -A dstip,outif`; the attribute report src_ip,dst_ip,dst_port = `nfdump -A srcip,dstip,dstport`;
top_talkers = `nfdump -s ip/bytes` (an address as source or destination: in + out); protocol_mix = `nfdump -s
proto/bytes`; each ordered by bytes, top 10. top_ports' ports section (`--param sections=ports`): next to `nfdump
-s dstport/bytes` over all flows, timed only (its port is the flow's service port per protocol: for exported
flows the well-known or lower-numbered side, so 3389 and 8080 flows with a lower source port count for that
port, where nfdump sums destination ports over all protocols), and on the flows where the two agree (`--filter
'tcp and dst portrange 0-1023 and src portrange 1024-65535'` = nfdump's `proto tcp and dst port < 1024 and src
port > 1023`), items compared; the report gives a peers column there too (distinct clients per port, which `-s
dstport` does not give), so the like-for-like pair, the one the target is read on, is that filtered section
against the two nfdump commands that give all of its figures: `-s dstport/bytes` and `-A dstport,srcip` (one
line per port and client, counted per port); bytes and peers of every top item compared (`--no-peers` leaves
this pair out: nfdump's second command takes ~6 s a round). internet_summary = seven `nfdump -s proto/bytes`
runs, one per category with the default config's home and special blocks as nfdump filters, summed. origin_as =
`nfdump -s srcas/bytes` + `-s dstas/bytes` (in + out; the generated records carry AS 0, which is origin_as' "-").
top_ports whole (with its clients section, which ranks every client by distinct service ports reached and has no
nfdump command) is timed alone (`--no-solo` leaves it out).
The pairs above time the report in this process (`run_report` on an open case) against nfdump's process. `--cli`
adds the same pairs as a user runs them: `forensics report NAME --db CASE -F json --fresh ...` as its own process
(interpreter start, imports, case open, the report, its storing as a run, the JSON), interleaved with nfdump's
commands again, medians of --rounds. subnetwork_compare and filter_compare need a case
config with subnetworks/filters and mac_addresses needs packets; none is timed here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procenv import forensics_env  # noqa: E402
from forensics.ingest import case_home  # noqa: E402
from forensics.reports import run_report  # noqa: E402
from forensics.store import Case  # noqa: E402
from forensics.store.flow_rollup import write_capture_rollup  # noqa: E402

BASE = 1_473_120_000  # 2016-09-06 00:00:00 UTC
DAY = 86_400
WANNACRY_PORTS = (135, 137, 138, 139, 445)


def generate(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    """n IPv4 flows over one day: 60 % from home (10/8), half of them to the internet, ports skewed."""
    rng = np.random.default_rng(seed)
    home = (10 << 24) + rng.integers(0, 4096, n, dtype=np.uint32)
    internet = (13 << 24) + rng.integers(0, 1 << 20, n, dtype=np.uint32)   # 13.0.0.0/8: public
    from_home = rng.random(n) < 0.6
    to_home = rng.random(n) < 0.4
    src = np.where(from_home, home, internet).astype(np.uint32)
    dst = np.where(to_home, (10 << 24) + rng.integers(0, 4096, n, dtype=np.uint32), internet[::-1]).astype(np.uint32)
    ports = np.array([445, 139, 135, 80, 443, 53, 22, 3389, 8080, 25], dtype=np.uint16)
    dport = np.where(rng.random(n) < 0.7, ports[rng.integers(0, len(ports), n)],
                     rng.integers(1024, 65535, n)).astype(np.uint16)
    return {
        "src": src, "dst": dst,
        "sport": rng.integers(1024, 65535, n).astype(np.uint16), "dport": dport,
        "proto": np.where(rng.random(n) < 0.8, 6, 17).astype(np.uint8),
        "start": rng.integers(0, DAY - 60, n).astype(np.uint32),      # seconds after BASE
        "packets": rng.integers(1, 1000, n).astype(np.uint32),
        "bytes": rng.integers(40, 1_500_000, n).astype(np.uint32),
        "out_if": rng.integers(1, 5, n).astype(np.uint16),
    }


def load_case(path: Path, f: dict[str, np.ndarray]) -> float:
    t = time.perf_counter()
    with Case.open(path) as case:
        case.con.execute("INSERT INTO captures (capture_id, path, sha256, size_bytes, format, importer_version, "
                         "imported_at) VALUES (1, 'bench', 'bench', 0, 'generated', 'bench', now()::TIMESTAMP)")
        case.con.register("_gen", pa.table(f))
        case.con.execute("""
            INSERT INTO flows (flow_id, source, capture_id, first_ts, last_ts, ip_version, src_ip, dst_ip, ip_proto,
                               src_port, dst_port, out_if, packets, bytes, sampling_rate, packets_scaled, bytes_scaled)
            SELECT row_number() OVER (), 'netflow_v5', 1, make_timestamp((start::BIGINT + $base) * 1000000),
                   make_timestamp((start::BIGINT + $base + 1) * 1000000), 4,
                   281470681743360::UHUGEINT + src, 281470681743360::UHUGEINT + dst, proto, sport, dport, out_if,
                   packets, bytes, 1, packets, bytes
            FROM _gen""", {"base": BASE})
        case.con.unregister("_gen")
        # the 5-minute rollup of the capture's exported flows, as an import writes it (forensics/store/flow_rollup.py)
        home = case_home(case)
        if home is not None:
            write_capture_rollup(case.con, 1, len(f["src"]), home)
    return time.perf_counter() - t


def netflow_v5(f: dict[str, np.ndarray], lo: int, hi: int, seq: int) -> bytes:
    count = hi - lo
    uptime_ms = (DAY + 1) * 1000
    header = struct.pack("!HHIIIIBBH", 5, count, uptime_ms, BASE + DAY, 0, seq, 0, 0, 0)
    rec = np.zeros(count, dtype=[("src", ">u4"), ("dst", ">u4"), ("nexthop", ">u4"), ("input", ">u2"),
                                 ("output", ">u2"), ("pkts", ">u4"), ("octets", ">u4"), ("first", ">u4"),
                                 ("last", ">u4"), ("sport", ">u2"), ("dport", ">u2"), ("pad1", "u1"),
                                 ("flags", "u1"), ("proto", "u1"), ("tos", "u1"), ("src_as", ">u2"),
                                 ("dst_as", ">u2"), ("src_mask", "u1"), ("dst_mask", "u1"), ("pad2", ">u2")])
    s = slice(lo, hi)
    rec["src"], rec["dst"], rec["output"] = f["src"][s], f["dst"][s], f["out_if"][s]
    rec["pkts"], rec["octets"] = f["packets"][s], f["bytes"][s]
    rec["first"] = (f["start"][s].astype(np.uint64) + 1) * 1000
    rec["last"] = (f["start"][s].astype(np.uint64) + 2) * 1000
    rec["sport"], rec["dport"], rec["proto"] = f["sport"][s], f["dport"][s], f["proto"][s]
    return header + rec.tobytes()


def write_nfcapd(folder: Path, f: dict[str, np.ndarray]) -> tuple[float, Path]:
    """Send the records to a local nfcapd as NetFlow v5; return (seconds, the nfcapd file)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    t = time.perf_counter()
    collector = subprocess.Popen(["nfcapd", "-w", str(folder), "-p", str(port), "-b", "127.0.0.1",
                                  "-B", str(64 << 20), "-t", "3600"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        n = len(f["src"])
        for i, lo in enumerate(range(0, n, 30)):
            sock.sendto(netflow_v5(f, lo, min(lo + 30, n), lo), ("127.0.0.1", port))
            if i % 200 == 199:
                time.sleep(0.002)  # let the collector keep up on loopback
        sock.close()
        time.sleep(2.0)
    finally:
        collector.terminate()  # nfcapd flushes and closes its file on SIGTERM
        collector.wait(timeout=60)
    files = sorted(p for p in folder.rglob("nfcapd.*") if not p.name.startswith("nfcapd.current"))
    if not files:
        raise SystemExit(f"nfcapd wrote no file in {folder}")
    return time.perf_counter() - t, files[-1]


def cpu(who: int) -> float:
    """User + system CPU seconds so far of this process (with its threads) or of its waited-for children."""
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one command."""
    c = cpu(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    # a forensics command (--cli) runs from bytecode as an installed one does (bench/procenv.py); nfdump: no effect
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=forensics_env()).stdout
    return time.perf_counter() - t, cpu(resource.RUSAGE_CHILDREN) - c, out


PROTO = {"6": "tcp", "17": "udp", "TCP": "tcp", "UDP": "udp"}


def nfdump_rows(out: str) -> list[tuple[tuple[str, ...], int]]:
    """`-o fmt:... %byt` lines -> [((key fields...), bytes)], in nfdump's order."""
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if not parts:
            continue
        key = tuple(PROTO.get(p, p) for p in parts[:-1])
        rows.append((key, int(parts[-1])))
    return rows


_STAT_COUNTS = re.compile(r"(\d+)\(\s*[\d.]+\)")


def nfdump_stat_rows(out: str) -> list[tuple[tuple[str, ...], int]]:
    """`-s KEY/bytes` lines (first seen, duration, proto, key, flows(%), packets(%), bytes(%), ...) ->
    [((key,), bytes)], in nfdump's order."""
    rows = []
    for line in out.splitlines():
        parts = line.split()
        counts = _STAT_COUNTS.findall(line)
        if len(parts) < 5 or len(counts) < 3:
            continue
        rows.append(((PROTO.get(parts[4], parts[4]),), int(counts[2])))
    return rows


def report_rows(result: object, section: str) -> list[tuple[tuple[str, ...], int]]:
    """A report section's top-N items (Others left out) -> [((names...), bytes)]."""
    sec = next(s for s in result.sections if s.name == section)
    b = sec.measures.index("bytes")
    return [(tuple("0" if n is None else n for n in it.names), int(it.values[b])) for it in sec.items
            if not it.others]


def report_peers(result: object, section: str) -> list[tuple[tuple[str, ...], int, int]]:
    """top_ports' ports section -> [((port,), bytes, peers)] of its top-N items (compared with ports_peers)."""
    sec = next(s for s in result.sections if s.name == section)
    b, p = sec.measures.index("bytes"), sec.measures.index("peers")
    return [((it.names[1],), int(it.values[b]), int(it.values[p])) for it in sec.items if not it.others]


def ports_peers(outs: list[str]) -> list[tuple[tuple[str, ...], int, int]]:
    """`-s dstport/bytes` and `-A dstport,srcip -o fmt:%dp` (one line per port and client) -> [((port,), bytes,
    distinct clients)] in the order of the first."""
    peers: dict[str, int] = {}
    for line in outs[1].splitlines():
        port = line.strip()
        if port.isdigit():
            peers[port] = peers.get(port, 0) + 1
    return [(key, b, peers.get(key[0], 0)) for key, b in nfdump_stat_rows(outs[0])]


def compare(what: str, ours: list, theirs: list) -> str:
    if ours == theirs:
        return f"{what}: {len(ours)} items, identical keys, order and values"
    if sorted(ours) == sorted(theirs) and [x[1:] for x in ours] == [x[1:] for x in theirs]:
        return f"{what}: {len(ours)} items, identical keys and bytes (equal byte counts listed in another order)"
    diff = [f"  #{i + 1}: forensics {a} / nfdump {b}" for i, (a, b) in
            enumerate(zip(ours + [None] * (len(theirs) - len(ours)), theirs + [None] * (len(ours) - len(theirs)),
                          strict=True)) if a != b]
    return f"{what}: DIFFERENT\n" + "\n".join(diff)


# The home networks and special (never internet) IPv4 blocks of the default case config (forensics/config.py
# DEFAULT_HOME, queries/reports/_context.sql is_special) as nfdump filters, for internet_summary's categories.
HOME_V4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
SPECIAL_V4 = ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3")  # 224/4 + 240/4 (255.255.255.255 too)
HOME_BROADCASTS = ("10.255.255.255", "172.31.255.255", "192.168.255.255", "100.127.255.255")


def _home(end: str) -> str:
    return "(" + " or ".join(f"{end} net {n}" for n in HOME_V4) + ")"


def _internet(end: str) -> str:
    special = [f"{end} net {n}" for n in SPECIAL_V4] + [f"{end} ip {a}" for a in HOME_BROADCASTS]
    return f"(not {_home(end)} and not ({' or '.join(special)}))"


# internet_summary's seven categories (queries/reports/internet_summary.sql) as nfdump filters, in rank order
SUMMARY_FILTERS = [
    ("Into Home", _home("dst")),
    ("Out of Home", _home("src")),
    ("Internet to Home", f"{_internet('src')} and {_home('dst')}"),
    ("Home to Internet", f"{_home('src')} and {_internet('dst')}"),
    ("Internet to Internet", f"{_internet('src')} and {_internet('dst')}"),
    ("Home to Home", f"{_home('src')} and {_home('dst')}"),
    ("Local (multicast, broadcast, link-local)",
     f"not ({_home('src')} or {_internet('src')}) or not ({_home('dst')} or {_internet('dst')})"),
]


def ports_only(rows: list) -> list:
    """top_ports' (proto, port) items -> (port,): compared with `nfdump -s dstport` on one protocol."""
    return [((key[1],), b) for key, b in rows]


def asn_only(rows: list) -> list:
    """origin_as' (asn, as_name) items -> (asn,); no AS ("-", None) is nfdump's AS 0."""
    return [((key[0],), b) for key, b in rows]


def summed_runs(outs: list[str]) -> list:
    """internet_summary's peer: one `-s proto/bytes` run per category -> [((category,), bytes summed)]."""
    return [((name,), sum(b for _, b in nfdump_stat_rows(out))) for (name, _), out in
            zip(SUMMARY_FILTERS, outs, strict=True)]


def merged_as(outs: list[str]) -> list:
    """origin_as' peer: `-s srcas/bytes` + `-s dstas/bytes` -> [((asn,), in + out bytes)] by bytes, top 10."""
    total: dict[tuple, int] = {}
    for out in outs:
        for key, b in nfdump_stat_rows(out):
            total[key] = total.get(key, 0) + b
    return sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:10]


@contextlib.contextmanager
def layout_env(layout: str) -> Iterator[None]:
    """FORENSICS_LAYOUT set to `layout` while a new case is made (the store reads it on create)."""
    before = os.environ.get("FORENSICS_LAYOUT")
    os.environ["FORENSICS_LAYOUT"] = layout
    try:
        yield
    finally:
        if before is None:
            del os.environ["FORENSICS_LAYOUT"]
        else:
            os.environ["FORENSICS_LAYOUT"] = before


def open_cases(work: Path, layouts: list[str], flows: int) -> dict[str, Path]:
    """The bench case per layout: `bench.duckdb` (single file, loaded here by INSERT) and `lake/` (a lake case
    written through the store's Stage, bench/spark.py's load_lake: the same generated flows, seed 1)."""
    paths = {}
    for layout in layouts:
        if layout == "file":
            paths[layout] = work / "bench.duckdb"
        else:
            root = work / "lake"
            if not root.exists():
                from bench.spark import load_lake  # bench.spark imports this module: imported when needed

                with layout_env("lake"):
                    secs, cpu_secs = load_lake(root, flows, flows)
                print(f"lake case written in {secs:.1f} s ({cpu_secs:.1f} s CPU): {root}")
            paths[layout] = root
    return paths


def print_pairs(title: str, whats: list[str], layouts: list[str], ours: tuple[dict, dict],
                theirs: tuple[dict, dict]) -> None:
    """One table: per pair and layout, our median wall and CPU against nfdump's, and the ratios."""
    print(f"{title:<50} {'forensics':>10} {'nfdump':>8} {'ratio':>6}   {'CPU: forensics':>14} {'nfdump':>7} "
          f"{'ratio':>6}")
    for what in whats:
        b, cb = statistics.median(theirs[0][what]), statistics.median(theirs[1][what])
        for layout in layouts:
            a, ca = statistics.median(ours[0][(what, layout)]), statistics.median(ours[1][(what, layout)])
            name = what + (f" [{layout}]" if len(layouts) > 1 else "")
            print(f"{name:<50} {a:>9.2f}s {b:>7.2f}s {a / b:>6.2f}   {ca:>13.2f}s {cb:>6.2f}s {ca / cb:>6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="keep the case(s) and nfcapd file here (reused when present)")
    ap.add_argument("--layout", default="file",
                    help="case layout(s) to time, comma-separated: file (single DuckDB file), lake (docs/lake.md); "
                         "default file")
    ap.add_argument("--no-peers", dest="peers", action="store_false",
                    help="leave out top_ports' ports section with its peers column (distinct clients per port) "
                         "against the nfdump commands that give the same figures: -s dstport and -A dstport,srcip")
    ap.add_argument("--only", help="time only the pairs whose name contains one of these comma-separated words")
    ap.add_argument("--cli", action="store_true",
                    help="also time each report as a `forensics report` process (start-up, open, store the run)")
    ap.add_argument("--no-solo", dest="solo", action="store_false",
                    help="leave out the reports without an nfdump peer (timed alone)")
    args = ap.parse_args()
    layouts = [x.strip() for x in args.layout.split(",") if x.strip()]
    if not layouts or any(x not in ("file", "lake") for x in layouts):
        raise SystemExit(f"--layout {args.layout!r}: use file, lake or file,lake")
    if shutil.which("nfcapd") is None or shutil.which("nfdump") is None:
        raise SystemExit("nfdump tools missing: apt-get install -y nfdump")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-reports-"))
    work.mkdir(parents=True, exist_ok=True)
    existing = sorted(p for p in (work / "nfcapd").rglob("nfcapd.*") if not p.name.startswith("nfcapd.current")) \
        if args.keep and (work / "bench.duckdb").exists() else []
    if existing:  # a kept case and nfcapd file (same --flows and seed) are reused as they are
        nffile = existing[-1]
        print(f"reusing {work / 'bench.duckdb'} and {nffile}")
    else:
        f = generate(args.flows)
        print(f"{args.flows:,} flows generated")
        with layout_env("file"):
            secs = load_case(work / "bench.duckdb", f)
        print(f"case loaded in {secs:.1f} s")
        (work / "nfcapd").mkdir(exist_ok=True)
        secs, nffile = write_nfcapd(work / "nfcapd", f)
        print(f"nfcapd file written in {secs:.1f} s: {nffile}")
        del f
    cases = open_cases(work, layouts, args.flows)
    window = {"from": "2016-09-06T00:00:00Z", "to": "2016-09-07T00:00:00Z"}
    wc_filter = ("(src net 10.0.0.0/8) and not (dst net 10.0.0.0/8) and "
                 "((proto tcp or proto udp) and dst port in [135 137 138 139 445])")
    nf = ["nfdump", "-r", str(nffile), "-q", "-N", "-n", "10", "-O", "bytes"]
    stat = ["nfdump", "-r", str(nffile), "-q", "-N", "-n", "10"]
    # the flows whose service port is their destination port, on one protocol: top_ports' ports section and
    # `nfdump -s dstport` answer the same question there (a lower destination than source port below 1024)
    svc_dst = ("tcp and dst portrange 0-1023 and src portrange 1024-65535", "proto tcp and dst port < 1024 and "
               "src port > 1023")
    # (what, report, params, report --filter, [(section, [nfdump commands], parse the outputs, our rows ->
    # comparable rows or None: timed only)]); the report runs once for all its sections, against the sum of the
    # nfdump commands
    pairs = [
        ("wannacry (4 sections; nfdump: 2 commands)", "wannacry", {}, None, [
            ("src_dst", [[*nf, "-A", "srcip,dstip,proto,dstport", "-o", "fmt:%sa %da %pr %dp %byt", wc_filter]],
             lambda o: nfdump_rows(o[0]), list),
            ("dst_out_if", [[*nf, "-A", "dstip,outif", "-o", "fmt:%da %out %byt", wc_filter]],
             lambda o: nfdump_rows(o[0]), list)]),
        ("attributes src_ip,dst_ip,dst_port", "attributes", {"attributes": "src_ip,dst_ip,dst_port"}, None, [
            ("attributes", [[*nf, "-A", "srcip,dstip,dstport", "-o", "fmt:%sa %da %dp %byt"]],
             lambda o: nfdump_rows(o[0]), list)]),
        ("top_talkers", "top_talkers", {}, None, [
            ("top_talkers", [[*stat, "-s", "ip/bytes"]], lambda o: nfdump_stat_rows(o[0]), list)]),
        ("protocol_mix", "protocol_mix", {}, None, [
            ("protocol_mix", [[*stat, "-s", "proto/bytes"]], lambda o: nfdump_stat_rows(o[0]), list)]),
        ("top_ports ports section (timing only)", "top_ports", {"sections": "ports"}, None, [
            ("ports", [[*stat, "-s", "dstport/bytes"]], lambda o: nfdump_stat_rows(o[0]), None)]),
        ("top_ports ports, tcp to a port < 1024 (timing only: no peers in nfdump's)", "top_ports",
         {"sections": "ports"}, svc_dst[0], [
            ("ports", [[*stat, "-s", "dstport/bytes", svc_dst[1]]], lambda o: nfdump_stat_rows(o[0]), ports_only)]),
        *([("top_ports ports and peers, tcp to a port < 1024 (nfdump: 2 commands)", "top_ports",
            {"sections": "ports"}, svc_dst[0], [
                ("ports", [[*stat, "-s", "dstport/bytes", svc_dst[1]],
                           ["nfdump", "-r", str(nffile), "-q", "-N", "-A", "dstport,srcip", "-o", "fmt:%dp",
                            svc_dst[1]]], ports_peers, report_peers)])] if args.peers else []),
        ("internet_summary (nfdump: 7 filtered runs)", "internet_summary", {}, None, [
            ("internet_summary", [[*stat, "-s", "proto/bytes", flt] for _, flt in SUMMARY_FILTERS], summed_runs,
             list)]),
        ("origin_as (nfdump: srcas + dstas)", "origin_as", {}, None, [
            ("origin_as", [[*stat, "-s", "srcas/bytes"], [*stat, "-s", "dstas/bytes"]], merged_as, asn_only)]),
    ]
    if args.only:
        words = [w.strip() for w in args.only.split(",") if w.strip()]
        pairs = [p for p in pairs if any(w in p[0] for w in words)]
    solo = ["top_ports"] if args.solo else []
    ours_t: dict[tuple[str, str], list[float]] = {}
    ours_c: dict[tuple[str, str], list[float]] = {}
    theirs_t: dict[str, list[float]] = {p[0]: [] for p in pairs}
    theirs_c: dict[str, list[float]] = {p[0]: [] for p in pairs}
    checks: dict[str, str] = {}
    opened = {layout: Case.open(path, read_only=True) for layout, path in cases.items()}
    try:
        for _ in range(args.rounds):
            for what, report, params, filter_expr, sections in pairs:
                results = {}
                for layout, case in opened.items():
                    c = cpu(resource.RUSAGE_SELF)
                    t = time.perf_counter()
                    results[layout] = run_report(case, report, {**window, **params}, filter_expr=filter_expr)
                    ours_t.setdefault((what, layout), []).append(time.perf_counter() - t)
                    ours_c.setdefault((what, layout), []).append(cpu(resource.RUSAGE_SELF) - c)
                total, total_cpu = 0.0, 0.0
                for section, cmds, parse, ours in sections:
                    outs = []
                    for cmd in cmds:
                        secs, cpu_secs, out = timed(cmd)
                        total += secs
                        total_cpu += cpu_secs
                        outs.append(out)
                    if ours is None:
                        continue
                    for layout, result in results.items():
                        label = f"{report} {section}" + (f" --filter {filter_expr!r}" if filter_expr else "") + \
                            (f" [{layout}]" if len(opened) > 1 else "")
                        if ours is report_peers:
                            label, rows = label + " (bytes and peers)", report_peers(result, section)
                        else:
                            rows = ours(report_rows(result, section))
                        checks[label] = compare(label, rows, parse(outs))
                theirs_t[what].append(total)
                theirs_c[what].append(total_cpu)
            for report in solo:
                for layout, case in opened.items():
                    c = cpu(resource.RUSAGE_SELF)
                    t = time.perf_counter()
                    run_report(case, report, dict(window))
                    ours_t.setdefault((report, layout), []).append(time.perf_counter() - t)
                    ours_c.setdefault((report, layout), []).append(cpu(resource.RUSAGE_SELF) - c)
    finally:
        for case in opened.values():
            case.close()
    cli_t: dict[tuple[str, str], list[float]] = {}
    cli_c: dict[tuple[str, str], list[float]] = {}
    cli_nf_t: dict[str, list[float]] = {p[0]: [] for p in pairs}
    cli_nf_c: dict[str, list[float]] = {p[0]: [] for p in pairs}
    if args.cli:  # after the in-process rounds: a writable open needs the cases closed
        for _ in range(args.rounds):
            for what, report, params, filter_expr, sections in pairs:
                for layout, path in cases.items():
                    cmd = [sys.executable, "-m", "forensics", "report", report, "--db", str(path), "-F", "json",
                           "--fresh", "--from", window["from"], "--to", window["to"],
                           *[x for k, v in params.items() for x in ("-p", f"{k}={v}")],
                           *(["-f", filter_expr] if filter_expr else [])]
                    secs, cpu_secs, _ = timed(cmd)
                    cli_t.setdefault((what, layout), []).append(secs)
                    cli_c.setdefault((what, layout), []).append(cpu_secs)
                total, total_cpu = 0.0, 0.0
                for _section, cmds, _parse, _ours in sections:
                    for cmd in cmds:
                        secs, cpu_secs, _ = timed(cmd)
                        total += secs
                        total_cpu += cpu_secs
                cli_nf_t[what].append(total)
                cli_nf_c[what].append(total_cpu)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
    print()
    print_pairs(f"what (median of {args.rounds} interleaved rounds)", [p[0] for p in pairs], list(opened),
                (ours_t, ours_c), (theirs_t, theirs_c))
    for report in solo:
        for layout in opened:
            a, ca = statistics.median(ours_t[(report, layout)]), statistics.median(ours_c[(report, layout)])
            name = report + " (whole; no nfdump peer)" + (f" [{layout}]" if len(opened) > 1 else "")
            print(f"{name:<50} {a:>9.2f}s {'':>8} {'':>6}   {ca:>13.2f}s")
    if args.cli:
        print()
        print_pairs("as processes: forensics report ... --fresh", [p[0] for p in pairs], list(cases),
                    (cli_t, cli_c), (cli_nf_t, cli_nf_c))
    print()
    for line in checks.values():
        print(line)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
