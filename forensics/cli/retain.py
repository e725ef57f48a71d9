"""`forensics retain`: remove packets, then flows, older than a window, keeping a 5-minute summary first."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import ConfigOption, DbOption, JsonFlag, QuietFlag, db_path
from forensics.errors import UsageError


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def retain_command(
    raw: Annotated[str | None, typer.Option("--raw", help="Keep packets this far back from the newest data in the "
                                            "case (30d, 12h, 2w); older ones go.", show_default=False)] = None,
    flows: Annotated[str | None, typer.Option("--flows", help="Keep flows this far back from the newest data "
                                              "(90d); older flows and their packets go.", show_default=False)] = None,
    before: Annotated[str | None, typer.Option("--before", help="Remove what is older than this time (with "
                                               "--level), e.g. 2016-09-01T00:00:00Z.", show_default=False)] = None,
    level: Annotated[str | None, typer.Option("--level", help="With --before: packets (flows stay) or flows "
                                              "(flows and packets).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would go (rows, bins, captures, bytes "
                                          "on disk) and change nothing.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    json_out: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Remove packets (then flows) older than the retention windows, measured from the newest data in the
    case, never the wall clock; [retain] raw / flows of the case config apply when no option is given.

    Before anything goes, a per-5-minute summary (bytes, packets, flows by direction, IP version and protocol)
    is kept for the pruned bins: internet_summary and protocol_mix answer those bins from it (coverage
    `summary`); item-level reports mark them `none`. Cutoffs are rounded down to 5 minutes. One transaction:
    an interrupted retain changes nothing, and repeating one removes nothing more.

    Example: forensics retain --raw 30d --flows 90d --dry-run
    Example: forensics retain --before 2016-09-06T12:00:00Z --level packets --json
    """
    from forensics.config import load_config
    from forensics.retain import retain
    from forensics.store import Case

    if not Path(db_path(db)).exists():  # a writable open would create an empty case
        raise UsageError(f"{db_path(db)}: no case database here. Import captures first: forensics import PATH")
    cfg = load_config(config, db_path(db))
    if not dry_run and not quiet and not json_out and sys.stderr.isatty():
        print("retain: summarising and removing ...", file=sys.stderr)
    with Case.open(db_path(db), read_only=dry_run) as case:
        result = retain(case, cfg, raw=raw, flows=flows, before=before, level=level, dry_run=dry_run)
    if json_out:
        print(json.dumps(result.to_json(), indent=2))
        return
    doc = result.to_json()
    verb = "would remove" if dry_run else "removed"
    for name in ("packets", "flows"):
        t = doc[name]
        if t["cutoff"] is None:
            continue
        captures = ",".join(str(c) for c in t["captures"]) or "-"
        print(f"{name:<8} before {t['cutoff']}: {verb} {t['rows']:,} rows in {t['bins']:,} 5-minute bins "
              f"(captures {captures}), about {_size(t['bytes_approx'])} on disk")
    if doc["packets"]["cutoff"] is None and doc["flows"]["cutoff"] is None:
        print("the case holds no data: nothing to remove")
    elif not dry_run:
        ids = ", ".join(str(i) for i in result.retention_ids) or "none (nothing was older)"
        print(f"{result.summary_rows:,} summary rows kept for {result.bins:,} bins; retention log {ids}")


def register(app: typer.Typer) -> None:
    app.command("retain")(retain_command)
