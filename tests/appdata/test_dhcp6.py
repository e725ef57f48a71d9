"""The dhcp6 table equals tshark's DHCPv6 dissection, frame by frame, on every corpus capture with DHCPv6
(tshark is the oracle: dhcpv6.msgtype, xid, duid.bytes, iaaddr.ip, iaprefix, client_domain, vendorclass.data).
Difference on purpose (README "Application metadata"): a client FQDN of one label (a "TLD" to tshark, which
puts it in another field) is our `fqdn` too; tshark's client_domain ends with a dot, ours does not."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess

import pytest

from forensics.appdata import dhcp6
from forensics.appdata.wire import Malformed
from forensics.ingest import ImportOptions, import_paths
from tests.conftest import CORPUS

FILES = ["tcpdump/dhcpv6-ia-na.pcap", "suricata-verify/smb2-07__20171220_smb_psexec_add_user.pcap",
         "zeek/pppoe.pcap", "nDPI/1kxun.pcap", "ipfixprobe/mixed.pcap"]
FIELDS = ["dhcpv6.msgtype", "dhcpv6.xid", "dhcpv6.duid.bytes", "dhcpv6.iaaddr.ip", "dhcpv6.iaprefix.pref_addr",
          "dhcpv6.iaprefix.pref_len", "dhcpv6.client_domain", "dhcpv6.vendorclass.data"]


def _tshark(path) -> dict[int, list[list[str]]]:
    assert shutil.which("tshark"), "tshark is a test oracle: .ci/run installs it"
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "dhcpv6", "-T", "fields", "-E", "occurrence=a",
                          "-E", "aggregator=|", "-e", "frame.number", *[x for f in FIELDS for x in ("-e", f)]],
                         capture_output=True, text=True, check=True).stdout
    return {int(line.split("\t")[0]): [v.split("|") if v else [] for v in line.split("\t")[1:]]
            for line in out.splitlines()}


@pytest.mark.parametrize("rel", FILES)
def test_dhcp6_equals_tshark(case, rel):
    path = CORPUS / "files" / rel
    cid = import_paths(case, [str(path)], ImportOptions(workers=1)).files[0].capture_id
    ours = {r[0]: r[1:] for r in case.con.execute(
        "SELECT frame, message_type, xid, client_duid, server_duid, [ip_text(a) FOR a IN addresses], "
        "[ip_text(p.address) FOR p IN prefixes], [p.length FOR p IN prefixes], fqdn, vendor_class "
        "FROM dhcp6 WHERE capture_id = $c", {"c": cid}).fetchall()}
    theirs = _tshark(path)
    assert theirs and set(ours) == set(theirs)
    for frame, (types, xid, duids, addrs, prefixes, lengths, domain, vendor) in theirs.items():
        mtype, o_xid, client, server, o_addrs, o_prefixes, o_lengths, fqdn, o_vendor = ours[frame]
        assert (mtype, o_xid) == (int(types[-1]), int(xid[-1], 16)), frame
        assert sorted(d for d in (client, server) if d) == sorted(duids), frame
        assert o_addrs == [str(ipaddress.ip_address(a)) for a in addrs], frame
        assert o_prefixes == [str(ipaddress.ip_address(a)) for a in prefixes], frame
        assert o_lengths == [int(n) for n in lengths], frame
        assert fqdn == domain[0].rstrip(".") if domain else fqdn is None or "." not in fqdn, frame
        assert o_vendor == (vendor[0] if vendor else None), frame


def test_relayed_and_damaged():
    inner = bytes([1, 0, 0, 7]) + (1).to_bytes(2, "big") + (10).to_bytes(2, "big") + bytes.fromhex(
        "00030001" "0a0b0c0d0e0f")
    relay = bytes([12, 0]) + bytes(32) + (9).to_bytes(2, "big") + len(inner).to_bytes(2, "big") + inner
    row = dhcp6.parse(relay)
    assert (row["message_type"], row["xid"], row["relay_hops"], row["client_mac"]) == (1, 7, 1, "0a:0b:0c:0d:0e:0f")
    for cut in (relay[:20], relay[:-3], inner[:7]):
        with pytest.raises(Malformed):
            dhcp6.parse(cut)
