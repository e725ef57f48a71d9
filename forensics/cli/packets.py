"""`forensics packets`: tcpdump's view of the packets of a case, or of one capture read directly (-r)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import DbOption, FilterOption, JsonFlag, QuietFlag, db_path
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
ReadOption = Annotated[
    Path | None,
    typer.Option("-r", help="Read this capture directly, as tcpdump -r does (an in-memory case; no --db).",
                 show_default=False),
]

DissectFlag = Annotated[
    bool, typer.Option("--dissect", help="tshark's full dissection (tshark -V) of the selected packets, read from "
                       "their original files (tshark must be installed).")
]
DissectFieldsOption = Annotated[
    str | None,
    typer.Option("--dissect-fields", help="Wireshark display-filter fields as columns, e.g. ip.src,tcp.flags "
                 "(tshark -T fields; table, --csv or --json).", show_default=False),
]
DissectLimitOption = Annotated[
    int | None,
    typer.Option("--dissect-limit", help="Most packets --dissect/--dissect-fields handles (default 2000).",
                 show_default=False),
]
CsvOption = Annotated[bool, typer.Option("--csv", help="With --dissect-fields alone: the columns as CSV.")]

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
    read: ReadOption = None,
    filter_expr: FilterOption = None,
    bpf: BpfOption = None,
    count_limit: Annotated[int | None, typer.Option("-c", help="Stop after N packets.", show_default=False)] = None,
    numeric: Annotated[bool, typer.Option("-n", help="Accepted for tcpdump habit: names are never resolved (with "
                                          "--dissect: tshark -n, no MAC vendor names).")] = False,
    verbose: Annotated[int, typer.Option("-v", count=True, help="tcpdump -v: IP header fields, checksums.")] = 0,
    link_header: Annotated[bool, typer.Option("-e", help="Print the link-layer header (MACs, VLAN tags).")] = False,
    times: Annotated[int, typer.Option("-t", count=True, help="-t none, -tt epoch, -ttt delta, -tttt date, "
                                       "-ttttt since first (UTC).")] = 0,
    hex_dump: Annotated[int, typer.Option("-x", count=True, help="Hex dump from the network layer (-xx: frame).")] = 0,
    hex_ascii: Annotated[int, typer.Option("-X", count=True, help="Hex and ASCII dump (-XX: whole frame).")] = 0,
    ascii_dump: Annotated[bool, typer.Option("-A", help="ASCII dump from the network layer.")] = False,
    count: Annotated[bool, typer.Option("--count", help="Print only the number of matching packets.")] = False,
    capture: CaptureOption = None,
    search: SearchOption = None,
    alert: AlertOption = None,
    dissect: DissectFlag = False,
    dissect_fields: DissectFieldsOption = None,
    dissect_limit: DissectLimitOption = None,
    csv_out: CsvOption = False,
    json_out: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Show packets one line each as tcpdump -nn does, decoded from the original capture bytes.

    Example: forensics packets --filter 'tcp dst port 445' -c 20 -X
    Example: forensics packets -r suspicious.pcap --filter 'udp port 53' -c 10
    Example: forensics packets --filter 'udp port 53' -c 5 --dissect
    Example: forensics packets --filter 'tcp port 443' --dissect-fields ip.src,tls.handshake.extensions_server_name
    """
    from forensics.packetview import ViewOptions

    modes = [m for m, on in (("x", hex_dump), ("X", hex_ascii), ("A", ascii_dump)) if on]
    if len(modes) > 1:
        raise UsageError("-x, -X and -A: choose one dump style")
    if count_limit is not None and count_limit < 1:
        raise UsageError("-c: give a positive number of packets")
    if times > 5:
        raise UsageError("-t: give it at most five times (-ttttt)")
    options = ViewOptions(link_header=link_header, verbose=verbose, ts_mode={0: 1, 1: 0}.get(times, times))
    dump = (modes[0], (hex_dump or hex_ascii) > 1) if modes else None
    window: tuple[str, dict] = ("true", {})
    if alert is not None:
        if read is not None:
            raise UsageError("-r and --alert: an alert belongs to a case (--db), not to a file read directly")
        filter_expr, window = alert_filter(db_path(db), alert, filter_expr)
    request = dissect_request(dissect, dissect_fields, dissect_limit, csv_out, json_out, quiet, numeric,
                              bool(modes or verbose or link_header or times))
    args = (filter_expr, bpf, count_limit, count, capture, search, json_out, options, dump, window, request)
    if read is None:
        from forensics.store import Case

        with Case.open(db_path(db), read_only=True) as case:
            code = show(case.con, *args)
        if code:
            raise typer.Exit(code)
        return
    if db is not None:
        raise UsageError("-r and --db: read a capture directly or show a case, not both")
    from forensics.cli.progress import make_progress
    from forensics.packetview.source import transient_case

    with transient_case(read, make_progress(quiet or json_out or not sys.stderr.isatty())) as (case, summary):
        result = summary.files[0]
        if result.status == "partial":
            print(f"forensics: {result.message}", file=sys.stderr)
        code = show(case.con, *args)
    if summary.exit_code or code:
        raise typer.Exit(max(summary.exit_code, code))


