"""The packets behind a report row or an alert, as a pcap download: what `forensics carve --report NAME
--item N` (or `forensics carve --alert ID`) writes.

The report runs with the page's parameters, the row becomes a pcap-filter expression (the same test as the CLI:
forensics.reports.items.item_filter), and the matching packets are carved from their original files,
byte-identical, into a temporary folder that is removed once the download is sent.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from forensics.carve import carve, packet_selection, select_packets
from forensics.checks import alert_selection
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
    path = _carve_to_temp(case, refs, f"item-{item}")
    return path, f"{name}-item-{item}{path.suffix}"


def carve_alert(case: Case, alert_id: int) -> tuple[Path, str]:
    """(file, download name) of an alert's evidence over its window: `forensics carve --alert ID`'s packets.
    The caller removes the file's folder."""
    evidence, window, window_params = alert_selection(case, alert_id)
    where, params = packet_selection(case.con, evidence)
    refs = select_packets(case.con, f"({where}) AND {window}", {**params, **window_params})
    path = _carve_to_temp(case, refs, f"alert-{alert_id}")
    return path, path.name


def _carve_to_temp(case: Case, refs: object, stem: str) -> Path:
    """Carve into a new temporary folder: one pcap, or one pcapng when the packets have several link types."""
    folder = Path(tempfile.mkdtemp(prefix="forensics-serve-"))
    try:
        files = carve(case.con, refs, folder / f"{stem}.pcap")
        if len(files) > 1:
            files = carve(case.con, refs, folder / f"{stem}.pcapng", pcapng=True)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return files[0].path
