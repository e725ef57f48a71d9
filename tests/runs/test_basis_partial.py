"""Coverage `partial` from sources known to have dropped (issue 13): a pcapng interface whose statistics block
counts drops, and NetFlow sequence gaps; built captures and a corpus export, the bins checked against the
drop ranges as built (queries/runs/dropped_bins.sql says which bins a range touches)."""

from __future__ import annotations

import datetime as dt

from forensics.ingest import import_paths
from forensics.reports import run_report
from forensics.reports.coverage import bin_coverage, install_retention
from forensics.reports.traffic import flow_spans, install_export_spans
from forensics.resources import read_sql
from forensics.store import Case
from tests import builders as b
from tests.conftest import CORPUS
from tests.runs.test_basis import v5_export

T0 = 1_473_163_200.0  # 2016-09-06T12:00:00Z
START = dt.datetime(2016, 9, 6, 12, 0)


def _bins(n: int) -> list[dt.datetime]:
    return [START + dt.timedelta(minutes=5 * i) for i in range(n)]


def _udp(i: int) -> bytes:
    return b.eth(0x0800, b.ipv4("10.0.0.1", "8.8.8.8", 17, b.udp(1000 + i % 7, 53, b"x" * (20 + i % 50))))


def _pcapng(stats: list) -> bytes:
    """eth0 and eth1, a packet every 10 s from 12:00:00 to 12:20:00 alternating, then the statistics blocks."""
    pkts = [b.Packet(_udp(i), ts=T0 + 10 * i, iface=i % 2) for i in range(121)]
    return b.pcapng_file([b.Section([b.Interface(name="eth0"), b.Interface(name="eth1"), *pkts, *stats])])


def _coverage(tmp_path, files: list, name: str = "c") -> dict:
    with Case.open(tmp_path / f"{name}.duckdb") as case:
        import_paths(case, [str(f) for f in files])
        result = run_report(case, "top_talkers", {"from": "2016-09-06T12:00:00Z", "to": "2016-09-06T12:20:00Z",
                                                  "bin": 300})
    return result.coverage


def test_isb_drops_make_the_bins_of_their_range_partial(tmp_path):
    cap = tmp_path / "drops.pcapng"
    # eth0 dropped 5 packets between 12:05:00 and 12:09:59; eth1 counted no drops all along
    cap.write_bytes(_pcapng([b.InterfaceStats(0, ts=T0 + 599, start=T0 + 300, end=T0 + 599, ifrecv=35, ifdrop=4,
                                              osdrop=1),
                             b.InterfaceStats(1, ts=T0 + 1200, start=T0, end=T0 + 1200, ifrecv=60, ifdrop=0,
                                              osdrop=0)]))
    clean = tmp_path / "clean.pcapng"
    clean.write_bytes(_pcapng([b.InterfaceStats(0, ts=T0 + 1200, start=T0, end=T0 + 1200, ifrecv=60, ifdrop=0)]))
    a, b0, c, d = _bins(4)
    assert _coverage(tmp_path, [cap]) == {a: "packets", b0: "partial", c: "packets", d: "packets"}
    assert _coverage(tmp_path, [clean], "clean") == {a: "packets", b0: "packets", c: "packets", d: "packets"}


def test_isb_drops_without_times_cover_the_whole_capture(tmp_path):
    cap = tmp_path / "drops.pcapng"
    cap.write_bytes(_pcapng([b.InterfaceStats(1, ts=T0 + 1200, osdrop=2)]))
    assert set(_coverage(tmp_path, [cap]).values()) == {"partial"}


