"""Write the check fixtures: tiny generated captures and the alerts their planted traffic must raise.

    python examples/make_fixtures.py

The expected alerts come from the plan below (who connects where and when), never from running the tool.
Captures are built with the test packet builders (tests/builders.py) and stay a few KB each.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from builders import ACK, SYN, eth, ipv4, pcap_file, tcp  # noqa: E402

DAY = dt.datetime(2026, 3, 10)  # a Tuesday
HOME, REMOTE, OTHER_HOME = "10.1.1.5", "203.0.113.7", "10.1.2.9"


def z(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds") + "Z"


def epoch(t: dt.datetime) -> float:
    return (t - dt.datetime(1970, 1, 1)).total_seconds()


def syn(t: dt.datetime, src: str, dst: str, sport: int, dport: int, flags: int = SYN) -> tuple[float, bytes]:
    return epoch(t), eth(0x0800, ipv4(src, dst, 6, tcp(sport, dport, flags)))


def write(folder: Path, records: list, expected: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "capture.pcap").write_bytes(pcap_file(sorted(records, key=lambda r: r[0])))
    (folder / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")


def office_day() -> tuple[list, list, dt.datetime]:
    """Three connections from a home host to the internet at 02:30 (night), one at 09:00 and one at 13:00
    (office hours), and one home-to-home connection at 02:40; each a SYN and, 1 s later, an ACK."""
    night = [DAY + dt.timedelta(hours=2, minutes=30, seconds=s) for s in (0, 10, 20)]
    records = []
    for i, t in enumerate(night):
        records += [syn(t, HOME, REMOTE, 40000 + i, 443), syn(t + dt.timedelta(seconds=1), HOME, REMOTE, 40000 + i,
                                                               443, ACK)]
    for i, t in enumerate((DAY + dt.timedelta(hours=9), DAY + dt.timedelta(hours=13))):
        records += [syn(t, HOME, REMOTE, 41000 + i, 443), syn(t + dt.timedelta(seconds=1), HOME, REMOTE, 41000 + i,
                                                               443, ACK)]
    records.append(syn(DAY + dt.timedelta(hours=2, minutes=40), HOME, OTHER_HOME, 42000, 445))
    return records, night, DAY + dt.timedelta(hours=13)


def main() -> None:
    records, night, afternoon = office_day()
    builtin = ROOT / "queries" / "checks" / "fixtures"
    # after_hours (default Mon-Fri 08:00-18:00 UTC): the three night SYNs, one alert for the hour; its window
    # runs from the first SYN to the end of that hour.
    write(builtin / "after_hours", records, {
        "check": "after_hours", "tolerance": 0,
        "alerts": [{"entity": HOME, "window_start": z(night[0]), "window_end": z(DAY + dt.timedelta(hours=3)),
                    "value": len(night)}]})
    # host_sweep: 10.1.1.66 sends a SYN to 150 addresses of 10.1.2.0/24 on 445 within one minute (threshold 100),
    # and to 20 addresses on 80 (below it).
    sweep_at = DAY + dt.timedelta(hours=12)
    sweep = [syn(sweep_at + dt.timedelta(seconds=i * 0.3), "10.1.1.66", f"10.1.2.{i + 1}", 50000 + i, 445)
             for i in range(150)]
    sweep += [syn(sweep_at + dt.timedelta(seconds=i), "10.1.1.66", f"10.1.3.{i + 1}", 51000 + i, 80)
              for i in range(20)]
    write(builtin / "host_sweep", sweep, {
        "check": "host_sweep", "tolerance": 0,
        "alerts": [{"entity": "10.1.1.66", "window_start": z(sweep_at),
                    "window_end": z(sweep_at + dt.timedelta(minutes=1)), "value": 150}]})
    # port_scan with its threshold lowered to 120 (params, as --param): 10.1.1.77 sends SYNs to 130 ports of
    # 10.1.4.4 in the minute from 12:05 (alert) and to 30 in the next minute (below the limit).
    scan_at = DAY + dt.timedelta(hours=12, minutes=5)
    scan = [syn(scan_at + dt.timedelta(seconds=i * 0.3), "10.1.1.77", "10.1.4.4", 52000, i + 1) for i in range(130)]
    scan += [syn(scan_at + dt.timedelta(seconds=60 + i), "10.1.1.77", "10.1.4.4", 52001, 1000 + i) for i in range(30)]
    write(builtin / "port_scan", scan, {
        "check": "port_scan", "params": {"threshold": 120}, "tolerance": 0,
        "alerts": [{"entity": "10.1.1.77", "window_start": z(scan_at),
                    "window_end": z(scan_at + dt.timedelta(minutes=1)), "value": 130}]})
    # unexpected_time_access (hours "08,12"): the night connections (one alert, hour 02) and the 13:00 one
    # (one alert, hour 13); windows are whole hours; the home-to-home connection never counts.
    plugin = ROOT / "examples" / "checks" / "unexpected_time_access" / "fixtures" / "night_and_afternoon"
    write(plugin, records, {
        "check": "unexpected_time_access", "tolerance": 0,
        "alerts": [{"entity": HOME, "window_start": z(DAY + dt.timedelta(hours=2)),
                    "window_end": z(DAY + dt.timedelta(hours=3)), "value": len(night)},
                   {"entity": HOME, "window_start": z(afternoon), "window_end": z(afternoon + dt.timedelta(hours=1)),
                    "value": 1}]})


if __name__ == "__main__":
    main()
