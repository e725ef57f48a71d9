"""`forensics demo`"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import JsonFlag, QuietFlag
from forensics.cli.output import check_output_folder
from forensics.errors import OutputError

DEFAULT_OUT = Path("sample_data")

OutOption = Annotated[
    Path,
    typer.Option("--out", "-o", help="Folder for the sample capture, its ground truth, the case and the pages.",
                 file_okay=False),
]


def demo_command(out: OutOption = DEFAULT_OUT, json_out: JsonFlag = False, quiet: QuietFlag = False) -> None:
    """Generate a day of office traffic with planted incidents, import it, write an HTML page and a JSON file.

    The capture is deterministic (same bytes every run). Incidents: a WannaCry-like TCP 445 sweep, a SYN
    flood, a host using an external DNS server, an SSH connection opened at 02:30 UTC.

    Example: forensics demo --out /tmp/demo
    """
    from forensics.demo import run_demo

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    check_output_folder(out)
    try:
        result = run_demo(out, progress=say)
    except OSError as exc:  # the disk filled up or the folder went away while writing
        raise OutputError(str(exc.filename or out), f"cannot write: {exc.strerror or exc}") from None
    if json_out:
        print(json.dumps(result.to_dict(), indent=2))
        return
    print(f"capture:      {result.pcap}  (ground truth: {result.truth})")
    print(f"case:         {result.db}  ({result.packets:,} packets, {result.flows:,} flows)")
    print(f"HTML report:  {result.site}")
    print(f"JSON summary: {result.json}")
    print(f"next: forensics info --db {result.db}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
