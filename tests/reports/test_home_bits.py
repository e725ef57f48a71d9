"""The home bits a lake's import stores with each flow (forensics/store/home_bits.py): the same answers as is_home,
read by the reports only when the home blocks they run with are those of the import."""

from __future__ import annotations

import ipaddress
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import forensics.reports.runner as runner
from forensics.config import config_from_text, default_config
from forensics.ingest import ImportOptions, import_paths
from forensics.reports import run_report
from forensics.reports.context import install_context
from forensics.reports.traffic import flow_traffic_sql
from forensics.resources import read_sql
from forensics.store import Case, lake_stats
from forensics.store.home_bits import home_bits, home_fingerprint, home_ranges
from forensics.store.lake_stats import HOME_VIEW
from tests.conftest import CORPUS

FILES = ["files/suricata-verify/smb2-07__20171220_smb_psexec_add_user.pcap",  # IPv4, private and public
         "files/graylog-netflow/nprobe-netflow9-3.pcap",  # NetFlow v9 records: exported flows
         "files/pmacct/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources__traffic-00.pcap",  # IPFIX, IPv6 and IPv4
         "files/zeek/ipv6-fragmented-dns.pcap",
         "files/zeek/http-vlan-0.pcap"]
REPORTS = [("protocol_mix", {}), ("protocol_mix", {"unit": "bytes", "bin": "1d"})]
# another home: one public IPv4 block, a narrower private one and an IPv6 block
OTHER_HOME = '[home]\nnetworks = ["192.168.1.0/24", "131.243.0.0/16", "2001:db8::/32"]\n'


@pytest.fixture(autouse=True)
def _small_cases_read_the_bits(monkeypatch):
    """The corpus captures here hold far fewer flows than the size from which reports read the bits."""
    monkeypatch.setattr(lake_stats, "HOME_BITS_MIN_ROWS", 0)


def _addresses(rng: random.Random) -> list[int | None]:
    """Edges of every default home block, mapped IPv4 and IPv6 at random, special addresses and NULL."""
    out: list[int | None] = [None, 0, 1, (0xFFFF << 32), (1 << 128) - 1]
    for net in default_config().home:
        for a in (net.lo - 1, net.lo, net.lo + 1, net.hi - 1, net.hi, net.hi + 1):
            if 0 <= a < 1 << 128:
                out.append(a)
        out += [rng.randint(net.lo, net.hi) for _ in range(20)]
    out += [(0xFFFF << 32) | rng.getrandbits(32) for _ in range(500)]
    out += [rng.getrandbits(128) for _ in range(200)]
    out += [int(ipaddress.ip_address(f"fd{rng.getrandbits(8):02x}::{rng.getrandbits(16):x}")) for _ in range(50)]
    return out


def test_home_bits_equal_is_home(tmp_path):
    config = default_config()
    values = _addresses(random.Random(11))
    ranges = home_ranges((n.lo, n.hi) for n in config.home)
    hi = pa.array([None if a is None else a >> 64 for a in values], pa.uint64())
    lo = pa.array([None if a is None else a & ((1 << 64) - 1) for a in values], pa.uint64())
    ours = home_bits(hi, lo, ranges).to_pylist()
    case = Case.open(tmp_path / "case")  # (the report macros bind to a case's tables)
    con = case.con
    install_context(con, config)
    con.execute("CREATE TEMP TABLE a AS SELECT unnest($v::VARCHAR[])::UHUGEINT AS a, "
                "generate_subscripts($v::VARCHAR[], 1) AS i", {"v": [None if a is None else str(a) for a in values]})
    theirs = [r[0] for r in con.execute("SELECT is_home(a) FROM a ORDER BY i").fetchall()]
    case.close()
    assert ours == theirs
    assert sum(ours) > 100 and ours.count(False) > 500  # both answers occur


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    path = tmp_path_factory.mktemp("lake") / "case"
    with Case.open(path) as case:
        summary = import_paths(case, [str(CORPUS / f) for f in FILES], ImportOptions(jobs=1))
        assert all(r.status == "imported" for r in summary.files), [r.message for r in summary.files]
    return path


def _rows(result: object) -> list:
    return [(s.name, [(i.rank, i.names, i.values, i.others) for i in s.items], sorted(s.series.items()))
            for s in result.sections]


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    seen: list[bool] = []
    real = runner.home_bits_usable

    def spy(con, config, pinned):  # noqa: ANN001, ANN202
        seen.append(real(con, config, pinned))
        return seen[-1]

    monkeypatch.setattr(runner, "home_bits_usable", spy)
    return seen


def test_lake_import_writes_the_bits(lake):
    with Case.open(lake, read_only=True) as case:
        con = case.con
        fp = home_fingerprint(home_ranges((n.lo, n.hi) for n in default_config().home))
        assert con.execute("SELECT count(*), count(*) FILTER (WHERE home_fp = $fp) FROM flow_home_bits",
                           {"fp": fp}).fetchone() == (len(FILES), len(FILES))
        parts = [r[0] for r in con.execute("SELECT path FROM lake_parts WHERE table_name = 'flows'").fetchall()]
        stored = [pq.read_table(lake / p, columns=["src_home", "dst_home"]) for p in parts]
        assert sum(t.num_rows for t in stored) == con.execute("SELECT count(*) FROM flows").fetchone()[0] > 0
        # each part's bits are is_home of the view's addresses, row for row
        install_context(con, default_config())
        for p in parts:
            expected = con.execute(
                "SELECT is_home(src_ip), is_home(dst_ip) FROM lake_flows([$p]) ORDER BY flow_id",
                {"p": str(lake / p)}).fetchall()
            got = pq.read_table(lake / p, columns=["flow_id", "src_home", "dst_home"]).sort_by("flow_id")
            assert list(zip(got.column("src_home").to_pylist(), got.column("dst_home").to_pylist(),
                            strict=True)) == expected
        assert any(b.column("src_home").to_pylist().count(True) for b in stored)


