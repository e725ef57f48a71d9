"""forensics.toml: defaults, parsing, and one-line errors that say where and what to write."""

from __future__ import annotations

import pytest

from forensics.config import (
    CONFIG_NAME,
    config_from_text,
    default_config,
    load_config,
    parse_conditions,
    parse_signature,
)
from forensics.errors import UsageError
from forensics.netaddr import cidr_range


def test_defaults_without_any_config(tmp_path):
    cfg = load_config(None, tmp_path / "case.duckdb")
    assert cfg.source is None
    assert [n.cidr for n in cfg.home] == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                          "fc00::/7"]
    sig = {(a.proto, a.port_lo) for a in cfg.applications["WannaCry.attack"]}
    assert sig == {(p, port) for p in (6, 17) for port in (135, 137, 138, 139, 445)}
    assert cfg == default_config()


def test_config_next_to_the_database_is_used(tmp_path):
    (tmp_path / CONFIG_NAME).write_text('[home]\nnetworks = ["198.18.0.0/15"]\n')
    cfg = load_config(None, tmp_path / "case.duckdb")
    assert cfg.source == str(tmp_path / CONFIG_NAME)
    assert [(n.lo, n.hi) for n in cfg.home] == [cidr_range("198.18.0.0/15")]
    assert "WannaCry.attack" in cfg.applications  # defaults stay defined


def test_signature_with_ranges():
    ports = parse_signature("udp 1000-1010,53", "x")
    assert [(a.proto, a.port_lo, a.port_hi) for a in ports] == [(17, 1000, 1010), (17, 53, 53)]


@pytest.mark.parametrize("text, fragment", [
    ('[home]\nnetworks = ["10.0.0.0/33"]', "[home] networks: '10.0.0.0/33' is not a CIDR block"),
    ('[applications]\nbad = "tcp 99999"', "[applications] bad: '99999' is outside 0-65535"),
    ('[applications]\nbad = "tcq 80"', "'tcq' is not a protocol"),
    ('[subnetwork_groups]\ng = ["nope"]', "'nope' is not a subnetwork"),
    ('[filters.f]\nconditions = "src ip in"', "ends early"),
    ('[filters.f]\nscope = "galaxy"', "scope 'galaxy'"),
    ('[colours]\nx = 1', "unknown section [colours]"),
    ('[home\n', "not valid TOML"),
    ('[business_hours]\nstart = "25:00"', "not a time of day"),
])
def test_bad_config_is_one_line_naming_the_place(text, fragment):
    with pytest.raises(UsageError) as err:
        config_from_text(text, "case/forensics.toml")
    msg = str(err.value)
    assert msg.startswith("case/forensics.toml") and fragment in msg and "\n" not in msg


def test_missing_config_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such config file"):
        load_config(tmp_path / "absent.toml")


def test_as_csv_errors_name_the_line(tmp_path):
    (tmp_path / "asn.csv").write_text("prefix,asn,name\n8.8.8.0/24,AS15169,GOOGLE\n1.1.1.0/24,x,CF\n")
    with pytest.raises(UsageError, match=r"asn.csv:3: ASN 'x' is not a number"):
        config_from_text('[as_mapping]\ncsv = "asn.csv"', "t", tmp_path)


def test_conditions_precedence_and_negation():
    tree = parse_conditions("not src ip in HOME or proto = udp and dst port != 53", "x")
    assert tree == ("or", ("not", ("ip", "src", "HOME")), ("and", ("proto", 17), ("not", ("port", "dst", 53))))


def test_report_folders_from_the_config(tmp_path, flows):
    from flowgen import load_case

    from forensics.reports import run_report

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "flow_count.sql").write_text(
        "-- name: flow_count\n-- title: Flows\n-- measures: total\n-- unit: count\n"
        "SELECT 1 AS rank, NULL::TIMESTAMP AS bin, count(*) AS total FROM flows\n")
    (tmp_path / CONFIG_NAME).write_text('[reports]\nqueries = ["mine"]\n')
    case = load_case(str(tmp_path / "case.duckdb"), flows)
    try:
        result = run_report(case, "flow_count")
    finally:
        case.close()
    assert result.sections[0].items[0].values == [float(len(flows))]
    assert result.config["queries"] == [str(folder)]
