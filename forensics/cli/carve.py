"""`forensics carve`: write the original bytes of selected packets to pcap or pcapng."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import (
    BinOption,
    ConfigOption,
    DbOption,
    FilterOption,
    FromOption,
    IpVersionOption,
    JsonFlag,
    ParamOption,
    PeriodOption,
    QueriesOption,
    ScopeOption,
    ToOption,
    TopOption,
    UnitOption,
    db_path,
    report_params,
)
from forensics.cli.output import atomic_files, check_output_file
from forensics.cli.packets import AlertOption, BpfOption, CaptureOption, SearchOption, alert_filter, selection
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
    config: ConfigOption = None,
    queries: QueriesOption = None,
    param: ParamOption = None,
    start: FromOption = None,
    end: ToOption = None,
    period: PeriodOption = None,
    bin_size: BinOption = None,
    unit: UnitOption = None,
    ip_version: IpVersionOption = "both",
    top: TopOption = None,
    scope: ScopeOption = "any",
    capture: CaptureOption = None,
    pcapng: Annotated[bool, typer.Option("--pcapng", help="Write pcapng, keeping the original interfaces.")] = False,
    search: SearchOption = None,
    alert: AlertOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Carve the matching packets, byte-identical to their original records, in time order.

    Example: forensics carve --filter 'host 10.0.0.5 and tcp port 445' -w evidence.pcap
    Example: forensics carve --report wannacry --item 1 -w sweep.pcap   (the packets behind a report row)

    With --report, the report runs with the same options as `forensics report` (-p, --from/--to, --period,
    --scope, --ip-version, --unit, --top, --filter, --queries, --config), so --item N is row N of what
    `report` shows with them; the packets are the row's, ANDed with --filter, and inside the window when
    --from/--to or --period is given.
    Example: forensics carve --alert 3 -w flood.pcap   (an alert's evidence filter over its window)
    """
    from forensics.carve import PrunedError, carve, flows_pruned_note, pruned_note, select_packets
    from forensics.store import Case

    if (report is None) != (item is None):
        raise UsageError("carve: --report NAME and --item N go together")
    window: tuple | None = None
    check_output_file(out, "-w")  # before the query
    if report is not None:
        from forensics.config import load_config
        from forensics.reports import run_report
        from forensics.reports.items import item_filter

        params = report_params(param, **{"from": start, "to": end, "period": period, "bin": bin_size,
                                         "unit": unit, "ip_version": ip_version, "top": top, "scope": scope})
        with Case.open(db_path(db), read_only=True) as case:
            result = run_report(case, report, params, config=load_config(config, db_path(db)),
                                queries_dirs=tuple(queries or ()), filter_expr=filter_expr)
        row = item_filter(result, item, section)
        if start is not None or end is not None or period is not None:
            window = (result.start, result.end)
        print(f"report {report} row {item}: {row}" + (f" (packets from {result.start.isoformat()}Z to "
              f"{result.end.isoformat()}Z)" if window else ""), file=sys.stderr)
        filter_expr = f"({row}) and ({filter_expr})" if filter_expr else row
    elif any(v is not None for v in (config, queries, param, start, end, period, bin_size, unit, top)):
        raise UsageError("carve: report options (-p, --from/--to, --period, ...) need --report NAME --item N")
    alert_window = ("true", {})
    if alert is not None:
        filter_expr, alert_window = alert_filter(db_path(db), alert, filter_expr)
    if not (filter_expr or bpf or flow is not None or capture):
        raise UsageError("carve: say what to carve with --filter EXPR, --bpf EXPR, --flow ID or --capture ID")
    with Case.open(db_path(db), read_only=True) as case:
        con = case.con
        _, where, params = selection(con, filter_expr, bpf, capture, flow, search)
        if window is not None:
            where = f"({where}) AND ts >= $_report_from AND ts < $_report_to"
            params = {**params, "_report_from": window[0], "_report_to": window[1]}
        refs = select_packets(con, f"({where}) AND {alert_window[0]}", {**params, **alert_window[1]})
        pruned = pruned_note(con, filter_expr, flow, capture)  # packets of it removed by `forensics retain`
        older = flows_pruned_note(con)
        if older:
            print(f"forensics: {older}", file=sys.stderr)
        if pruned and not refs:
            raise PrunedError(f"carve: nothing written: {pruned}")
        with atomic_files(out) as dest:  # written beside `out`, moved into place when complete
            files = carve(con, refs, dest, pcapng=pcapng, search=list(search or []))
        files = [dataclasses.replace(f, path=out.parent / Path(f.path).name) if Path(f.path) != out else f
                 for f in files]
    if json_out:
        print(json.dumps([{"path": str(f.path), "linktype": f.linktype, "packets": f.packets} for f in files]))
    else:
        for f in files:
            what = f" (link type {f.linktype})" if f.linktype is not None and len(files) > 1 else ""
            print(f"{f.path}: {f.packets} packets{what}")
    if pruned:
        raise PrunedError(f"carve: {pruned}")


def register(app: typer.Typer) -> None:
    app.command("carve")(carve_command)
