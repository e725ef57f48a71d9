"""Benchmark: the WannaCry report and a 3-attribute top-N over N generated flows (default 10 million),
next to nfdump doing the same aggregation on the same records in nfcapd form, in the same run.

    python -m bench.reports_nfdump [--flows 10000000] [--rounds 3] [--keep DIR]

The records are generated once (numpy, seeded), loaded into a fresh case (DuckDB, via Arrow) and sent
as NetFlow v5 datagrams over loopback to a local `nfcapd` (the only way nfdump's tools take foreign
records in), which writes the nfcapd file nfdump reads. NetFlow v5 is IPv4-only, so all flows are IPv4.

Each pair (a forensics report section and the nfdump command that answers the same question) runs once
per round, the rounds interleaved (forensics, nfdump, next pair, ...) so that load on a shared machine hits
both sides alike; the figures are medians over the rounds. Every top-N item and its byte total is
compared with nfdump's (a difference, e.g. datagrams dropped by nfcapd, is printed), not only the sum.
Pairs: WannaCry src->dst section = `nfdump -A srcip,dstip,proto,dstport`; its dst IP/output interface
section = `nfdump -A dstip,outif`; the attribute report src_ip,dst_ip,dst_port = `nfdump -A
srcip,dstip,dstport`; top_talkers = `nfdump -s ip/bytes` (an address as source or destination: in + out);
protocol_mix = `nfdump -s proto/bytes`; each ordered by bytes, top 10.
top_ports' ports section alone (`--param sections=ports`) is timed next to `nfdump -s dstport/bytes`, its nearest
command, but its items are not compared: its port is the flow's service port (for exported flows the
well-known or lower-numbered side, so 3389 and 8080 flows with a lower source port count for that port) per
protocol, where nfdump sums destination ports over all protocols. The whole report (with its clients section,
which ranks every client by distinct service ports reached and has no nfdump command) is timed alone.
Shipped reports without an nfdump peer are timed alone (`--solo`, default on): top_ports whole, internet_summary (six
direction categories with multicast/broadcast rules: six filtered runs, not one command) and origin_as (the
generated records carry no AS numbers: it runs, every flow in AS 0). subnetwork_compare and filter_compare
need a case config with subnetworks/filters and mac_addresses needs packets; none is timed here.
"""

from __future__ import annotations

import argparse
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
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forensics.reports import run_report  # noqa: E402
from forensics.store import Case  # noqa: E402

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
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
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


