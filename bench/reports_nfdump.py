"""Benchmark: the WannaCry report and a 3-attribute top-N over N generated flows (default 10 million),
next to nfdump doing the same aggregation on the same records in nfcapd form, in the same run.

    python -m bench.reports_nfdump [--flows 10000000] [--keep DIR]

The records are generated once (numpy, seeded), loaded into a fresh case (DuckDB, via Arrow) and sent
as NetFlow v5 datagrams over loopback to a local `nfcapd` (the only way nfdump's tools take foreign
records in), which writes the nfcapd file nfdump reads. NetFlow v5 is IPv4-only, so all flows are IPv4.
Both sides' totals are compared; a difference (e.g. datagrams dropped by nfcapd) is printed.
"""

from __future__ import annotations

import argparse
import shutil
import socket
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


def timed(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=10_000_000)
    ap.add_argument("--keep", type=Path, help="keep the case and nfcapd file here")
    args = ap.parse_args()
    if shutil.which("nfcapd") is None or shutil.which("nfdump") is None:
        raise SystemExit("nfdump tools missing: apt-get install -y nfdump")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-reports-"))
    work.mkdir(parents=True, exist_ok=True)
    f = generate(args.flows)
    print(f"{args.flows:,} flows generated")
    secs = load_case(work / "bench.duckdb", f)
    print(f"case loaded in {secs:.1f} s")
    (work / "nfcapd").mkdir(exist_ok=True)
    secs, nffile = write_nfcapd(work / "nfcapd", f)
    print(f"nfcapd file written in {secs:.1f} s: {nffile}")

    window = {"from": "2016-09-06T00:00:00Z", "to": "2016-09-07T00:00:00Z"}
    rows = []
    with Case.open(work / "bench.duckdb", read_only=True) as case:
        t = time.perf_counter()
        wc = run_report(case, "wannacry", window)
        rows.append(("wannacry (2 sections, top 10 + series)", time.perf_counter() - t))
        t = time.perf_counter()
        run_report(case, "attributes", {**window, "attributes": "src_ip,dst_ip,dst_port"})
        rows.append(("attributes src_ip,dst_ip,dst_port top 10 + series", time.perf_counter() - t))
    wc_filter = ("(src net 10.0.0.0/8) and not (dst net 10.0.0.0/8) and "
                 "((proto tcp or proto udp) and dst port in [135 137 138 139 445])")
    secs, _ = timed(["nfdump", "-r", str(nffile), "-q", "-n", "10", "-A", "srcip,dstip,proto,dstport",
                     "-O", "bytes", wc_filter])
    rows.append(("nfdump -A srcip,dstip,proto,dstport -O bytes (wannacry filter)", secs))
    secs, _ = timed(["nfdump", "-r", str(nffile), "-q", "-n", "10", "-s", "dstip/bytes", wc_filter])
    rows.append(("nfdump -s dstip/bytes (wannacry filter)", secs))
    secs, _ = timed(["nfdump", "-r", str(nffile), "-q", "-n", "10", "-A", "srcip,dstip,dstport", "-O", "bytes"])
    rows.append(("nfdump -A srcip,dstip,dstport -O bytes", secs))
    secs, _ = timed(["nfdump", "-r", str(nffile), "-q", "-n", "10", "-s", "record/bytes",
                     "-A", "srcip,dstip,dstport"])
    rows.append(("nfdump -s record/bytes -A srcip,dstip,dstport", secs))

    # agreement: WannaCry bytes on both sides
    mask = ((f["src"] >> 24) == 10) & ((f["dst"] >> 24) != 10) & np.isin(f["dport"], WANNACRY_PORTS)
    want_bits = float(f["bytes"][mask].astype(np.float64).sum()) * 8
    got_bits = sum(it.values[0] for it in wc.sections[1].items) * DAY
    _, summary = timed(["nfdump", "-r", str(nffile), "-q", "-N", "-o", "fmt:%byt", "-A", "proto", wc_filter])
    nf_bytes = sum(int(line.split()[-1]) for line in summary.splitlines() if line.split())
    print()
    print(f"{'what':<62} {'seconds':>8}")
    for what, secs in rows:
        print(f"{what:<62} {secs:>8.2f}")
    print()
    print(f"WannaCry bytes: generated {want_bits / 8:,.0f}, forensics {got_bits / 8:,.0f}, "
          f"nfdump {nf_bytes:,}" + ("" if round(got_bits / 8) == nf_bytes else "  (DIFFERENT: see above)"))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
