"""`forensics flows`: nfdump -o line style listing, checked against nfdump (on an nfcapd file nfpcapd made
from the same capture) and tshark (the NetFlow v5 records of an export capture).

Definition differences with nfpcapd (seen on 1kxun.pcap, 18 of 297 5-tuples): our flows are cut at TCP
FIN/RST and by the 15 s idle timeout between any two packets, where nfpcapd keeps a gap of 20-35 s in one
record (it expires idle flows when it sweeps its cache); nfpcapd makes two records of two identical DNS
queries (ours: one record of two packets); and it splits flows where it rotates its files (-t). So the
number of records per 5-tuple may differ; the packets and bytes per 5-tuple must not.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import builders as b
from tests.inprocess import cli

ROOT = Path(__file__).resolve().parents[2]
# the corpus sits at ../shared beside the checkout (or beside the folder of worktrees)
CORPUS = next((p / "shared" / "corpus" / "files" for p in (ROOT.parent, ROOT.parent.parent)
               if (p / "shared" / "corpus" / "files").is_dir()), ROOT.parent / "shared" / "corpus" / "files")
PCAP = CORPUS / "nDPI" / "1kxun.pcap"  # 1,723 packets, TCP/UDP over IPv4 and IPv6
NETFLOW5 = CORPUS / "graylog-netflow" / "netflow5.pcap"  # 4 NetFlow v5 records
T0 = 1700000000.0


def forensics(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def imported(folder: Path, *captures: Path) -> Path:
    db = folder / "case.duckdb"
    run = cli("import", "--quiet", "--db", str(db), *map(str, captures))  # in-process: only the case matters
    assert run.returncode == 0, run.stderr
    return db


@pytest.mark.oracle
def test_per_five_tuple_totals_equal_nfdump_on_nfpcapd_flows(tmp_path):
    for tool in ("nfpcapd", "nfdump"):
        assert shutil.which(tool), f"{tool} is needed (apt-get install nfdump)"
    db = imported(tmp_path, PCAP)
    nfdir = tmp_path / "nf"
    nfdir.mkdir()
    # the same timeouts as ours: active 30 min, idle 15 s
    subprocess.run(["nfpcapd", "-r", str(PCAP), "-w", str(nfdir), "-e", "1800,15"], capture_output=True,
                   check=True, timeout=120)
    theirs = json.loads(subprocess.run(["nfdump", "-R", str(nfdir), "-o", "json"], capture_output=True, text=True,
                                       check=True, env={**os.environ, "TZ": "UTC"}).stdout)
    run = forensics("flows", "--db", str(db), "--json")
    assert run.returncode == 0, run.stderr
    ours = json.loads(run.stdout)
    mine, other = collections.Counter(), collections.Counter()
    for r in ours:
        key = (r["ip_proto"], r["src_ip"], r["src_port"] or 0, r["dst_ip"], r["dst_port"] or 0)
        mine[(*key, "packets")] += r["packets"]
        mine[(*key, "bytes")] += r["bytes"]
    for r in theirs:
        key = (r["proto"], r.get("src4_addr") or r.get("src6_addr"), r["src_port"],
               r.get("dst4_addr") or r.get("dst6_addr"), r["dst_port"])
        other[(*key, "packets")] += r["in_packets"]
        other[(*key, "bytes")] += r["in_bytes"]
    assert len(mine) > 400  # about 300 5-tuples, IPv4 and IPv6
    assert {k[1] for k in mine if ":" in k[1]}, "the capture has IPv6 flows"
    assert mine == other


def test_nfdump_line_layout_and_units(tmp_path):
    """A generated capture: three flows of known size; the biggest is over a million bytes (nfdump: '1.4 M')."""
    frames = []
    for i in range(1000):  # 10.0.0.1 -> 10.0.0.2 tcp/443, 1,000 x 1,400-byte IP packets
        frames.append((T0 + i * 0.001, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 6,
                                                             b.tcp(40000, 443, b.ACK, b"x" * 1360)))))
    for i in range(3):
        frames.append((T0 + 2 + i, b.eth(0x0800, b.ipv4("10.0.0.3", "192.0.2.9", 17, b.udp(5353, 53, b"q" * 20)))))
    frames.append((T0 + 5, b.eth(0x86DD, b.ipv6("2001:db8::1", "2001:db8::2", 17, b.udp(546, 547, b"")))))
    frames.append((T0 + 6, b.eth(0x0800, b.ipv4("10.0.0.3", "10.0.0.1", 1, b.icmp(8, 0, b"ping")))))
    cap = tmp_path / "g.pcap"
    cap.write_bytes(b.pcap_file(frames))
    db = imported(tmp_path, cap)
    run = forensics("flows", "--db", str(db))  # stdout is a pipe: still the table
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["Date", "first", "seen", "Duration", "Proto", "Src", "IP", "Addr:Port", "Dst", "IP",
                                "Addr:Port", "Packets", "Bytes", "Flows", "App"]
    rows = lines[1:5]
    assert rows[0].split() == ["2023-11-14T22:13:20.000Z", "00:00:00.999", "TCP", "10.0.0.1:40000", "->",
                               "10.0.0.2:443", "1000", "1.4", "M", "1", "-"]
    assert rows[1].split() == ["2023-11-14T22:13:22.000Z", "00:00:02.000", "UDP", "10.0.0.3:5353", "->",
                               "192.0.2.9:53", "3", str(3 * 48), "1", "-"]
    assert rows[2].split()[3:6] == ["2001:db8::1.546", "->", "2001:db8::2.547"]  # v6 port after a '.'
    assert rows[3].split()[2:6] == ["ICMP", "10.0.0.3:0", "->", "10.0.0.1:8.0"]  # type.code as nfdump shows
    assert len({len(r) for r in (lines[0], rows[0], rows[1], rows[3])}) == 1  # fixed widths line up
    assert lines[5] == (f"Summary: total flows: 4, total bytes: 1.4 M, total packets: {1000 + 3 + 1 + 1} "
                        "(bytes at the IP layer, as each record counts them)")
    assert lines[6].startswith("Time window: 2023-11-14T22:13:20.000Z - 2023-11-14T22:13:26.000Z")
    # nfdump prints the same size the same way (its own line output, same flow, via nfpcapd)
    if shutil.which("nfpcapd"):
        nfdir = tmp_path / "nf"
        nfdir.mkdir()
        subprocess.run(["nfpcapd", "-r", str(cap), "-w", str(nfdir), "-e", "1800,15"], capture_output=True,
                       check=True, timeout=120)
        out = subprocess.run(["nfdump", "-R", str(nfdir), "-o", "line", "-q", "port 443"], capture_output=True,
                             text=True, check=True).stdout
        assert re.search(r"\s1000\s+1\.4 M\s+1$", out.strip()), out


def test_count_sort_filter_window_and_formats(tmp_path):
    frames = []
    sizes = [(f"10.1.0.{n}", n * 10) for n in range(1, 8)]  # seven flows, payload 10..70 bytes, 2 s apart
    for n, (src, size) in enumerate(sizes):
        frames.append((T0 + 2 * n, b.eth(0x0800, b.ipv4(src, "198.51.100.1", 6, b.tcp(1000 + n, 445, b.SYN,
                                                                                       b"z" * size)))))
    cap = tmp_path / "s.pcap"
    cap.write_bytes(b.pcap_file(frames))
    db = imported(tmp_path, cap)
    ip_bytes = {src: 20 + 20 + size for src, size in sizes}

    def listed(*args):
        run = cli("flows", "--db", str(db), "--json", *args)
        assert run.returncode == 0, run.stderr
        return [(r["src_ip"], r["bytes"]) for r in json.loads(run.stdout)]

    assert listed() == [(s, ip_bytes[s]) for s, _ in sizes]  # time order
    assert listed("--sort", "bytes", "-c", "3") == sorted(ip_bytes.items(), key=lambda kv: -kv[1])[:3]
    assert listed("--filter", "src net 10.1.0.0/30 and tcp dst port 445") == \
        [(s, ip_bytes[s]) for s in ("10.1.0.1", "10.1.0.2", "10.1.0.3")]
    assert listed("--filter", "tcp[tcpflags] & tcp-ack != 0") == []
    assert listed("--from", "2023-11-14T22:13:24Z", "--to", "2023-11-14T22:13:28Z") == \
        [(s, ip_bytes[s]) for s in ("10.1.0.3", "10.1.0.4")]  # first seen in [from, to)
    csv_out = cli("flows", "--db", str(db), "--csv", "-c", "2").stdout.splitlines()
    assert csv_out[0].startswith("flow_id,source,") and len(csv_out) == 3
    assert "10.1.0.1" in csv_out[1] and ",pcap," in csv_out[1]
    table = cli("flows", "--db", str(db), "-c", "2").stdout.splitlines()
    assert len(table) == 1 + 2 + 2 and table[3].startswith("Summary: total flows: 2,")


@pytest.fixture(scope="module")
def one_flow_case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("oneflow")
    cap = folder / "a.pcap"
    cap.write_bytes(b.pcap_file([(T0, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(1, 2))))]))
    return imported(folder, cap)


@pytest.mark.parametrize("args, fragment", [
    (["--filter", "len > 100"], "cannot apply to flows"),
    (["--filter", "tcp port"], "filter column"),
    (["-c", "0"], "positive number"),
    (["--sort", "size"], "--sort 'size'"),
    (["--from", "yesterday"], "--from 'yesterday'"),
    (["--source", "netflow_v9"], "it has: pcap"),
])
def test_usage_errors_are_one_line(one_flow_case, args, fragment):
    if fragment in ("cannot apply to flows", "positive number"):  # the real process: exit code, one stderr line
        run = forensics("flows", "--db", str(one_flow_case), *args)
        code, stderr = run.returncode, run.stderr
    else:  # in-process: the error the process turns into that line and exit code (forensics.cli.main)
        from forensics.errors import ForensicsError

        with pytest.raises(ForensicsError) as err:
            cli("flows", "--db", str(one_flow_case), *args)
        code, stderr = err.value.exit_code, f"forensics: {err.value}\n"
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert fragment in stderr and "Traceback" not in stderr


@pytest.mark.oracle
def test_exported_records_equal_tshark_cflow(tmp_path):
    db = imported(tmp_path, NETFLOW5)
    run = forensics("flows", "--db", str(db), "--source", "netflow_v5", "--json")
    ours = sorted((r["src_ip"], r["dst_ip"], r["ip_proto"], r["packets"], r["bytes"])
                  for r in json.loads(run.stdout))
    fields = ["cflow.srcaddr", "cflow.dstaddr", "cflow.protocol", "cflow.packets", "cflow.octets"]
    out = subprocess.run(["tshark", "-r", str(NETFLOW5), "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;",
                          *[x for f in fields for x in ("-e", f)]], capture_output=True, text=True, check=True).stdout
    theirs = []
    for line in out.splitlines():
        cols = [c.split(";") for c in line.split("\t")]
        for i in range(len(cols[0])):
            src, dst, proto, packets, octets = (c[i] for c in cols)
            theirs.append((src, dst, int(proto), int(packets), int(octets)))
    assert len(ours) == 4 and ours == sorted(theirs)


def test_terminal_and_pipe_print_the_same_table(tmp_path):
    import pty

    cap = tmp_path / "a.pcap"
    cap.write_bytes(b.pcap_file([(T0 + i, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(7, 9 + i))))
                                 for i in range(3)]))
    db = imported(tmp_path, cap)
    piped = forensics("flows", "--db", str(db)).stdout
    main, sub = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "forensics", "flows", "--db", str(db)], stdout=sub,
                            stderr=subprocess.PIPE, env=env)
    os.close(sub)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert proc.wait(timeout=60) == 0
    on_tty = b"".join(chunks).decode().replace("\r\n", "\n")
    assert on_tty == piped and len(piped.splitlines()) == 1 + 3 + 2