def dissect_request(dissect: bool, fields: str | None, limit: int | None, csv_out: bool, json_out: bool,
                    quiet: bool, numeric: bool, tcpdump_style: bool) -> object:
    """The DissectRequest of --dissect/--dissect-fields (None without them); UsageError for a bad mix."""
    if not dissect and fields is None:
        if limit is not None or csv_out:
            raise UsageError("--dissect-limit and --csv go with --dissect or --dissect-fields")
        return None
    from forensics.cli.dissect import DissectRequest
    from forensics.packetview.dissect import DISSECT_LIMIT, parse_field_list

    if tcpdump_style:
        raise UsageError("--dissect and -x/-X/-A/-v/-e/-t: tshark's dissection replaces tcpdump's lines; "
                         "choose one")
    if limit is not None and limit < 1:
        raise UsageError("--dissect-limit: give a positive number of packets")
    if csv_out and (dissect or json_out):
        raise UsageError("--csv: only with --dissect-fields alone (a tree is not a table; or choose --json)")
    names = parse_field_list(fields) if fields is not None else []
    return DissectRequest(tree=dissect, fields=names, limit=limit or DISSECT_LIMIT, names=not numeric,
                          json_out=json_out, csv_out=csv_out, quiet=quiet)


def show(con: object, filter_expr: str | None, bpf: str | None, count_limit: int | None, count: bool,
         capture: str | None, search: list[Path] | None, json_out: bool, options: object,
         dump: tuple[str, bool] | None, window: tuple[str, dict] = ("true", {}), dissect: object = None) -> int:
    """Print the selected packets of the case on `con` (or their number with count); `window` narrows them
    further (SQL on packets, its parameters), e.g. an alert's time window; `dissect` (a DissectRequest) prints
    tshark's dissection instead. Returns the exit code (1: some packets left out)."""
    from forensics.carve import RecordStore
    from forensics.packetview import ROW_COLUMNS

    locator, where, params = selection(con, filter_expr, bpf, capture, None, search)
    where, params = f"({where}) AND {window[0]}", {**params, **window[1]}
    if count:
        n = con.execute(f"SELECT count(*) FROM packets WHERE {where}", params).fetchone()[0]
        if count_limit is not None:
            n = min(n, count_limit)
        print(json.dumps({"packets": n}) if json_out else f"{n} packets")
        _say_pruned(con, filter_expr, capture)
        return 0
    # One capture: file order, as tcpdump reads it (its relative sequence numbers follow that order).
    captures = con.execute(f"SELECT count(DISTINCT capture_id) FROM packets WHERE {where}", params).fetchone()[0]
    order = "capture_id, frame" if captures <= 1 else "ts, capture_id, frame"
    if dissect is not None:
        from forensics.cli.dissect import dissect_selection

        return dissect_selection(con, where, params, order, count_limit, locator, dissect)
    sql = f"SELECT {', '.join(ROW_COLUMNS)}, file_offset FROM packets WHERE {where} ORDER BY {order}"
    if count_limit is not None:
        sql += " LIMIT $_limit"
        params["_limit"] = count_limit
    cur = con.cursor()  # its own cursor: reading the records queries the case while rows are still pending
    cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    with RecordStore(con, locator) as store:
        _print_rows(cur, names, options, dump, json_out, store)
    _say_pruned(con, filter_expr, capture)
    return 0


def _say_pruned(con: object, filter_expr: str | None, capture: str | None) -> None:
    """Exit 1 with one line when `forensics retain` removed packets of the selection."""
    from forensics.carve import PrunedError, pruned_note

    pruned = pruned_note(con, filter_expr, None, capture)
    if pruned:
        raise PrunedError(f"packets: {pruned}")


def _print_rows(cur: object, names: list[str], options: object, dump: tuple[str, bool] | None, json_out: bool,
                store: object) -> None:
    from forensics.carve import PacketRef
    from forensics.packetview import PacketView, json_row

    view = PacketView(options)
    first = True
    if json_out:
        print("[", end="")
    while True:
        rows = cur.fetchmany(2048)
        if not rows:
            break
        for r in rows:
            d = dict(zip(names, r, strict=True))
            ref = PacketRef(d["capture_id"], d["frame"], 0, d["iface"], d["linktype"], d["file_offset"],
                            d["caplen"], d["wirelen"])
            rec = store.read(ref)
            text = view.line(rec.ts_ns, ref.linktype, rec.data, ref.wirelen)
            lines = view.dump(ref.linktype, rec.data, dump[0], link=dump[1]) if dump else []
            if json_out:
                obj = json_row({k: v for k, v in d.items() if k != "file_offset"})
                obj["summary"] = text
                if dump:
                    obj["data_hex"] = (rec.data if dump[1] else view.payload(ref.linktype, rec.data)).hex()
                print(("" if first else ",\n") + json.dumps(obj), end="")
            else:
                print(text)
                for line in lines:
                    print(line)
            first = False
    if json_out:
        print("]")


def register(app: typer.Typer) -> None:
    app.command("packets")(packets_command)
