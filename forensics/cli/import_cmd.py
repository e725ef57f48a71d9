"""`forensics import PATH...`"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from forensics.cli.options import DbOption, JsonFlag, QuietFlag, db_path
from forensics.cli.progress import make_progress


def import_command(
    paths: Annotated[list[str], typer.Argument(help="Capture files, flow files or folders (recursive).")],
    db: DbOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace captures already imported with the same content.")
    ] = False,
    idle_timeout: Annotated[float, typer.Option(help="Flow idle timeout, seconds.")] = 15.0,
    active_timeout: Annotated[float, typer.Option(help="Flow active timeout, seconds.")] = 1800.0,
    json_out: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Import captures (pcap, pcapng, gzipped) and flow files into the case database.

    Exit code 0 when everything was imported, 1 when some input was rejected (the rest is kept).

    Example: forensics import captures/ --db case.duckdb
    """
    from forensics.ingest import ImportOptions, import_paths
    from forensics.store import Case

    options = ImportOptions(force=force, idle_timeout=idle_timeout, active_timeout=active_timeout)
    with Case.open(db_path(db)) as case:
        summary = import_paths(case, paths, options, make_progress(quiet or json_out))
    if json_out:
        print(json.dumps(summary.to_dict(), indent=2, default=str))
    else:
        for f in summary.files:
            if f.status in ("rejected", "partial"):
                print(f"forensics: {f.message}", file=sys.stderr)
            elif f.status == "duplicate":
                print(f"{f.message}", file=sys.stderr)
            elif not quiet:
                extra = f", {f.flow_records:,} exported flow records" if f.flow_records else ""
                print(f"{f.status} {f.path}: capture {f.capture_id}, {f.format}, {f.packets:,} packets, "
                      f"{f.flows:,} flows{extra}" + (f", {f.malformed} malformed" if f.malformed else ""))
            invalid = (f.details.get("flow_exports") or {}).get("invalid") or {}
            if invalid and f.flow_records:  # in a file without exports these are UDP datagrams that only look alike
                named = ", ".join(f"{reason} {count}" for reason, count in sorted(invalid.items()))
                print(f"  {f.path}: invalid flow export records skipped: {named}", file=sys.stderr)
        t = summary.totals()
        if not quiet:
            print(f"{t['imported']} imported, {t['duplicates']} already present, {t['partial']} partial, "
                  f"{t['rejected']} rejected; {t['packets']:,} packets, {t['flows']:,} flows, "
                  f"{t['flow_records']:,} exported flow records -> {db_path(db)}")
    raise typer.Exit(summary.exit_code)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
