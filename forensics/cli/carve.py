"""`forensics carve`: write the original bytes of selected packets to pcap or pcapng."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import DbOption, FilterOption, JsonFlag, db_path
from forensics.cli.output import atomic_files, check_output_file
from forensics.cli.packets import BpfOption, CaptureOption, SearchOption, selection
from forensics.errors import UsageError


def carve_command(
    out: Annotated[Path, typer.Option("-w", "--write", help="Output file (out.pcap; several link types give "
                                      "out-<linktype>.pcap each).", show_default=False)],
    db: DbOption = None,
    filter_expr: FilterOption = None,
    bpf: BpfOption = None,
    flow: Annotated[int | None, typer.Option("--flow", help="The packets of this flow id.", show_default=False)] = None,
    report: Annotated[str | None, typer.Option("--report", help="Report name (with --item).",
                                               show_default=False)] = None,
    item: Annotated[int | None, typer.Option("--item", help="Row number in the report.", show_default=False)] = None,
    section: Annotated[str | None, typer.Option("--section", help="Report section (default: the first).",
                                                show_default=False)] = None,
    capture: CaptureOption = None,
    pcapng: Annotated[bool, typer.Option("--pcapng", help="Write pcapng, keeping the original interfaces.")] = False,
    search: SearchOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Carve the matching packets, byte-identical to their original records, in time order.

    Example: forensics carve --filter 'host 10.0.0.5 and tcp port 445' -w evidence.pcap
    Example: forensics carve --report wannacry --item 1 -w sweep.pcap   (the packets behind a report row)
    """
    from forensics.carve import carve, select_packets
    from forensics.store import Case

    if (report is None) != (item is None):
        raise UsageError("carve: --report NAME and --item N go together")
    check_output_file(out, "-w")  # before the query
    if report is not None:
        from forensics.config import load_config
        from forensics.reports import run_report
        from forensics.reports.items import item_filter

        with Case.open(db_path(db), read_only=True) as case:
            result = run_report(case, report, {}, config=load_config(None, db_path(db)))
        row = item_filter(result, item, section)
        print(f"report {report} row {item}: {row}", file=sys.stderr)
        filter_expr = f"({row}) and ({filter_expr})" if filter_expr else row
    if not (filter_expr or bpf or flow is not None or capture):
        raise UsageError("carve: say what to carve with --filter EXPR, --bpf EXPR, --flow ID or --capture ID")
    with Case.open(db_path(db), read_only=True) as case:
        con = case.con
        _, where, params = selection(con, filter_expr, bpf, capture, flow, search)
        refs = select_packets(con, where, params)
        with atomic_files(out) as dest:  # written beside `out`, moved into place when complete
            files = carve(con, refs, dest, pcapng=pcapng, search=list(search or []))
        files = [dataclasses.replace(f, path=out.parent / Path(f.path).name) if Path(f.path) != out else f
                 for f in files]
    if json_out:
        print(json.dumps([{"path": str(f.path), "linktype": f.linktype, "packets": f.packets} for f in files]))
        return
    for f in files:
        what = f" (link type {f.linktype})" if f.linktype is not None and len(files) > 1 else ""
        print(f"{f.path}: {f.packets} packets{what}")


def register(app: typer.Typer) -> None:
    app.command("carve")(carve_command)
