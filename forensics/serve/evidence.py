"""The packets behind a report row, as a pcap download: what `forensics carve --report NAME --item N` writes.

The report runs with the page's parameters, the row becomes a pcap-filter expression (the same test as the CLI:
forensics.reports.items.item_filter), and the matching packets are carved from their original files,
byte-identical, into a temporary folder that is removed once the download is sent.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from forensics.carve import carve, packet_selection, select_packets
from forensics.reports.items import item_filter
from forensics.serve.caseaccess import CaseSource
from forensics.serve.pages import run_page_report
from forensics.store import Case


def carve_row(case: Case, source: CaseSource, name: str, item: int, form: dict) -> tuple[Path, str]:
    """(file, download name) of the packets of row `item` (form: the page's parameters, plus `section`).

    One link type gives a pcap; several (captures of different link types) give one pcapng that keeps them.
    The caller removes the file's folder."""
    form = dict(form)
    section = form.pop("section", None)
    result = run_page_report(case, source, name, form)
    row = item_filter(result, item, section)
    expr = f"({row}) and ({result.filter_expr})" if result.filter_expr else row
    where, params = packet_selection(case.con, expr)
    refs = select_packets(case.con, where, params)
    folder = Path(tempfile.mkdtemp(prefix="forensics-serve-"))
    try:
        out = folder / f"item-{item}.pcap"
        files = carve(case.con, refs, out)
        if len(files) > 1:
            out = folder / f"item-{item}.pcapng"
            files = carve(case.con, refs, out, pcapng=True)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return files[0].path, f"{name}-item-{item}{files[0].path.suffix}"
