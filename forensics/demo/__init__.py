"""`forensics demo`: generate a day of office traffic, import it, run the site reports, write HTML + JSON.

    result = run_demo(Path("sample_data"))
    print(result.site, result.json)

Outputs in out_dir: office_day.pcap and office_day.truth.json (the generator's ground truth),
forensics.toml (the office network), demo.duckdb (the case, with the alerts of `forensics check`), index.html
(+ report pages and alerts.html) and
demo.json (top talkers, protocol mix, top ports).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from forensics.demo.casefile import write_config
from forensics.demo.generate import DEFAULT_PACKETS, DEFAULT_SEED, write_day
from forensics.errors import InputError

DB_NAME = "demo.duckdb"
JSON_NAME = "demo.json"
SITE_TITLE = "forensics demo: a day at the office (2026-03-10)"
JSON_REPORTS = ("top_talkers", "protocol_mix", "top_ports")
ALERTS_PAGE = "alerts.html"


@dataclass
class DemoResult:
    """Where `run_demo` wrote what, and how long each stage took (seconds)."""

    out_dir: Path
    pcap: Path
    truth: Path
    config: Path
    db: Path
    site: Path
    json: Path
    packets: int
    flows: int
    reports: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready form (paths as text)."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


def _remove_case(db: Path) -> None:
    """Remove the previous demo case: a single file and its log, or a lake folder (only when it is a case)."""
    if db.is_dir():
        if (db / "case.duckdb").exists() or not any(db.iterdir()):
            shutil.rmtree(db)
        return
    for path in (db, db.with_name(db.name + ".wal")):
        if path.exists():
            path.unlink()


def run_demo(out_dir: Path, progress: Callable[[str], None] | None = None, seed: int = DEFAULT_SEED,
             packets: int = DEFAULT_PACKETS) -> DemoResult:
    """Generate, import into a fresh `<out_dir>/demo.duckdb`, run the site reports, write the site and JSON.

    `progress(message)` is called once per stage. Raises InputError if the generated capture does not import.
    """
    from forensics.checks import run_checks
    from forensics.config import load_config
    from forensics.ingest import ImportOptions, import_paths
    from forensics.render import render
    from forensics.render.alerts import render_alerts_html
    from forensics.render.html import IndexEntry
    from forensics.render.site import write_site
    from forensics.reports import SITE_REPORTS, run_report
    from forensics.store import Case

    say = progress or (lambda message: None)
    out_dir = Path(out_dir)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    capture = write_day(out_dir, seed=seed, packets=packets)
    config = write_config(out_dir)
    seconds["generate"] = round(time.perf_counter() - t, 3)
    say(f"generated {capture.truth['packets']:,} packets: {capture.pcap}")

    db = out_dir / DB_NAME
    _remove_case(db)
    t = time.perf_counter()
    with Case.open(db) as case:
        summary = import_paths(case, [str(capture.pcap)], ImportOptions())
        if summary.exit_code != 0:
            bad = next(f for f in summary.files if f.status in ("partial", "rejected"))
            raise InputError(bad.path, bad.offset, f"demo capture did not import: {bad.message}",
                             "This is a bug in forensics; please report it")
        totals = summary.totals()
        seconds["import"] = round(time.perf_counter() - t, 3)
        say(f"imported {totals['packets']:,} packets, {totals['flows']:,} flows into {db}")

        t = time.perf_counter()
        names = list(SITE_REPORTS) + [n for n in JSON_REPORTS if n not in SITE_REPORTS]
        by_name = {name: run_report(case, name, {}) for name in names}
        results = [by_name[name] for name in SITE_REPORTS]
        seconds["reports"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        checks = run_checks(case, config=load_config(None, db))
        seconds["checks"] = round(time.perf_counter() - t, 3)
        say(f"checks raised {len(checks.alerts)} alerts")
    t = time.perf_counter()
    (out_dir / ALERTS_PAGE).write_text(render_alerts_html(checks.alerts, checks, index_href="index.html"),
                                       encoding="utf-8")
    alerts_entry = IndexEntry(ALERTS_PAGE, "Alerts", "alerts", "What the checks found: planted incidents with "
                              "their evidence commands", len(checks.alerts))
    site = write_site(results, out_dir, SITE_TITLE, extra=[alerts_entry])
    doc = {
        "title": SITE_TITLE, "capture": str(capture.pcap), "truth": str(capture.truth_path), "case": str(db),
        "packets": totals["packets"], "flows": totals["flows"],
        "reports": {name: json.loads(render(by_name[name], "json")) for name in JSON_REPORTS},
        "alerts": [a.to_dict() for a in checks.alerts],
    }
    json_path = out_dir / JSON_NAME
    json_path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    seconds["render"] = round(time.perf_counter() - t, 3)
    say(f"wrote {site} and {json_path}")
    return DemoResult(out_dir=out_dir, pcap=capture.pcap, truth=capture.truth_path, config=config, db=db,
                      site=Path(site), json=json_path, packets=totals["packets"], flows=totals["flows"],
                      reports=[r.name for r in results], seconds=seconds)
