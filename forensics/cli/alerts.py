"""`forensics alerts`: list the alerts stored by `forensics check`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import DbOption, JsonFlag, db_path
from forensics.errors import UsageError


def alerts_command(
    db: DbOption = None,
    check: Annotated[str | None, typer.Option("--check", help="Only this check's alerts.", show_default=False)]
    = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only alerts about this IP address (or object).",
                                               show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write an HTML page (.html) or JSON "
                                                "(.json) to this file.", show_default=False)] = None,
    json_out: JsonFlag = False,
) -> None:
    """List stored alerts in time order, with their evidence filter; `-o alerts.html` writes the alerts page.

    Example: forensics alerts --check host_sweep --json
    """
    from forensics.checks import load_alerts
    from forensics.render.alerts import render_alerts_html, render_alerts_json, render_alerts_table
    from forensics.store import Case

    with Case.open(db_path(db), read_only=True) as case:
        alerts = load_alerts(case, check, entity.strip() if entity else None)
    if output is not None:
        suffix = output.suffix.lower()
        if suffix in (".html", ".htm"):
            text = render_alerts_html(alerts)
        elif suffix == ".json":
            text = render_alerts_json(alerts, output_file=str(output))
        else:
            raise UsageError(f"-o {output}: name an .html or .json file")
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output} ({len(alerts)} alerts)", file=sys.stderr)
        return
    sys.stdout.write(render_alerts_json(alerts) if json_out else render_alerts_table(alerts))


def register(app: typer.Typer) -> None:
    app.command("alerts")(alerts_command)
