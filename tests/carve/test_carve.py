"""Carving: the written files, read again by tcpdump, hold exactly the selected packets byte for byte."""

from __future__ import annotations

import shutil

import pytest
from carve_helpers import capture_id, source, tcpdump, tcpdump_write

from forensics.carve import bpf_frames, carve, packet_selection, select_packets
from forensics.errors import SourceMissingError, UsageError
from forensics.filters import compile_filter

pytestmark = pytest.mark.oracle


def _select(case, expr: str, name: str):
    where, params = packet_selection(case.con, expr, None, str(capture_id(case, name)))
    return select_packets(case.con, where, params)


@pytest.mark.parametrize("expr", ["tcp port 445", "tcp[tcpflags] & tcp-push != 0 and host 192.168.10.31", "arp",
                                  "udp or icmp"])
def test_carved_pcap_equals_tcpdump_selection(case, tmp_path, expr):
    # A pcap source: the carved file's records (headers included) are the ones libpcap writes for the
    # same expression (the capture is untagged, so both semantics agree).
    src = source("pcap")
    refs = _select(case, expr, "pcap")
    assert refs, f"{expr!r} selects nothing: pick an expression that exercises the carver"
    files = carve(case.con, refs, tmp_path / "out.pcap")
    assert [f.packets for f in files] == [len(refs)]
    want = tcpdump_write(src, tmp_path / "want.pcap", expr)
    got = (tmp_path / "out.pcap").read_bytes()
    assert got[20:24] == want[20:24]  # link type
    assert got[24:] == want[24:]
    back = tcpdump_write(tmp_path / "out.pcap", tmp_path / "back.pcap")
    assert back[24:] == want[24:]


@pytest.mark.parametrize("name", ["nsec", "pcapng", "pcapng_be", "gzip", "sll"])
@pytest.mark.parametrize("pcapng", [False, True])
def test_whole_capture_round_trip(case, tmp_path, name, pcapng):
    # Every packet of a capture, carved to pcap or pcapng and read by libpcap, equals libpcap's reading of
    # the source: same times (at libpcap's microsecond default), lengths and bytes, in the same order.
    src = source(name)
    refs = select_packets(case.con, "capture_id = $c", {"c": capture_id(case, name)})
    out = tmp_path / ("out.pcapng" if pcapng else "out.pcap")
    carve(case.con, refs, out, pcapng=pcapng)
    want = tcpdump_write(src, tmp_path / "want.pcap")
    got = tcpdump_write(out, tmp_path / "got.pcap")
    assert got[20:24] == want[20:24]
    assert got[24:] == want[24:]


def test_one_file_per_link_type(case, tmp_path):
    sql, params = compile_filter("arp or tcp")
    refs = select_packets(case.con, f"capture_id IN ($a, $b) AND {sql}",
                          {**params, "a": capture_id(case, "pcap"), "b": capture_id(case, "sll")})
    files = carve(case.con, refs, tmp_path / "out.pcap")
    assert sorted(f.path.name for f in files) == ["out-1.pcap", "out-113.pcap"]
    assert sum(f.packets for f in files) == len(refs)
    for f in files:
        out = tcpdump("-r", str(f.path), "--count")
        assert out.returncode == 0 and int(out.stdout.split()[0]) == f.packets


def test_flow_carves_its_packets(case, tmp_path):
    cid = capture_id(case, "pcap")
    flows = case.con.execute("SELECT flow_id, packets FROM flows WHERE capture_id = $c AND source = 'pcap' "
                             "ORDER BY packets DESC LIMIT 3", {"c": cid}).fetchall()
    assert flows
    for flow_id, packets in flows:
        where, params = packet_selection(case.con, flow_id=flow_id)
        refs = select_packets(case.con, where, params)
        assert len(refs) == packets  # the flow table's own count, derived separately


def test_bpf_is_libpcaps_answer(case):
    # On QinQ frames libpcap's `tcp` sees no TCP (the second tag hides it); --bpf gives exactly that answer,
    # while the decoded filter looks through both tags.
    cid = capture_id(case, "qinq")
    src = source("qinq")
    for expr in ("tcp", "vlan and vlan and tcp", "greater 100"):
        frames = bpf_frames(case.con, cid, expr)
        out = tcpdump("-r", str(src), "--count", expr)
        assert len(frames) == int(out.stdout.split()[0])
    decoded = select_packets(case.con, *_where(case, "tcp", cid))
    assert len(decoded) > 0 and bpf_frames(case.con, cid, "tcp") == []
    assert sorted(bpf_frames(case.con, cid, "vlan and vlan and tcp")) == sorted(r.frame for r in decoded)


def _where(case, expr, cid):
    sql, params = compile_filter(expr)
    return f"capture_id = $cid AND {sql}", {**params, "cid": cid}


def test_moved_and_changed_sources(tmp_path):
    from forensics.ingest import import_paths
    from forensics.store import Case

    original = tmp_path / "a" / "evidence.pcap"
    original.parent.mkdir()
    shutil.copy(source("sll"), original)
    with Case.open(tmp_path / "case.duckdb") as c:
        import_paths(c, [str(original)])
        refs = select_packets(c.con)
        moved = tmp_path / "b" / "renamed.bin"
        moved.parent.mkdir()
        original.rename(moved)
        with pytest.raises(SourceMissingError, match="is missing"):
            carve(c.con, refs, tmp_path / "out.pcap")
        assert not (tmp_path / "out.pcap").exists()
        files = carve(c.con, refs, tmp_path / "out.pcap", search=[tmp_path / "b"])
        assert files[0].packets == len(refs)
        moved.rename(original)
        data = bytearray(original.read_bytes())
        data[-1] ^= 0xFF
        original.write_bytes(bytes(data))
        with pytest.raises(SourceMissingError, match="changed"):
            carve(c.con, refs, tmp_path / "out2.pcap")


def test_nothing_selected_is_a_usage_error(case, tmp_path):
    with pytest.raises(UsageError):
        carve(case.con, [], tmp_path / "out.pcap")
