"""`carve --report NAME --item N` writes the packets behind a report row."""

from __future__ import annotations

import subprocess
import sys

from tests import builders as b


def forensics(*args):
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True)


def test_carve_wannacry_row(tmp_path):
    frames = []
    t = 1700000000.0
    for i in range(5):  # the biggest WannaCry row: 10.0.0.5 -> 8.8.8.8 tcp/445
        syn = b.tcp(40000 + i, 445, b.SYN, b"x" * 100)
        frames.append((t + i, b.eth(0x0800, b.ipv4("10.0.0.5", "8.8.8.8", 6, syn))))
    for i in range(2):  # a smaller row
        frames.append((t + 10 + i, b.eth(0x0800, b.ipv4("10.0.0.5", "1.1.1.1", 6, b.tcp(41000, 445, b.SYN)))))
    for i in range(4):  # not WannaCry: web
        frames.append((t + 20 + i, b.eth(0x0800, b.ipv4("10.0.0.5", "8.8.8.8", 6, b.tcp(42000, 443, b.ACK)))))
    cap = tmp_path / "c.pcap"
    cap.write_bytes(b.pcap_file(frames))
    db = tmp_path / "c.duckdb"
    assert forensics("import", "--quiet", "--db", str(db), str(cap)).returncode == 0
    out = tmp_path / "row1.pcap"
    run = forensics("carve", "--db", str(db), "--report", "wannacry", "--item", "1", "-w", str(out))
    assert run.returncode == 0, run.stderr
    assert "dst host 8.8.8.8" in run.stderr and "dst port 445" in run.stderr
    lines = subprocess.run(["tcpdump", "-nn", "-r", str(out)], capture_output=True, text=True).stdout.splitlines()
    assert len(lines) == 5 and all("10.0.0.5." in ln and "8.8.8.8.445" in ln for ln in lines)
    carved = out.read_bytes()[24:]
    originals = b"".join(b.pcap_file([f])[24:] for f in frames[:5])
    assert carved == originals  # byte-identical records, in time order
    others = forensics("carve", "--db", str(db), "--report", "wannacry", "--item", "9", "-w", str(out))
    assert others.returncode == 2 and "no row 9" in others.stderr
