"""unexpected_time_access: a home host connecting to a remote host outside business hours (ntopng's example).

Hooks get pyarrow.Table batches (docs/checks.md). This one only needs flow_end: every flow, once, as it ends.
protocol_detected is defined too, to show the hook; it only counts what it sees (ctx.params, no alert).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from forensics.checks.replay import CheckContext

_seen = {"labelled": 0}


def _hours(text: str) -> tuple[int, int]:
    start, end = (int(x) for x in str(text).split(","))
    return start, end


def protocol_detected(flows: pa.Table, ctx: CheckContext) -> None:
    _seen["labelled"] += flows.num_rows  # flows whose application label is known (the [applications] ports)


def flow_end(flows: pa.Table, ctx: CheckContext) -> None:
    start, end = _hours(ctx.params["hours"])
    hour = pc.hour(flows["first_ts"])  # UTC
    outside = pc.or_(pc.less(hour, start), pc.greater_equal(hour, end))
    groups = {}
    for row in flows.filter(outside).select(["src_ip", "dst_ip", "dst_port", "first_ts"]).to_pylist():
        if not ctx.is_home(row["src_ip"]) or ctx.is_home(row["dst_ip"]):
            continue
        bin_start = row["first_ts"].replace(minute=0, second=0, microsecond=0)
        groups.setdefault((row["src_ip"], bin_start), []).append(row)
    for (src, bin_start), rows in sorted(groups.items()):
        ctx.alert(src, bin_start, bin_start + dt.timedelta(hours=1), len(rows), 0,
                  detail=f"{src} connected to {len({r['dst_ip'] for r in rows})} remote address(es) outside "
                         f"{start:02d}:00-{end:02d}:00 UTC",
                  evidence=f"src host {src}")


CHECK = {"name": "unexpected_time_access", "title": "Unexpected time access", "severity": "low",
         "params": {"hours": "08,12"}}
