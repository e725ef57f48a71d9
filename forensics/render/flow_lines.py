"""Flows one line each, as nfdump's `-o line` prints them (fixed widths, so the listing streams).

Date first seen              Duration Proto      Src IP Addr:Port          Dst IP Addr:Port   Packets    Bytes Flows App
2016-08-02T02:19:37.734Z 00:00:00.000 UDP      192.168.115.8:51024 ->          8.8.8.8:53           1       66     1 dns

Differences from nfdump, on purpose: the time is UTC in ISO-8601 with Z (nfdump prints local time without a
zone); IPv6 addresses are printed whole (nfdump's line format cuts them to 16 characters: `fe80::5..de:1319`),
so a v6 line is wider. As in nfdump: an IPv6 port follows a '.', an ICMP flow shows type.code as its
destination port, and counts of a million or more are scaled: 1.2 M, 3.4 G, 5.6 T (factors of 1000).
Added at the end: the flow's application (`app` of queries/views/flows_line.sql), '-' when none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

HEADER = (f"{'Date first seen':<24} {'Duration':>12} {'Proto':<5} {'Src IP Addr':>16}:{'Port':<5}    "
          f"{'Dst IP Addr':>16}:{'Port':<5} {'Packets':>8} {'Bytes':>8} {'Flows':>5} {'App':<5}")


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


def flow_line(row: dict) -> str:
    """One listing row (the columns of queries/views/flows_line.sql, as a dict) as an nfdump line."""
    return line_maker(list(row))(tuple(row.values()))


def line_maker(columns: list[str]) -> Callable[[tuple], str]:
    """flow_line for rows as tuples in `columns` order, without building a dict per row."""
    at = {c: i for i, c in enumerate(columns)}
    (i_ts, i_dur, i_proto, i_ver, i_p, i_src, i_sp, i_dst, i_dp, i_it, i_ic, i_pk, i_by, i_fl) = (
        at[c] for c in ("first_ts", "duration_us", "proto", "ip_version", "ip_proto", "src_ip", "src_port",
                        "dst_ip", "dst_port", "icmp_type", "icmp_code", "packets", "bytes", "flows"))
    i_app = at.get("app")

    def line(row: tuple) -> str:
        sep = "." if row[i_ver] == 6 else ":"
        if row[i_p] in (1, 58):
            sport, dport = "0", f"{row[i_it] or 0}.{row[i_ic] or 0}"
        else:
            sport, dport = str(row[i_sp] or 0), str(row[i_dp] or 0)
        return (f"{first_seen(row[i_ts]):<24} {duration(row[i_dur]):>12} {row[i_proto] or '-':<5} "
                f"{row[i_src] or '-':>16}{sep}{sport:<5} -> {row[i_dst] or '-':>16}{sep}{dport:<5} "
                f"{number(row[i_pk]):>8} {number(row[i_by]):>8} {row[i_fl]:>5} "
                f"{(row[i_app] if i_app is not None else None) or '-':<5}")

    return line


def summary_lines(summary: dict) -> list[str]:
    """nfdump's 'Summary:' and 'Time window:' lines for the listed flows."""
    if not summary["flows"]:
        return ["No matching flows"]
    lines = [f"Summary: total flows: {summary['flows']}, total bytes: {number(summary['bytes'])}, "
             f"total packets: {number(summary['packets'])} (bytes at the IP layer, as each record counts them)"]
    lines.append(f"Time window: {first_seen(summary['first_ts'])} - {first_seen(summary['last_ts'])}")
    return lines
