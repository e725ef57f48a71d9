"""`forensics runs [NAME]`: the stored report runs; `--diff A B`: what changed between two of them."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from forensics.cli.options import DbOption, JsonFlag, db_path
from forensics.errors import UsageError


def _iso(value: object) -> object:
    from forensics.render.jsonout import iso_z

    return iso_z(value) if hasattr(value, "isoformat") else value


def runs_command(
    name: Annotated[str | None, typer.Argument(help="Only the runs of this report.", show_default=False)] = None,
    diff: Annotated[tuple[int, int] | None, typer.Option("--diff", help="Two run ids A B: the bins and items whose "
                    "values changed from A to B, and by how much.", show_default=False)] = None,
    db: DbOption = None,
    json_out: JsonFlag = False,
) -> None:
    """List the report runs stored in the case (every `forensics report` on a writable case, every
    `forensics reconstruct`), or compare two of them.

    Example: forensics runs wannacry; forensics runs --diff 3 7 --json
    """
    from forensics.runs import diff as run_diff
    from forensics.runs import runs
    from forensics.store import Case

    if diff is not None and name is not None:
        raise UsageError("forensics runs: give a report NAME or --diff A B, not both")
    with Case.open(db_path(db), read_only=True) as case:
        rows = run_diff(case, diff[0], diff[1]) if diff is not None else runs(case, name)
    rows = [{k: _iso(v) for k, v in r.items()} for r in rows]
    if json_out:
        key = "changes" if diff is not None else "runs"
        doc: dict = {key: rows}
        if diff is not None:
            doc.update(a=diff[0], b=diff[1])
        print(json.dumps(doc, indent=2, default=str))
        return
    if diff is not None:
        if not rows:
            print(f"runs {diff[0]} and {diff[1]}: no value changed")
        for r in rows:
            where = r["bin"] or "whole window"
            print(f"{r['section']:<16} {where:<22} {r['item']:<30} {r['measure']:<8} "
                  f"{_num(r['value_a'])} -> {_num(r['value_b'])} ({_num(r['change'], signed=True)})")
        return
    for r in rows:
        print(f"{r['run_id']:>5} {r['name']:<20} {r['kind']:<11} {r['from_ts']} .. {r['to_ts']} "
              f"bin {r['bin_secs']}s  basis {r['basis']}  computed {r['computed_at']}  "
              f"def {r['definition_sha256'][:12]}  "
              f"{r['values']} values")


def _num(value: object, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.6g}" if signed else f"{value:.6g}"


def register(app: typer.Typer) -> None:
    app.command("runs")(runs_command)
