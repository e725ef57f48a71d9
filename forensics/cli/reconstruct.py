"""`forensics reconstruct NAME`: recompute a report over what the case holds and store it as a new version."""

from __future__ import annotations

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
    QueriesOption,
    ScopeOption,
    ToOption,
    TopOption,
    UnitOption,
)
from forensics.cli.report import BasisOption, FormatOption, OutputOption, _format, run_and_print


def reconstruct_command(
    name: Annotated[str, typer.Argument(help="Report name (see `forensics reports`; --queries adds new ones).")],
    start: FromOption = None,
    end: ToOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    queries: QueriesOption = None,
    filter_expr: FilterOption = None,
    param: ParamOption = None,
    bin_size: BinOption = None,
    unit: UnitOption = None,
    ip_version: IpVersionOption = "both",
    top: TopOption = None,
    scope: ScopeOption = "any",
    basis: BasisOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Recompute a report (a new or edited definition too) over the data the case holds and store it as a new
    version beside the older ones; prints or renders it like `forensics report`. See `forensics runs`.

    Example: forensics reconstruct wannacry --from 2016-09-06T00:00:00Z --to 2016-09-07T00:00:00Z --json
    """
    chosen = _format(fmt, output, json_out)
    window = {"from": start, "to": end, "bin": bin_size, "unit": unit, "ip_version": ip_version, "top": top,
              "scope": scope, "basis": basis}
    run_and_print(name, chosen, output, db=db, config=config, queries=queries, filter_expr=filter_expr,
                  param=param, window=window, fresh=True, kind="reconstruct")


def register(app: typer.Typer) -> None:
    app.command("reconstruct")(reconstruct_command)