@pytest.mark.parametrize(("name", "params"), REPORTS)
def test_reports_read_the_bits_with_the_same_rows(lake, monkeypatch, name, params):
    with Case.open(lake, read_only=True) as case:
        seen = _spy(monkeypatch)
        with_bits = run_report(case, name, dict(params))
        assert seen == [True]
        monkeypatch.setattr(runner, "home_bits_usable", lambda con, config, pinned: False)
        tested = run_report(case, name, dict(params))
        assert _rows(with_bits) == _rows(tested)
        assert any(s.items for s in tested.sections)
        # the plain flow_traffic() is back after the report: it names no view of the report's pins
        macro = case.con.execute("SELECT macro_definition FROM duckdb_functions() "
                                 "WHERE function_name = 'flow_traffic'").fetchone()[0]
        assert HOME_VIEW not in macro


def test_other_home_blocks_test_the_addresses(lake, tmp_path, monkeypatch):
    """With home blocks other than the import's, the bits are not read, and the rows are a single-file case's."""
    config = config_from_text(OTHER_HOME, str(tmp_path / "forensics.toml"), tmp_path)
    single = tmp_path / "single.duckdb"
    monkeypatch.setenv("FORENSICS_LAYOUT", "file")
    with Case.open(single) as case:
        import_paths(case, [str(CORPUS / f) for f in FILES], ImportOptions(jobs=1))
    with Case.open(lake, read_only=True) as lake_case, Case.open(single, read_only=True) as file_case:
        seen = _spy(monkeypatch)
        ours = run_report(lake_case, "protocol_mix", {}, config=config)
        theirs = run_report(file_case, "protocol_mix", {}, config=config)
        default = run_report(lake_case, "protocol_mix", {})
    assert seen == [False, False, True]
    assert _rows(ours) == _rows(theirs)
    assert _rows(ours) != _rows(default)  # the other blocks change in and out


def test_a_part_without_the_bits_is_read_as_before(lake, tmp_path, monkeypatch):
    """Parts written before the bits existed: no bits read, the same rows; a filter also leaves them unread."""
    import shutil
    old = tmp_path / "old"
    shutil.copytree(lake, old)
    with Case.open(old, read_only=True) as case:
        before = run_report(case, "protocol_mix", {})
        seen = _spy(monkeypatch)
        filtered = run_report(case, "protocol_mix", {}, filter_expr="not port 53")
        assert seen == [False]
        parts = [r[0] for r in case.con.execute(
            "SELECT path FROM lake_parts WHERE table_name = 'flows' ORDER BY path").fetchall()]
    assert any(s.items for s in filtered.sections)
    table = pq.read_table(old / parts[0])
    pq.write_table(table.drop_columns(["src_home", "dst_home"]), old / parts[0])
    with Case.open(old, read_only=True) as case:
        seen.clear()
        after = run_report(case, "protocol_mix", {})
        assert seen == [False]
    assert _rows(after) == _rows(before)


def test_small_cases_test_the_addresses(lake, monkeypatch):
    """Below HOME_BITS_MIN_ROWS flows the report tests the addresses (reading the bits costs more statements than
    it spares there): no bits view is made."""
    monkeypatch.setattr(lake_stats, "HOME_BITS_MIN_ROWS", 10**9)
    with Case.open(lake, read_only=True) as case:
        seen = _spy(monkeypatch)
        run_report(case, "protocol_mix", {})
    assert seen == [False]


def test_case_home_is_the_config_the_reports_load(tmp_path):
    """Without forensics.toml beside the case: the built-in blocks (without loading forensics.config); with one:
    its blocks; with one that does not load: None (the import goes on, its flows without bits)."""
    from forensics.ingest import case_home

    with Case.open(tmp_path / "a" / "case") as case:
        builtin = home_ranges((n.lo, n.hi) for n in default_config().home)
        assert case_home(case) == builtin
        (tmp_path / "a" / "forensics.toml").write_text(OTHER_HOME)
        other = config_from_text(OTHER_HOME, str(tmp_path / "a" / "forensics.toml"), tmp_path / "a")
        assert case_home(case) == home_ranges((n.lo, n.hi) for n in other.home) != builtin
        (tmp_path / "a" / "forensics.toml").write_text('[home]\nnetworks = ["10.0.0.0/33"]\n')
        assert case_home(case) is None
        summary = import_paths(case, [str(CORPUS / FILES[0])], ImportOptions(jobs=1))
        assert [r.status for r in summary.files] == ["imported"]
        assert case.con.execute("SELECT count(*) FROM flow_home_bits").fetchone()[0] == 0


def test_flow_traffic_forms_differ_only_in_the_home_tests():
    context = read_sql("reports/_context.sql")
    plain, bits = flow_traffic_sql(context, False), flow_traffic_sql(context, True)
    assert plain in context and "is_home(f.src_ip) AS src_home" in plain
    back = bits.replace("f.src_home AS src_home", "is_home(f.src_ip) AS src_home")
    back = back.replace("f.dst_home AS dst_home", "is_home(f.dst_ip) AS dst_home")
    assert back.replace(f"FROM {HOME_VIEW} f", "FROM flows f") == plain and back != bits
