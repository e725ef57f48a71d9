"""`forensics flows`: the flow records one line each, like `nfdump -o line`."""

from __future__ import annotations

from typing import Annotated

import typer

from forensics.cli.options import (
    ConfigOption,
    CsvFlag,
    DbOption,
    FilterOption,
    FromOption,
    JsonFlag,
    db_path,
)
from forensics.cli.streaming import write_stream
from forensics.errors import UsageError


def flows_command(
    db: DbOption = None,
    filter_expr: FilterOption = None,
    count_limit: Annotated[int | None, typer.Option("-c", help="List at most N flows (after sorting), as nfdump -c.",
                                                    show_default=False)] = None,
    start: FromOption = None,
    end: Annotated[str | None, typer.Option("--to", help="Only flows that start before this time (exclusive).",
                                            show_default=False)] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only records from this source: pcap (metered "
                                               "from packets), netflow_v5, netflow_v9, ipfix, sflow, nfcapd, ...",
                                               show_default=False)] = None,
    sort: Annotated[str, typer.Option("--sort", help="first (time order) | bytes | packets (largest first).")]
    = "first",
    config: ConfigOption = None,
    csv_out: CsvFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """List flows one line each, as nfdump -o line does (a table on a terminal and in a pipe).

    --filter is a tcpdump expression applied to the flow records (host, net, port, proto, tcp flags as the
    OR over the flow, vlan, icmp type); --from/--to select by first seen (UTC). Counts are as each record
    has them (IP-layer bytes). The listing ends with nfdump's summary of the listed flows. App: the first
    [applications] signature of the case config matching the flow, else its label from payload evidence
    (pcap-derived flows; README "Application labels").

    Example: forensics flows --filter 'tcp dst port 445' --sort bytes -c 20
    """
    from forensics.config import load_config
    from forensics.reports.context import install_context
    from forensics.sqlfiles import parse_timestamp
    from forensics.store import Case
    from forensics.store.flow_list import listing_sql, sources, summary_sql
    from forensics.store.lake_stats import parts_pinned

    if csv_out and json_out:
        raise UsageError("flows: choose one of --csv and --json")
    if count_limit is not None and count_limit < 1:
        raise UsageError("-c: give a positive number of flows")
    times = {}
    for name, value in (("--from", start), ("--to", end)):
        if value is not None:
            try:
                times[name] = parse_timestamp(value)
            except ValueError:
                raise UsageError(f"{name} {value!r}: write an ISO time such as 2016-09-06T12:00:00Z") from None
    where = None
    if filter_expr:
        from forensics.filters import compile_filter

        where = compile_filter(filter_expr, "flows", prefix="f")
    sql, params = listing_sql(where, times.get("--from"), times.get("--to"), source, sort, count_limit)
    case_config = load_config(config, db_path(db))
    with Case.open(db_path(db), read_only=True) as case:
        con = case.con
        if source is not None and source not in sources(con):
            known = ", ".join(sources(con)) or "none: the case holds no flows"
            raise UsageError(f"--source {source!r}: the case has no flows from it (it has: {known})")
        cursor = con.cursor()  # the listing streams from its own cursor; the summary runs on the case's
        # a lake read part by part (lake_stats.pin_parts: TEMP views, so on the cursor too), with the parts'
        # statistics: bench/README.md "Lake reads for check, flows, packets, sql, carve (s9-lakecmds)"
        with parts_pinned(cursor, con, tables=("flows",)):
            install_context(cursor, case_config)  # app_of and _apps: the signatures (TEMP, so on the cursor itself)
            install_context(con, case_config)
            cursor.execute(sql, params)
            columns = [d[0] for d in cursor.description]

            def batches():  # noqa: ANN202
                while rows := cursor.fetchmany(2048):
                    yield rows

            if csv_out or json_out:
                from forensics.render.rows import csv_lines, json_chunks

                write_stream((csv_lines if csv_out else json_chunks)(columns, batches()))
                return
            from forensics.render.flow_lines import HEADER, line_maker, summary_lines

            flow_line = line_maker(columns)

            def lines():  # noqa: ANN202
                yield HEADER + "\n"
                for batch in batches():
                    yield "".join(flow_line(row) + "\n" for row in batch)
                cur = con.execute(summary_sql(sql), params)
                summary = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
                yield "".join(line + "\n" for line in summary_lines(summary))

            write_stream(lines())


def register(app: typer.Typer) -> None:
    app.command("flows")(flows_command)
