"""Generated captures for the checks (helpers): packets built from their definitions (tests/builders.py), imported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from builders import ACK, RST, SYN, eth, ipv4, pcap_file, tcp, udp

ROOT = Path(__file__).resolve().parents[2]
# The corpus sits beside the checkout (../shared) or, for a worktree, two levels up (/work/shared).
CORPUS = next((p for p in (ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus")
               if p.is_dir()), ROOT.parent / "shared" / "corpus")
T0 = dt.datetime(2026, 3, 10, 12, 0, 0)  # a Tuesday, inside business hours; aligned to 30 s and 1 min


def epoch(t: dt.datetime) -> float:
    return (t - dt.datetime(1970, 1, 1)).total_seconds()


def syn_frame(src: str, dst: str, sport: int = 40000, dport: int = 80, flags: int = SYN) -> bytes:
    return eth(0x0800, ipv4(src, dst, 6, tcp(sport, dport, flags)))


def udp_frame(src: str, dst: str, sport: int, dport: int, payload: bytes = b"x" * 20, **kw) -> bytes:
    return eth(0x0800, ipv4(src, dst, 17, udp(sport, dport, payload), **kw))


def spread(t: dt.datetime, n: int, frame_of, seconds: float = 30.0) -> list[tuple[float, bytes]]:
    """n frames evenly inside [t, t + seconds)."""
    return [(epoch(t) + seconds * i / n, frame_of(i)) for i in range(n)]


def make_case(tmp_path: Path, records: list, name: str = "case", config: str | None = None):
    """Write the records as a pcap, import it into a fresh case (with forensics.toml when given), return it open."""
    from forensics.ingest import import_paths
    from forensics.store import Case

    folder = tmp_path / name
    folder.mkdir()
    pcap = folder / "capture.pcap"
    pcap.write_bytes(pcap_file(sorted(records, key=lambda r: r[0])))
    if config is not None:
        (folder / "forensics.toml").write_text(config)
    case = Case.open(folder / "case.duckdb")
    summary = import_paths(case, [str(pcap)])
    assert summary.exit_code == 0
    return case


def run(case, names, **params):
    """Run checks `names` with params {'check.key': value}; return the run."""
    from forensics.checks import run_checks
    from forensics.config import load_config

    given: dict = {}
    for key, value in params.items():
        check, _, name = key.partition("__")
        given.setdefault(check, {})[name] = value
    return run_checks(case, names, params=given, config=load_config(None, case.path))



__all__ = ["ACK", "CORPUS", "RST", "SYN", "T0", "epoch", "make_case", "run", "spread", "syn_frame", "udp_frame"]
