"""Application metadata equals tshark's dissection, frame by frame, on corpus captures (tshark is the oracle).

Known differences, on purpose (also in README "Application metadata"):
- tshark's dns.a lists A records of every section; our `answers` is the answer section, so ours are
  compared with the first addresses tshark lists.
- TLS after STARTTLS on a port other than SMTP's (25, 587, 2525): the hellos come after more than
  FIRST_SEGMENTS segments, and are missed.
- IP fragments are not reassembled: tshark's DNS in reassembled fragments is left out of the comparison.
- TCP retransmissions are read again (tshark does not dissect them as HTTP).
- HTTP: only the first segments of each connection direction are read (see ingest/appdata_pass.py), so
  every row we write must equal tshark's at that frame, and the first request of each connection is found.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess

import pytest

from forensics.ingest import ImportOptions, import_paths
from tests.conftest import CORPUS

pytestmark = [pytest.mark.oracle,
              pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is the oracle")]


def _tshark(path, display: str, fields: list[str], two_pass: bool = False) -> dict[int, list[str]]:
    cmd = ["tshark", "-n", *(["-2"] if two_pass else []), "-r", str(path), "-Y", display, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|",
           "-e", "frame.number", *[x for f in fields for x in ("-e", f)]]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return {int(line.split("\t")[0]): line.split("\t")[1:] for line in out.splitlines() if line}


def _imported(case, rel: str) -> int:
    summary = import_paths(case, [str(CORPUS / "files" / rel)], ImportOptions(workers=1))
    assert summary.files[0].status == "imported", summary.files[0]
    return summary.files[0].capture_id


DNS_FILES = ["zeek/dns53.pcap", "tcpdump/dns_tcp.pcap", "tcpdump/dnssec.pcap", "gopacket/test_dns.pcap",
             "zeek/dns-edns-ecs.pcap", "nDPI/dns_exfiltration.pcap"]


@pytest.mark.parametrize("rel", DNS_FILES)
def test_dns_equals_tshark(case, rel):
    cid = _imported(case, rel)
    ours = {r[0]: r[1:] for r in case.con.execute(
        "SELECT frame, txid, is_response, rcode, qname, "
        "[ip_text(a.address) FOR a IN answers IF a.type = 1] FROM dns WHERE capture_id = $c", {"c": cid}).fetchall()}
    theirs = _tshark(CORPUS / "files" / rel, "dns && !icmp && !mdns && !llmnr && !ip.fragments && !ipv6.fragments",
                     ["dns.id", "dns.flags.response", "dns.flags.rcode", "dns.qry.name", "dns.a"])
    assert theirs, "the capture has DNS"
    assert set(ours) == set(theirs)
    for frame, (txid, resp, rcode, qname, a) in theirs.items():
        o_txid, o_resp, o_rcode, o_qname, o_a = ours[frame]
        assert (o_txid, o_resp) == (int(txid, 16), resp in ("1", "True")), frame
        assert rcode == "" or o_rcode == int(rcode), frame  # tshark shows rcode for responses only
        if "\\" not in qname:  # tshark escapes non-printable label bytes
            assert o_qname == qname.split("|")[0], frame
        addresses = [str(ipaddress.ip_address(x)) for x in a.split("|") if x]
        assert o_a == addresses[:len(o_a)], frame


def test_tls_hellos_equal_tshark(case):
    for rel in ("nDPI/1kxun.pcap",):
        cid = _imported(case, rel)
        ours = {r[0]: r[1:] for r in case.con.execute(
            "SELECT frame, handshake, sni, ja3_md5, cipher FROM tls WHERE capture_id = $c", {"c": cid}).fetchall()}
        theirs = _tshark(CORPUS / "files" / rel, "tls.handshake.type == 1 || tls.handshake.type == 2",
                         ["tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.ja3",
                          "tls.handshake.ja3s", "tls.handshake.ciphersuite"])
        assert theirs
        for frame, (htype, sni, ja3, ja3s, cipher) in theirs.items():
            assert frame in ours, (rel, frame)
            handshake, o_sni, o_md5, o_cipher = ours[frame]
            if htype == "1":
                assert (handshake, o_sni or "", o_md5) == ("client_hello", sni, ja3), (rel, frame)
            else:
                assert (handshake, o_md5, o_cipher) == ("server_hello", ja3s, int(cipher, 16)), (rel, frame)


def test_http_heads_equal_tshark(case):
    rel = "nDPI/1kxun.pcap"
    cid = _imported(case, rel)
    ours = {r[0]: r[1:] for r in case.con.execute(
        "SELECT frame, method, uri, host, user_agent, status, head_complete FROM http WHERE capture_id = $c",
        {"c": cid}).fetchall()}
    theirs = _tshark(CORPUS / "files" / rel, "tcp && (http.request || http.response)",
                     ["http.request.method", "http.request.uri", "http.host", "http.user_agent",
                      "http.response.code"])
    assert len(ours) > 100
    again = _tshark(CORPUS / "files" / rel, "tcp.analysis.retransmission", [])
    # a head whose message continues in later segments: tshark shows it at the frame that completes it
    later = {f: int(v[0]) for f, v in _tshark(CORPUS / "files" / rel, "tcp.reassembled_in",
                                               ["tcp.reassembled_in"], two_pass=True).items()}
    compared = 0
    for frame, (method, uri, host, ua, code, whole) in ours.items():
        if frame in again:
            continue  # tshark does not dissect a retransmitted segment; we read it again
        if later.get(frame, frame) not in theirs:
            continue  # a message the capture ends in the middle of: tshark never completes it
        compared += 1
        t_method, t_uri, t_host, t_ua, t_code = theirs[later.get(frame, frame)]
        assert (method or "") == t_method, frame
        assert (uri or "") == t_uri or (uri is None and not whole), frame
        if whole:  # else the headers past the segment's end are not ours to know
            assert (host or "", ua or "") == (t_host, t_ua), frame
        assert (str(code) if code else "") == t_code, frame
    assert compared > 0.9 * len(ours)
    # the first request of every connection is found
    firsts = case.con.execute("""
        SELECT min(frame) FROM packets WHERE capture_id = $c AND frame IN (SELECT unnest($f::UINTEGER[]))
        GROUP BY src_ip, dst_ip, src_port, dst_port""",
        {"c": cid, "f": [f for f, v in theirs.items() if v[0]]}).fetchall()
    found = {later.get(f, f) for f in ours}
    missing = [f for (f,) in firsts if f not in found]
    assert not missing


@pytest.mark.parametrize("rel", ["zeek/dhcp__dhcp.pcap", "tcpdump/dhcp-rfc3004.pcap", "zeek/dhcp__dhcp_inform.pcap"])
def test_dhcp_equals_tshark(case, rel):
    cid = _imported(case, rel)
    ours = {r[0]: r[1:] for r in case.con.execute(
        "SELECT frame, message_type, client_mac, hostname, ip_text(server_id), ip_text(assigned_ip) "
        "FROM dhcp WHERE capture_id = $c", {"c": cid}).fetchall()}
    theirs = _tshark(CORPUS / "files" / rel, "dhcp",
                     ["dhcp.option.dhcp", "dhcp.hw.mac_addr", "dhcp.option.hostname", "dhcp.option.dhcp_server_id",
                      "dhcp.ip.your"])
    assert theirs and set(ours) == set(theirs)
    for frame, (mtype, mac, host, server, yours) in theirs.items():
        o_type, o_mac, o_host, o_server, o_yours = ours[frame]
        assert (str(o_type) if o_type is not None else "", o_mac or "", o_host or "", o_server or "") == \
            (mtype, mac, host, server), frame
        assert (o_yours or "0.0.0.0") == yours, frame


@pytest.mark.parametrize("rel", ["zeek/ntp__ntp.pcap", "nDPI/NTPv2.pcap", "tcpdump/ntp-control.pcap"])
def test_ntp_equals_tshark(case, rel):
    cid = _imported(case, rel)
    ours = {r[0]: r[1:] for r in case.con.execute(
        "SELECT frame, version, mode, stratum FROM ntp WHERE capture_id = $c", {"c": cid}).fetchall()}
    theirs = _tshark(CORPUS / "files" / rel, "ntp", ["ntp.flags.vn", "ntp.flags.mode", "ntp.stratum"])
    assert theirs and set(ours) == set(theirs)
    for frame, (vn, mode, stratum) in theirs.items():
        o_vn, o_mode, o_stratum = ours[frame]
        assert (str(o_vn), str(o_mode)) == (vn, mode), frame
        assert (str(o_stratum) if o_stratum is not None else "") == stratum, frame
