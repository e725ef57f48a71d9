"""Retention (issue 13): remove packets, then flows, older than a window, keeping a per-5-minute summary first.

    result = retain(case, config, raw="30d", flows="90d")            # windows from the newest data in the case
    result = retain(case, config, before="2016-09-01T00:00:00Z", level="packets", dry_run=True)

Windows are measured from the newest data the case holds (captures are historical: never the wall clock) and
every cutoff is rounded down to a 5-minute boundary, so whole summary bins go. Packets go first (the flows built
from them stay: their bins' coverage becomes `flows`), then flows (coverage `summary` for internet_summary and
protocol_mix, `none` for item-level reports). Everything happens in one transaction on the case connection:
a retention killed midway leaves the case as it was, and a repeated one finds nothing to remove.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from forensics.config import CaseConfig, parse_duration
from forensics.errors import UsageError
from forensics.reports.context import install_context
from forensics.reports.coverage import install_retention
from forensics.sqlfiles import parse_timestamp
from forensics.store import retain as store

LEVELS = ("packets", "flows")


@dataclass
class TablePlan:
    """What goes from one table: rows, 5-minute bins, captures, approximate bytes on disk, time range."""

    table: str
    cutoff: dt.datetime | None
    rows: int = 0
    bins: int = 0
    captures: list[int] = field(default_factory=list)
    bytes_approx: int = 0
    first_ts: dt.datetime | None = None
    last_ts: dt.datetime | None = None


@dataclass
class RetainResult:
    """A retention's plan (dry run) or outcome: per table, the bins and captures in all, what was logged."""

    dry_run: bool
    newest: dt.datetime | None
    packets: TablePlan
    flows: TablePlan
    bins: int
    captures: list[int]
    summary_rows: int = 0
    retention_ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        """A JSON-able document (times ISO-8601 with Z)."""
        def z(t: dt.datetime | None) -> str | None:
            return None if t is None else t.isoformat() + "Z"

        def table(p: TablePlan) -> dict:
            return {"cutoff": z(p.cutoff), "rows": p.rows, "bins": p.bins, "captures": p.captures,
                    "bytes_approx": p.bytes_approx, "first_ts": z(p.first_ts), "last_ts": z(p.last_ts)}

        return {"dry_run": self.dry_run, "newest": z(self.newest), "packets": table(self.packets),
                "flows": table(self.flows), "bins": self.bins, "captures": self.captures,
                "summary_rows": self.summary_rows, "retention_ids": self.retention_ids}


