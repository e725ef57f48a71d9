"""Flows one line each, as nfdump's `-o line` prints them (fixed widths, so the listing streams).

    Date first seen              Duration Proto      Src IP Addr:Port          Dst IP Addr:Port   Packets    Bytes Flows
    2016-08-02T02:19:37.734Z 00:00:00.000 UDP      192.168.115.8:51024 ->          8.8.8.8:53           1       66     1

Differences from nfdump, on purpose: the time is UTC in ISO-8601 with Z (nfdump prints local time without a
zone); IPv6 addresses are printed whole (nfdump's line format cuts them to 16 characters: `fe80::5..de:1319`),
so a v6 line is wider. As in nfdump: an IPv6 port follows a '.', an ICMP flow shows type.code as its
destination port, and counts of a million or more are scaled: 1.2 M, 3.4 G, 5.6 T (factors of 1000).
"""

from __future__ import annotations

import datetime as dt

HEADER = (f"{'Date first seen':<24} {'Duration':>12} {'Proto':<5} {'Src IP Addr':>16}:{'Port':<5}    "
          f"{'Dst IP Addr':>16}:{'Port':<5} {'Packets':>8} {'Bytes':>8} {'Flows':>5}")


def number(value: int | None) -> str:
    """nfdump's habit: 1234567 -> '1.2 M'; below a million the plain number."""
    if value is None:
        return "-"
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M")):
        if value >= factor:
            return f"{value / factor:.1f} {suffix}"
    return str(value)


def duration(us: int | None) -> str:
    """Microseconds -> 'HH:MM:SS.mmm' (hours beyond 24 keep counting, as in nfdump)."""
    if us is None:
        return "-"
    ms = int(us) // 1000
    secs, ms = divmod(ms, 1000)
    mins, secs = divmod(secs, 60)
    hours, mins = divmod(mins, 60)
    return f"{hours:02d}:{mins:02d}:{secs:02d}.{ms:03d}"


def first_seen(t: dt.datetime) -> str:
    """Naive UTC -> '2016-08-02T02:19:37.734Z' (milliseconds, as nfdump shows them)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _endpoint(addr: str | None, port: str, v6: bool) -> str:
    return f"{addr or '-':>16}{'.' if v6 else ':'}{port:<5}"


def flow_line(row: dict) -> str:
    """One listing row (the columns of queries/views/flows_line.sql) as an nfdump line."""
    v6 = row["ip_version"] == 6
    icmp = row["ip_proto"] in (1, 58)
    sport = "0" if icmp else str(row["src_port"] if row["src_port"] is not None else 0)
    if icmp:
        dport = f"{row['icmp_type'] or 0}.{row['icmp_code'] or 0}"
    else:
        dport = str(row["dst_port"] if row["dst_port"] is not None else 0)
    return (f"{first_seen(row['first_ts']):<24} {duration(row['duration_us']):>12} {row['proto'] or '-':<5} "
            f"{_endpoint(row['src_ip'], sport, v6)} -> {_endpoint(row['dst_ip'], dport, v6)} "
            f"{number(row['packets']):>8} {number(row['bytes']):>8} {row['flows']:>5}")


def summary_lines(summary: dict) -> list[str]:
    """nfdump's 'Summary:' and 'Time window:' lines for the listed flows."""
    if not summary["flows"]:
        return ["No matching flows"]
    lines = [f"Summary: total flows: {summary['flows']}, total bytes: {number(summary['bytes'])}, "
             f"total packets: {number(summary['packets'])} (bytes at the IP layer, as each record counts them)"]
    lines.append(f"Time window: {first_seen(summary['first_ts'])} - {first_seen(summary['last_ts'])}")
    return lines