def compare(what: str, ours: list, theirs: list) -> str:
    if ours == theirs:
        return f"{what}: {len(ours)} items, identical keys, order and bytes"
    if sorted(ours) == sorted(theirs) and [b for _, b in ours] == [b for _, b in theirs]:
        return f"{what}: {len(ours)} items, identical keys and bytes (equal byte counts listed in another order)"
    diff = [f"  #{i + 1}: forensics {a} / nfdump {b}" for i, (a, b) in
            enumerate(zip(ours + [None] * (len(theirs) - len(ours)), theirs + [None] * (len(ours) - len(theirs)),
                          strict=True)) if a != b]
    return f"{what}: DIFFERENT\n" + "\n".join(diff)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="keep the case and nfcapd file here (reused when present)")
    ap.add_argument("--no-solo", dest="solo", action="store_false",
                    help="leave out the reports without an nfdump peer (timed alone)")
    args = ap.parse_args()
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
        secs = load_case(work / "bench.duckdb", f)
        print(f"case loaded in {secs:.1f} s")
        (work / "nfcapd").mkdir(exist_ok=True)
        secs, nffile = write_nfcapd(work / "nfcapd", f)
        print(f"nfcapd file written in {secs:.1f} s: {nffile}")
    window = {"from": "2016-09-06T00:00:00Z", "to": "2016-09-07T00:00:00Z"}
    wc_filter = ("(src net 10.0.0.0/8) and not (dst net 10.0.0.0/8) and "
                 "((proto tcp or proto udp) and dst port in [135 137 138 139 445])")
    nf = ["nfdump", "-r", str(nffile), "-q", "-N", "-n", "10", "-O", "bytes"]
    # (what, report, params, [(section, the nfdump command answering it)]): the report runs once for all its
    # sections, against the sum of the nfdump commands
    pairs = [
        ("wannacry (4 sections; nfdump: 2 commands)", "wannacry", {}, [
            ("src_dst", [*nf, "-A", "srcip,dstip,proto,dstport", "-o", "fmt:%sa %da %pr %dp %byt", wc_filter]),
            ("dst_out_if", [*nf, "-A", "dstip,outif", "-o", "fmt:%da %out %byt", wc_filter])]),
        ("attributes src_ip,dst_ip,dst_port", "attributes", {"attributes": "src_ip,dst_ip,dst_port"}, [
            ("attributes", [*nf, "-A", "srcip,dstip,dstport", "-o", "fmt:%sa %da %dp %byt"])]),
        ("top_talkers", "top_talkers", {}, [
            ("top_talkers", ["nfdump", "-r", str(nffile), "-q", "-N", "-n", "10", "-s", "ip/bytes"])]),
        ("protocol_mix", "protocol_mix", {}, [
            ("protocol_mix", ["nfdump", "-r", str(nffile), "-q", "-N", "-n", "10", "-s", "proto/bytes"])]),
        ("top_ports ports section (timing only)", "top_ports", {"sections": "ports"}, [
            ("ports", ["nfdump", "-r", str(nffile), "-q", "-N", "-n", "10", "-s", "dstport/bytes"])]),
    ]
    solo = ["top_ports", "internet_summary", "origin_as"] if args.solo else []
    solo_t: dict[str, list[float]] = {r: [] for r in solo}
    solo_c: dict[str, list[float]] = {r: [] for r in solo}
    ours_t: dict[str, list[float]] = {p[0]: [] for p in pairs}
    theirs_t: dict[str, list[float]] = {p[0]: [] for p in pairs}
    ours_c: dict[str, list[float]] = {p[0]: [] for p in pairs}
    theirs_c: dict[str, list[float]] = {p[0]: [] for p in pairs}
    checks: dict[str, str] = {}
    with Case.open(work / "bench.duckdb", read_only=True) as case:
        for _ in range(args.rounds):
            for what, report, params, sections in pairs:
                c = cpu(resource.RUSAGE_SELF)
                t = time.perf_counter()
                result = run_report(case, report, {**window, **params})
                ours_t[what].append(time.perf_counter() - t)
                ours_c[what].append(cpu(resource.RUSAGE_SELF) - c)
                total, total_cpu = 0.0, 0.0
                for section, cmd in sections:
                    secs, cpu_secs, out = timed(cmd)
                    total += secs
                    total_cpu += cpu_secs
                    parse = nfdump_stat_rows if "-s" in cmd else nfdump_rows
                    if report != "top_ports":
                        checks[f"{report} {section}"] = compare(f"{report} {section}",
                                                                report_rows(result, section), parse(out))
                theirs_t[what].append(total)
                theirs_c[what].append(total_cpu)
            for report in solo:
                c = cpu(resource.RUSAGE_SELF)
                t = time.perf_counter()
                run_report(case, report, dict(window))
                solo_t[report].append(time.perf_counter() - t)
                solo_c[report].append(cpu(resource.RUSAGE_SELF) - c)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
    print()
    print(f"{'what (median of ' + str(args.rounds) + ' interleaved rounds)':<44} {'forensics':>10} {'nfdump':>8} "
          f"{'ratio':>6}   {'CPU: forensics':>14} {'nfdump':>7} {'ratio':>6}")
    for what, *_ in pairs:
        a, b = statistics.median(ours_t[what]), statistics.median(theirs_t[what])
        ca, cb = statistics.median(ours_c[what]), statistics.median(theirs_c[what])
        print(f"{what:<44} {a:>9.2f}s {b:>7.2f}s {a / b:>6.2f}   {ca:>13.2f}s {cb:>6.2f}s {ca / cb:>6.2f}")
    for report in solo:
        a, ca = statistics.median(solo_t[report]), statistics.median(solo_c[report])
        print(f"{report + ' (no nfdump peer)':<44} {a:>9.2f}s {'':>8} {'':>6}   {ca:>13.2f}s")
    print()
    for line in checks.values():
        print(line)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
