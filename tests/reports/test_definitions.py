"""The .sql definition header: parsing, declared == used, errors with file:line, catalog loading."""

from __future__ import annotations

import pytest

from forensics.errors import DefinitionError
from forensics.reports import list_reports
from forensics.sqlfiles import load_catalog, parse_definition, placeholders

GOOD = """-- name: demo_report
-- title: Demo
-- description: counts
-- param: top INTEGER = 10
-- param: who VARCHAR = 'a''b'
-- param: since TIMESTAMP
-- dimensions: ip
-- measures: total
-- unit: pps
SELECT 1 AS rank, NULL AS bin, 'x' AS ip, 2.0 AS total
WHERE $top > 0 AND $who <> '' AND $since IS NOT NULL
"""


def test_parses_header_and_defaults():
    d = parse_definition("x.sql", GOOD)
    assert (d.name, d.title, d.unit, d.dimensions, d.measures) == ("demo_report", "Demo", "pps", ("ip",), ("total",))
    assert [(p.name, p.type, p.default, p.has_default) for p in d.params] == [
        ("top", "INTEGER", 10, True), ("who", "VARCHAR", "a'b", True), ("since", "TIMESTAMP", None, False)]
    assert d.sql.startswith("SELECT 1")


def test_placeholders_ignore_comments_and_strings():
    assert placeholders("SELECT $a, '$b' -- $c\n /* $d */ FROM t WHERE x = $e_1") == {"a", "e_1"}


@pytest.mark.parametrize("edit, line, reason", [
    (("-- unit: pps", "-- colour: red"), 9, "unknown header key 'colour'"),
    (("WHERE $top > 0", "WHERE $top > 0 AND $nope"), 10, "used but not declared: nope"),
    (("-- param: top INTEGER = 10\n", "-- param: top INTEGER = 10\n-- param: extra INTEGER = 1\n"), 5,
     "declared but not used: extra"),
    (("-- param: since TIMESTAMP", "-- param: since DATETIME"), 6, "type DATETIME is not one of"),
    (("-- param: top INTEGER = 10", "-- param: top INTEGER = ten"), 4, "default 'ten'"),
    (("-- name: demo_report", "-- name: Demo Report"), 1, "lower_snake_case"),
    (("-- unit: pps", "-- unit: furlongs"), 9, "unit 'furlongs'"),
    (("-- title: Demo\n", ""), 1, "no 'title'"),
])
def test_malformed_definitions_name_file_line_and_reason(edit, line, reason):
    with pytest.raises(DefinitionError) as err:
        parse_definition("bad.sql", GOOD.replace(*edit))
    assert err.value.line == line
    assert str(err.value).startswith(f"bad.sql:{line}: ")
    assert reason in str(err.value)


def test_a_broken_file_is_reported_and_the_others_still_load(tmp_path):
    (tmp_path / "good.sql").write_text(GOOD)
    (tmp_path / "broken.sql").write_text(GOOD.replace("-- name: demo_report", "-- name: broken").replace(
        "WHERE $top", "WHERE $missing AND $top"))
    (tmp_path / "_helper.sql").write_text("CREATE TEMP MACRO m() AS 1;")
    catalog = load_catalog([tmp_path])
    assert catalog.names() == ["demo_report"]
    assert len(catalog.errors) == 1 and "broken.sql:10: placeholder(s) used but not declared: missing" in str(
        catalog.errors[0])


def test_user_folder_adds_and_overrides_bundled_reports(tmp_path):
    (tmp_path / "mine.sql").write_text(GOOD.replace("-- name: demo_report", "-- name: wannacry"))
    catalog = list_reports([tmp_path])
    assert catalog["wannacry"].title == "Demo"
    assert "top_talkers" in catalog


def test_every_bundled_report_loads_and_declares_what_it_uses():
    catalog = list_reports()
    assert catalog.errors == []
    shipped = {"internet_summary", "attributes", "wannacry", "top_talkers", "top_ports", "protocol_mix",
               "origin_as", "subnetwork_compare", "filter_compare"}
    assert shipped <= set(catalog.names())
    for name in catalog.names():
        d = catalog[name]
        assert d.description and d.measures
        assert {p.name for p in d.params} == placeholders(d.sql)