def _align(t: dt.datetime) -> dt.datetime:
    """Down to a 5-minute boundary."""
    epoch = dt.datetime(1970, 1, 1)
    step = dt.timedelta(seconds=store.SUMMARY_BIN_SECS)
    return epoch + ((t - epoch) // step) * step


def _duration(text: str | None, option: str) -> dt.timedelta | None:
    if text is None:
        return None
    secs = parse_duration(text)
    if secs is None:
        raise UsageError(f"{option} {text!r}: write a duration such as 30d, 12h, 90min or 2w")
    return dt.timedelta(seconds=secs)


def cutoffs(newest: dt.datetime | None, config: CaseConfig, raw: str | None = None, flows: str | None = None,
            before: str | None = None, level: str | None = None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(packets cutoff, flows cutoff) on 5-minute boundaries, None where nothing of that table goes.

    --before T --level L names one cutoff; --raw / --flows (else [retain] raw / flows of the config) are windows
    back from `newest`. Flows going means their packets go too: the packets cutoff is never before the flows'.
    """
    if (before is None) != (level is None):
        raise UsageError("retain: --before T and --level packets|flows go together")
    if before is not None:
        if raw is not None or flows is not None:
            raise UsageError("retain: give --before T --level L or --raw/--flows windows, not both")
        if level not in LEVELS:
            raise UsageError(f"retain: --level {level!r}: use packets or flows")
        try:
            t = _align(parse_timestamp(before))
        except ValueError as exc:
            raise UsageError(f"retain: --before {before!r}: {exc}; write e.g. 2016-09-06T12:00:00Z") from None
        return (t, t if level == "flows" else None)
    raw_window = _duration(raw, "--raw")
    flows_window = _duration(flows, "--flows")
    if raw_window is None and flows_window is None:
        raw_window = None if config.retain_raw_secs is None else dt.timedelta(seconds=config.retain_raw_secs)
        flows_window = None if config.retain_flows_secs is None else dt.timedelta(seconds=config.retain_flows_secs)
        if raw_window is None and flows_window is None:
            raise UsageError("retain: say what to remove: --raw 30d and/or --flows 90d, --before T --level "
                             "packets|flows, or [retain] raw/flows in the case config")
    if newest is None:
        return (None, None)
    flows_cut = None if flows_window is None else _align(newest - flows_window)
    packets_cut = None if raw_window is None else _align(newest - raw_window)
    if flows_cut is not None and (packets_cut is None or packets_cut < flows_cut):
        packets_cut = flows_cut
    return (packets_cut, flows_cut)


_NEVER = dt.datetime(1, 1, 1)


def _plan(con: object, packets_cut: dt.datetime | None, flows_cut: dt.datetime | None,
          newest: dt.datetime | None, dry_run: bool) -> RetainResult:
    rows, bins = store.plan(con, packets_cut or _NEVER, flows_cut or _NEVER)
    plans = {}
    for row in rows:
        table = row["table"]
        p = TablePlan(table, packets_cut if table == "packets" else flows_cut, int(row["rows"]), int(row["bins"]),
                      list(row["captures"] or []), first_ts=row["first_ts"], last_ts=row["last_ts"])
        if p.rows:
            total = con.execute(f"SELECT count(*) FROM {store.PRUNABLE[table][0]}").fetchone()[0]
            p.bytes_approx = round(store.table_bytes(con, table) * p.rows / max(total, 1))
        plans[table] = p
    captures = sorted(set(plans["packets"].captures) | set(plans["flows"].captures))
    return RetainResult(dry_run, newest, plans["packets"], plans["flows"], bins, captures)


def retain(case: object, config: CaseConfig, raw: str | None = None, flows: str | None = None,
           before: str | None = None, level: str | None = None, dry_run: bool = False) -> RetainResult:
    """Remove (or with `dry_run` only count) what falls outside the retention windows; see the module doc."""
    con = case.con
    newest = store.newest_data(con)
    packets_cut, flows_cut = cutoffs(newest, config, raw, flows, before, level)
    result = _plan(con, packets_cut, flows_cut, newest, dry_run)
    if dry_run or not (result.packets.rows or result.flows.rows):
        return result
    home = json.dumps([n.cidr for n in config.home])
    done_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    con.execute("BEGIN TRANSACTION")
    try:
        install_context(con, config)  # is_home / is_special for the summary's zones, packets_gone_before
        # packets first (their flows stay), then flows: packets_cut is never before flows_cut
        steps = [(lvl, cut) for lvl, cut in (("packets", packets_cut), ("flows", flows_cut)) if cut is not None]
        for step_level, cut in steps:
            packet_rows = store.rows_by_capture(con, "packets", cut)
            flow_rows = store.rows_by_capture(con, "flows", cut) if step_level == "flows" else {}
            if not packet_rows and not flow_rows:
                continue
            summary = store.write_summary(con, step_level, cut)
            store.prune_before(case, "packets", cut)
            if step_level == "flows":
                store.prune_before(case, "flows", cut)
            result.retention_ids.append(store.write_log(con, step_level, cut, packet_rows, flow_rows, summary,
                                                        home, done_at))
            result.summary_rows += summary
            install_retention(con)  # the next step sees what this one removed
        con.execute("COMMIT")
        case.finish_lake_commit()  # a lake: the files of the parts dropped are deleted once committed
    except BaseException:
        con.execute("ROLLBACK")
        case.abort_lake_commit()  # a lake: the parts rewritten in the transaction go, the old ones stay
        raise
    return result
