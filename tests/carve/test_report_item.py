"""`carve --report NAME --item N` writes the packets behind a report row."""

from __future__ import annotations

import subprocess
import sys

from tests import builders as b
from tests.inprocess import cli


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
    assert cli("import", "--quiet", "--db", str(db), str(cap)).returncode == 0
    out = tmp_path / "row1.pcap"
    run = cli("carve", "--db", str(db), "--report", "wannacry", "--item", "1", "-w", str(out))
    assert run.returncode == 0, run.stderr
    assert "dst host 8.8.8.8" in run.stderr and "dst port 445" in run.stderr
    lines = subprocess.run(["tcpdump", "-nn", "-r", str(out)], capture_output=True, text=True).stdout.splitlines()
    assert len(lines) == 5 and all("10.0.0.5." in ln and "8.8.8.8.445" in ln for ln in lines)
    carved = out.read_bytes()[24:]
    originals = b"".join(b.pcap_file([f])[24:] for f in frames[:5])
    assert carved == originals  # byte-identical records, in time order
    others = forensics("carve", "--db", str(db), "--report", "wannacry", "--item", "9", "-w", str(out))
    assert others.returncode == 2 and "no row 9" in others.stderr


def _case(tmp_path):
    """Frames: 5 SYNs 10.0.0.5 -> 8.8.8.8:445 (t..t+4), 2 to 1.1.1.1:445 (t+10, t+11), 4 to 8.8.8.8:443 (t+20..)."""
    t = 1700000000.0
    frames = [(t + i, b.eth(0x0800, b.ipv4("10.0.0.5", "8.8.8.8", 6, b.tcp(40000 + i, 445, b.SYN, b"x" * 100))))
              for i in range(5)]
    frames += [(t + 10 + i, b.eth(0x0800, b.ipv4("10.0.0.5", "1.1.1.1", 6, b.tcp(41000, 445, b.SYN))))
               for i in range(2)]
    frames += [(t + 20 + i, b.eth(0x0800, b.ipv4("10.0.0.5", "8.8.8.8", 6, b.tcp(42000, 443, b.ACK))))
               for i in range(4)]
    cap = tmp_path / "c.pcap"
    cap.write_bytes(b.pcap_file(frames))
    db = tmp_path / "c.duckdb"
    assert cli("import", "--quiet", "--db", str(db), str(cap)).returncode == 0
    return db, frames


def _carved(path):
    return [ln for ln in subprocess.run(["tcpdump", "-nn", "-r", str(path)], capture_output=True,
                                        text=True).stdout.splitlines()]


def test_carve_report_takes_the_report_options(tmp_path):
    db, frames = _case(tmp_path)
    out = tmp_path / "o.pcap"
    base = ["carve", "--db", str(db), "--report", "wannacry", "--item", "1", "-w", str(out)]
    # a window that leaves out the 8.8.8.8 sweep: row 1 is now 1.1.1.1, and only packets inside the window
    # (1 s bins, so that the window is not widened to the default 5-minute bin's boundaries)
    run = cli(*base, "--from", "2023-11-14T22:13:29Z", "--to", "2023-11-14T22:13:31Z", "--bin", "1")
    assert run.returncode == 0, run.stderr
    lines = _carved(out)
    assert len(lines) == 1 and "1.1.1.1.445" in lines[0]  # t+10 only: t+11 is at the window's end
    # --filter selects the report's flows as in `report --filter`, and the packets
    run = cli(*base, "--filter", "dst host 1.1.1.1")
    assert run.returncode == 0, run.stderr
    assert len(_carved(out)) == 2 and all("1.1.1.1.445" in ln for ln in _carved(out))
    # -p app=NAME with an application from --config: row 1 is the tcp/443 traffic
    cfg = tmp_path / "alt.toml"
    cfg.write_text('[applications]\nweb = "tcp 443"\n')
    run = cli(*base, "-p", "app=web", "--config", str(cfg))
    assert run.returncode == 0, run.stderr
    assert "dst port 443" in run.stderr
    carved = out.read_bytes()[24:]
    assert carved == b"".join(b.pcap_file([f])[24:] for f in frames[7:])
    # --ip-version 6: the report has no rows, so there is no row 1 to carve
    run = forensics(*base, "--ip-version", "6")
    assert run.returncode == 2 and "no row 1" in run.stderr
    # --scope names a config filter that does not exist: the report's own one-line error
    run = forensics(*base, "--scope", "filter:nope")
    assert run.returncode == 2 and "filter 'nope' is not in the config" in run.stderr


def test_report_options_without_report_are_refused(tmp_path):
    db, _ = _case(tmp_path)
    run = forensics("carve", "--db", str(db), "--filter", "tcp", "-p", "top=3", "-w", str(tmp_path / "x.pcap"))
    assert run.returncode == 2 and "need --report NAME --item N" in run.stderr
