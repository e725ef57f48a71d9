"""A report run asks the catalog once (forensics/store/catalog_probe.py): the probes give within steady_catalog
what they give by their own queries, on a lake and on a single file, and on a case lacking the tables they look
for; the snapshot is taken at entry and let go at exit."""

from __future__ import annotations

import pytest

from forensics.ingest import import_paths
from forensics.reports.coverage import _drop_counts_held
from forensics.store import Case
from forensics.store.catalog_probe import persistent_objects, remembered, steady_catalog
from forensics.store.flow_list import ensure_flow_app
from forensics.store.lake_stats import _listed_parts, _root, is_lake_flows, part_views
from forensics.store.retain import has_retention
from tests import builders as b

T0 = 1473163200.0  # 2016-09-06T12:00:00Z


def _capture(folder):
    frames = []
    for i in range(40):
        frames.append((T0 + i, b.eth(0x0800, b.ipv4("10.0.0.5", "93.184.216.34", 6, b.tcp(50000, 443, 0x18, b"x")))))
        frames.append((T0 + i + 0.5, b.eth(0x0800, b.ipv4("10.0.0.7", "10.0.0.5", 17, b.udp(5353, 53, b"q")))))
    path = folder / "two.pcap"
    path.write_bytes(b.pcap_file(frames))
    return path


def _answers(con) -> dict:
    return {"retention": has_retention(con), "lake": is_lake_flows(con, "flows"),
            "lake_main": is_lake_flows(con, "main.flows"), "drops": _drop_counts_held(con), "root": _root(con),
            "parts": sorted(_listed_parts(con)) if is_lake_flows(con, "main.flows") else None,
            "pinned": part_views(con)}


@pytest.mark.parametrize("layout", ["lake", "file"])
def test_probes_answer_the_same_within_a_run(tmp_path, monkeypatch, layout):
    monkeypatch.setenv("FORENSICS_LAYOUT", layout)
    capture = _capture(tmp_path)
    with Case.open(tmp_path / "case.duckdb") as case:
        assert import_paths(case, [str(capture)]).exit_code == 0
    with Case.open(tmp_path / "case.duckdb") as case:
        con = case.con
        outside = _answers(con)
        with steady_catalog(con):
            assert persistent_objects(con) is not None
            assert _answers(con) == outside
        assert persistent_objects(con) is None
        assert outside["retention"] and outside["drops"]
        assert outside["lake"] == (layout == "lake")
        # a case without the tables the probes look for (as one made before them): the same answers both ways
        con.execute("DROP TABLE flow_sequence_gaps")
        con.execute("DROP TABLE traffic_summary")
        outside = _answers(con)
        assert not outside["retention"] and not outside["drops"]
        with steady_catalog(con):
            assert _answers(con) == outside


def test_snapshot_is_taken_at_entry_and_answers_are_kept_for_the_run(case):
    con = case.con
    asked = []

    def ask() -> int:
        asked.append(1)
        return len(asked)

    assert remembered(con, "q", ask) == 1 and remembered(con, "q", ask) == 2  # outside: asked every time
    with steady_catalog(con):
        assert remembered(con, "q", ask) == 3 and remembered(con, "q", ask) == 3
        con.execute("CREATE TABLE made_inside (a INTEGER)")
        assert "made_inside" not in persistent_objects(con).tables  # the contract: a run makes no persistent object
        with steady_catalog(con):  # nested: the outer snapshot and answers stay
            assert remembered(con, "q", ask) == 3
        assert remembered(con, "q", ask) == 3
    with steady_catalog(con):
        assert "made_inside" in persistent_objects(con).tables
        assert remembered(con, "q", ask) == 4
    assert persistent_objects(con) is None


def test_flow_app_stand_in_is_made_once(tmp_path):
    with Case.open(tmp_path / "case.duckdb") as case:
        case.con.execute("DROP TABLE flow_app")
        with steady_catalog(case.con):
            ensure_flow_app(case.con)
            ensure_flow_app(case.con)  # the snapshot does not see the TEMP stand-in: made only if absent
        assert case.con.execute("SELECT count(*) FROM flow_app").fetchone()[0] == 0
