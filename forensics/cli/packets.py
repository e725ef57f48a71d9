"""`forensics packets`: a tcpdump-like view of the imported packets."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import DbOption, FilterOption, JsonFlag, db_path
from forensics.errors import UsageError

BpfOption = Annotated[
    str | None,
    typer.Option("--bpf", help="Pass this expression to libpcap unchanged (tcpdump's exact answer; runs tcpdump "
                 "on each source capture).", show_default=False),
]
CaptureOption = Annotated[
    str | None, typer.Option("--capture", help="Only this capture: its id or file path.", show_default=False)
]
SearchOption = Annotated[
    list[Path] | None,
    typer.Option("--search", help="Folder to search for moved capture files by sha256 (repeatable).",
                 show_default=False),
]

AlertOption = Annotated[
    int | None, typer.Option("--alert", help="The packets behind this alert (`forensics alerts`): its evidence "
                             "filter within its window.", show_default=False)
]


def alert_filter(db: str, alert_id: int, filter_expr: str | None) -> tuple[str, tuple[str, dict]]:
    """The alert's evidence ANDed with --filter, and its window as (SQL on packets.ts, parameters)."""
    from forensics.checks import alert_selection
    from forensics.store import Case

    with Case.open(db, read_only=True) as case:
        evidence, where, params = alert_selection(case, alert_id)
    print(f"alert {alert_id}: {evidence} within [{params['alert_from']}, {params['alert_to']})", file=sys.stderr)
    return (f"({evidence}) and ({filter_expr})" if filter_expr else evidence), (where, params)


def selection(con: object, filter_expr: str | None, bpf: str | None, capture: str | None, flow: int | None,
              search: list[Path] | None) -> tuple:
    """(locator, where, params) for the packets chosen by the shared options; says which captures --bpf skipped."""
    from forensics.carve import SourceLocator, packet_selection

    locator = SourceLocator(con, list(search or []))
    skipped: list[str] = []
    where, params = packet_selection(con, filter_expr, bpf, capture, flow, locator, skipped)
    for message in skipped:
        print(f"forensics: skipped: {message}", file=sys.stderr)
    return locator, where, params


def packets_command(
    db: DbOption = None,
    filter_expr: FilterOption = None,
    bpf: BpfOption = None,
    count_limit: Annotated[int | None, typer.Option("-c", help="Stop after N packets.", show_default=False)] = None,
    numeric: Annotated[bool, typer.Option("-n", help="Accepted for tcpdump habit: names are never resolved.")] = False,
    verbose: Annotated[bool, typer.Option("-v", help="More fields: capture/frame, TTL, IP id and length.")] = False,
    hex_dump: Annotated[bool, typer.Option("-x", help="Hex dump of each packet (whole frame).")] = False,
    hex_ascii: Annotated[bool, typer.Option("-X", help="Hex and ASCII dump of each packet.")] = False,
    ascii_dump: Annotated[bool, typer.Option("-A", help="ASCII dump of each packet.")] = False,
    count: Annotated[bool, typer.Option("--count", help="Print only the number of matching packets.")] = False,
    capture: CaptureOption = None,
    search: SearchOption = None,
    alert: AlertOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Show packets one line each, tcpdump style; dumps are read from the original capture files.

    Example: forensics packets --filter 'tcp dst port 445 and tcp[tcpflags] & tcp-syn != 0' -c 20 -X
    """
    from forensics.carve import RecordStore
    from forensics.packetview import ROW_COLUMNS
    from forensics.store import Case

    modes = [m for m, on in (("x", hex_dump), ("X", hex_ascii), ("A", ascii_dump)) if on]
    if len(modes) > 1:
        raise UsageError("-x, -X and -A: choose one dump style")
    if count_limit is not None and count_limit < 1:
        raise UsageError("-c: give a positive number of packets")
    mode = modes[0] if modes else None
    window = ("true", {})
    if alert is not None:
        filter_expr, window = alert_filter(db_path(db), alert, filter_expr)
    with Case.open(db_path(db), read_only=True) as case:
        con = case.con
        locator, where, params = selection(con, filter_expr, bpf, capture, None, search)
        where, params = f"({where}) AND {window[0]}", {**params, **window[1]}
        if count:
            n = con.execute(f"SELECT count(*) FROM packets WHERE {where}", params).fetchone()[0]
            if count_limit is not None:
                n = min(n, count_limit)
            print(json.dumps({"packets": n}) if json_out else f"{n} packets")
            return
        sql = (f"SELECT {', '.join(ROW_COLUMNS)}, file_offset FROM packets WHERE {where} "
               "ORDER BY ts, capture_id, frame")
        if count_limit is not None:
            sql += " LIMIT $_limit"
            params["_limit"] = count_limit
        cur = con.execute(sql, params)
        names = [d[0] for d in cur.description]
        with RecordStore(con, locator) as store:
            _print_rows(cur, names, mode, verbose, json_out, store)


def _print_rows(cur: object, names: list[str], mode: str | None, verbose: bool, json_out: bool,
                store: object) -> None:
    from forensics.carve import PacketRef
    from forensics.packetview import dump_lines, json_row, summary_line

    first = True
    if json_out:
        print("[", end="")
    while True:
        rows = cur.fetchmany(2048)
        if not rows:
            break
        dicts = [dict(zip(names, r, strict=True)) for r in rows]
        datas: list[bytes | None] = [None] * len(dicts)
        if mode is not None:
            refs = [PacketRef(d["capture_id"], d["frame"], 0, d["iface"], d["linktype"], d["file_offset"],
                              d["caplen"], d["wirelen"]) for d in dicts]
            datas = [store.read(ref).data for ref in refs]
        for d, data in zip(dicts, datas, strict=True):
            if json_out:
                obj = json_row({k: v for k, v in d.items() if k != "file_offset"})
                if data is not None:
                    obj["data_hex"] = data.hex()
                print(("" if first else ",\n") + json.dumps(obj), end="")
            else:
                print(summary_line(d, verbose))
                if data is not None:
                    for line in dump_lines(data, mode):
                        print(line)
            first = False
    if json_out:
        print("]")


def register(app: typer.Typer) -> None:
    app.command("packets")(packets_command)