def test_netflow_v5_sequence_gap_makes_the_bins_between_its_exports_partial(tmp_path):
    """Three v5 datagrams exported at 12:15, 12:30 and 12:45; the second's sequence says 3 flows were lost
    between the first two. Every bin is held as exported flows whole (12:00:00-12:45:00)."""
    e1, e2, e3 = (int(T0) + 60 * m for m in (15, 30, 45))
    flows = [[("10.0.0.1", "8.8.8.8", 17, 1000 + m, 53, 3, 300, int(T0) + 60 * m, int(T0) + 60 * m + 300)
              for m in range(lo, hi, 5)] for lo, hi in ((0, 15), (15, 30), (30, 45))]
    data = v5_export(flows[0], e1, 0) + v5_export(flows[1], e2, len(flows[0]) + 3) + v5_export(
        flows[2], e3, len(flows[0]) + 3 + len(flows[1]))
    nf = tmp_path / "gap.v5"
    nf.write_bytes(data)
    with Case.open(tmp_path / "c.duckdb") as case:
        import_paths(case, [str(nf)])
        gaps = case.con.execute("SELECT lost, lost_unit, epoch(before_ts), epoch(after_ts) "
                                "FROM flow_sequence_gaps").fetchall()
        result = run_report(case, "top_talkers", {"from": "2016-09-06T12:00:00Z", "to": "2016-09-06T12:45:00Z",
                                                  "bin": 300})
    assert gaps == [(3, "flows", e1, e2)]
    bins = _bins(9)
    # 12:15 to 12:30 touch [e1, e2] (12:30 at its first instant); the rest are exported flows whole
    assert result.coverage == {t: "partial" if 3 <= i <= 6 else "flows" for i, t in enumerate(bins)}


def test_corpus_netflow_v9_gap_turns_a_packets_bin_partial(tmp_path):
    """scapy's netflowv9.pcap: exporter 192.168.100.1 jumps from sequence 1061 to 1104 (42 export packets lost,
    tshark flags it too). Its packets cover 10:45-10:50 whole; the gap makes that bin partial."""
    path = CORPUS / "files/scapy/netflowv9.pcap"
    with Case.open(tmp_path / "c.duckdb") as case:
        import_paths(case, [str(path)])
        t = dt.datetime(2017, 10, 19, 10, 45)
        params = {"from_ts": t, "to_ts": t + dt.timedelta(minutes=5), "bin_secs": 300, "summary": False}
        install_retention(case.con)  # the retention state coverage.sql reads (nothing pruned here)
        install_export_spans(case.con, flow_spans(case.con))  # and the exported flows' spans
        held = dict(case.con.execute(read_sql("runs/coverage.sql"), params).fetchall())
        assert held == {t: "packets"}
        assert bin_coverage(case.con, t, t + dt.timedelta(minutes=5), 300) == {t: "partial"}
        assert case.con.execute("SELECT sum(lost) FILTER (WHERE expected_seq = 1062) FROM flow_sequence_gaps"
                                ).fetchone()[0] == 42


def test_case_without_drop_columns_reads_read_only_and_gains_them_on_a_writable_open(tmp_path):
    """A case made before the drop counters (no isb_* columns, no flow_sequence_gaps) still reports when opened
    read-only (no partial from drops then), and its next writable open adds them."""
    cap = tmp_path / "drops.pcapng"
    cap.write_bytes(_pcapng([b.InterfaceStats(1, ts=T0 + 1200, osdrop=2)]))
    db = tmp_path / "old.duckdb"
    with Case.open(db) as case:
        import_paths(case, [str(cap)])
        for col in ("isb_ifrecv", "isb_ifdrop", "isb_filteraccept", "isb_osdrop", "isb_usrdeliv", "isb_starttime",
                    "isb_endtime"):
            case.con.execute(f"ALTER TABLE interfaces DROP COLUMN {col}")
        case.con.execute("DROP TABLE flow_sequence_gaps")
    window = {"from": "2016-09-06T12:00:00Z", "to": "2016-09-06T12:20:00Z", "bin": 300}
    with Case.open(db, read_only=True) as case:
        assert set(run_report(case, "top_talkers", window).coverage.values()) == {"packets"}
    Case.open(db).close()
    with Case.open(db, read_only=True) as case:
        assert case.con.execute("SELECT count(*) FROM interfaces WHERE isb_osdrop IS NULL").fetchone()[0] == 2
        assert case.con.execute("SELECT count(*) FROM flow_sequence_gaps").fetchone()[0] == 0
