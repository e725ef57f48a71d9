"""The report context (config tables and macros) is made once per connection and config
(forensics/reports/context.py): reports run one after another on one connection give what each gives on a
connection of its own, whatever ran before (another config, --basis flows, analyst SQL, a rolled-back
transaction)."""

from __future__ import annotations

import pytest

import forensics.reports.context as context
from forensics.config import load_config
from forensics.ingest import import_paths
from forensics.reports import run_report
from forensics.reports.adhoc import run_sql
from forensics.store import Case
from tests import builders as b

T0 = 1473163200.0  # 2016-09-06T12:00:00Z
WINDOW = {"from": "2016-09-06T12:00:00Z", "to": "2016-09-06T13:00:00Z"}


def _frames() -> list[tuple[float, bytes]]:
    out = []
    for i in range(240):  # 10.0.0.5 <-> the internet, 192.168.1.9 -> 10.0.0.5 (home to home under one config):
        t = T0 + i * 5.0  # flows of 20 minutes, over several 5-minute bins
        out.append((t, b.eth(0x0800, b.ipv4("10.0.0.5", "93.184.216.34", 6, b.tcp(50000, 443, 0x10, b"x" * (i % 50))))))
        out.append((t + 1, b.eth(0x0800, b.ipv4("93.184.216.34", "10.0.0.5", 6, b.tcp(443, 50000, 0x10,
                                                                                          b"y" * (100 + i % 70))))))
        out.append((t + 2, b.eth(0x0800, b.ipv4("192.168.1.9", "10.0.0.5", 17, b.udp(5353, 53, b"q" * 20)))))
    return out


def _config(folder, home: str):
    path = folder / f"home-{home.replace('/', '_')}.toml"
    path.write_text(f'[home]\nnetworks = ["{home}"]\n')
    return load_config(path, None)


def _rows(result: object) -> list:
    return [(s.name, [(i.rank, i.names, i.values, i.others) for i in s.items], sorted(s.series.items()))
            for s in result.sections]


@pytest.fixture(scope="module")
def case_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("context_reuse")
    capture = folder / "mixed.pcap"
    capture.write_bytes(b.pcap_file(_frames()))
    with Case.open(folder / "case.duckdb") as case:
        assert import_paths(case, [str(capture)]).exit_code == 0
    return folder


def _fresh(folder, name: str, params: dict, config) -> list:
    with Case.open(folder / "case.duckdb", read_only=True) as case:
        return _rows(run_report(case, name, {**WINDOW, **params}, config=config))


def test_reports_in_a_row_equal_each_on_its_own_connection(case_path, monkeypatch):
    made = []
    real = context._literal_home
    monkeypatch.setattr(context, "_literal_home", lambda con, config: (made.append(1), real(con, config)))
    narrow, wide = _config(case_path, "10.0.0.0/8"), _config(case_path, "192.168.0.0/16")
    runs = [("protocol_mix", {}, narrow), ("protocol_mix", {"basis": "flows"}, narrow),
            ("protocol_mix", {}, narrow), ("top_talkers", {}, wide), ("internet_summary", {}, wide),
            ("internet_summary", {}, narrow)]
    with Case.open(case_path / "case.duckdb", read_only=True) as case:
        in_a_row = [_rows(run_report(case, name, {**WINDOW, **params}, config=config))
                    for name, params, config in runs]
    assert made == [1, 1, 1]  # the whole context for the first run and each change of config only
    for rows, (name, params, config) in zip(in_a_row, runs, strict=True):
        assert rows == _fresh(case_path, name, params, config), (name, params)
    assert in_a_row[0] != in_a_row[1]  # --basis flows binned otherwise: the union traffic() came back after it
    assert in_a_row[4] != in_a_row[5]  # the home networks decide the directions: the config was not reused


def test_analyst_sql_redefining_a_macro_does_not_reach_the_next_report(case_path):
    config = _config(case_path, "10.0.0.0/8")
    with Case.open(case_path / "case.duckdb", read_only=True) as case:
        before = _rows(run_report(case, "internet_summary", dict(WINDOW), config=config))
        result = run_sql(case, "CREATE OR REPLACE TEMP MACRO is_home(a) AS true; SELECT 1 AS one", config)
        assert [r for batch in result.batches() for r in batch] == [(1,)]
        after = _rows(run_report(case, "internet_summary", dict(WINDOW), config=config))
    assert after == before


def test_a_context_rolled_back_with_its_transaction_is_made_again(case_path):
    config = _config(case_path, "10.0.0.0/8")
    with Case.open(case_path / "case.duckdb", read_only=True) as case:
        case.con.execute("BEGIN TRANSACTION")
        inside = _rows(run_report(case, "protocol_mix", dict(WINDOW), config=config))
        case.con.execute("ROLLBACK")
        after = _rows(run_report(case, "protocol_mix", dict(WINDOW), config=config))
    assert after == inside == _fresh(case_path, "protocol_mix", {}, config)
