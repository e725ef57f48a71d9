"""Our summary lines equal `TZ=UTC tcpdump -nn -r F`'s on the first 200 packets of the corpus captures
libpcap reads (corpus_sample of them; every one under FORENSICS_FULL_CORPUS=1), except where a rule of
DEVIATIONS (the one list, also in docs/filters.md) says why."""

from __future__ import annotations

import re

import pytest
from view_helpers import CORPUS, libpcap_captures, our_lines, tcpdump_lines

from forensics.packetview import ViewOptions
from tests.conftest import corpus_sample

pytestmark = pytest.mark.oracle


def _stops_where_tcpdump_goes_on(ours: str, theirs: str, tail: str) -> bool:
    """Our line ends with `tail` (where our decoding stops) and tcpdump's starts with the text before it."""
    m = re.search(tail + "$", ours)
    return bool(m) and theirs.startswith(ours[:m.start()]) and len(theirs) > m.start()


# Each rule: (why, test on (ours, tcpdump's)). A line pair that differs must satisfy one rule.
DEVIATIONS = [
    ("UDP applications tcpdump decodes and we print as 'UDP, length N' (ISAKMP, Teredo, MPLS-in-UDP, syslog, "
     "SNMP, NetBIOS ...)",
     lambda o, t: _stops_where_tcpdump_goes_on(o, t, r"UDP, length \d+")),
    ("IP protocols tcpdump decodes and we print as 'ip-proto-N LEN' (GRE and what it carries, EIGRP, OSPF, "
     "PIM, VRRP, SCTP ...)",
     lambda o, t: _stops_where_tcpdump_goes_on(o, t, r" ip-proto-\d+ \d+")),
    ("ethertypes and 802.3/LLC frames tcpdump decodes and we name (PPP PAP/CHAP in PPPoE, LLDP, STP, IS-IS, "
     "loopback, vendor types)",
     lambda o, t: o.endswith("not decoded]") and ("ethertype " in o or "802.3, length" in o)),
    ("TCP applications tcpdump names or decodes after the length (BGP, SMB, SSH, NetBIOS, RPC ...)",
     lambda o, t: re.search(r", length \d+$", o) is not None and t.startswith(o) and t[len(o)] in ": "),
    ("telnet option negotiation tcpdump appends after the TCP length",
     lambda o, t: t.startswith(o + " [telnet ")),
    ("pcapng simple packet blocks carry no time stamp: tcpdump prints 00:00:00.000000, we print the time the "
     "import gave the packet", lambda o, t: t.startswith("00:00:00.000000 ") and o[15:] == t[15:]),
    ("link types we do not decode (PPP), 802.11 frames without a packet in clear (management, control, encrypted)",
     lambda o, t: "is not decoded] length" in o),
    ("radiotap fields and 802.11 headers tcpdump prints before an 802.11 data frame's packet",
     lambda o, t: ("MHz" in t or "Mb/s" in t) and t.startswith(o.split(" ", 1)[0] + " ")
     and t.endswith(" " + o.split(" ", 1)[1])),
]


def _compare(ours: list[str], theirs: list[str], used: dict) -> list[tuple[str, str]]:
    bad = []
    for o, t in zip(ours, theirs, strict=True):
        if o == t:
            continue
        for why, rule in DEVIATIONS:
            if rule(o, t):
                used[why] = used.get(why, 0) + 1
                break
        else:
            bad.append((o, t))
    return bad


def test_summary_lines_equal_tcpdump_on_the_corpus(corpus_case):
    case, ids = corpus_case
    used: dict[str, int] = {}
    exact = total = 0
    failures = []
    rows = corpus_sample(libpcap_captures())  # every format, link type and category (all: FORENSICS_FULL_CORPUS)
    for row in rows:
        path = CORPUS / row["path"]
        entries = tcpdump_lines(path)
        ours = our_lines(case, ids[row["path"]], ViewOptions())
        assert len(ours) == len(entries), row["path"]
        # A line of ours that goes on (VXLAN's inner frame) is compared whole; the rest by first line, as
        # tcpdump's continuation lines are printed only for what we do not decode (STP, ISAKMP ...).
        theirs = [t if "\n" in o else t.split("\n")[0] for o, t in zip(ours, entries, strict=True)]
        bad = _compare(ours, theirs, used)
        failures += [(row["path"], o, t) for o, t in bad]
        total += len(theirs)
        exact += sum(o == t for o, t in zip(ours, theirs, strict=True))
    assert not failures, "\n".join(f"{p}\n  ours: {o}\n  tcpd: {t}" for p, o, t in failures[:40])
    # The rules must stay exceptions: most lines are equal byte for byte.
    assert total > min(4500, 40 * len(rows)) and exact / total > 0.97, (exact, total,
                                                                       sorted(used.items(), key=lambda kv: -kv[1]))


@pytest.mark.parametrize("path", ["tcpreplay/test.pcap", "zeek/http-qinq-0.pcap", "tcpdump/802.1ad_QinQ.pcap",
                                  "zeek/linuxsll-arp.pcap", "ipfixprobe/mixed.pcap", "gopacket/test_loopback.pcap",
                                  "zeek/mixed-vlan-mpls.pcap"])
def test_link_headers_equal_tcpdump_e(corpus_case, path):
    """-e: MAC addresses, ethertypes, VLAN/QinQ tags (p, DEI), SLL packet types, BSD address families."""
    case, ids = corpus_case
    theirs = [entry.split("\n")[0] for entry in tcpdump_lines(CORPUS / "files" / path, "-e")]
    ours = our_lines(case, ids["files/" + path], ViewOptions(link_header=True))
    assert not _compare(ours, theirs, {})
    assert sum(o == t for o, t in zip(ours, theirs, strict=True)) > 0.9 * len(ours)


@pytest.mark.parametrize(("flag", "mode"), [("-t", 0), ("-tt", 2), ("-ttt", 3), ("-tttt", 4), ("-ttttt", 5)])
def test_time_stamps_equal_tcpdump(corpus_case, flag, mode):
    case, ids = corpus_case
    path = "files/dpkt/dns_icmp.pcap"
    theirs = [entry.split("\n")[0] for entry in tcpdump_lines(CORPUS / path, flag)]
    assert our_lines(case, ids[path], ViewOptions(ts_mode=mode)) == theirs


@pytest.mark.parametrize(("flags", "dump"), [(("-x",), ("x", False)), (("-X",), ("X", False)),
                                              (("-XX",), ("X", True)), (("-A",), ("A", False)),
                                              (("-e", "-X"), ("X", False))])
def test_dumps_equal_tcpdump(corpus_case, flags, dump):
    """-x/-X/-A start at the network layer (VLAN tags skipped), -XX at the link layer, -e changes no dump."""
    case, ids = corpus_case
    for path in ("files/zeek/http-vlan-0.pcap", "files/zeek/linuxsll-arp.pcap", "files/dpkt/dns_icmp.pcap"):
        theirs = tcpdump_lines(CORPUS / path, *flags, count=20)
        options = ViewOptions(link_header="-e" in flags)
        ours = our_lines(case, ids[path], options, dump=dump, count=20)
        if dump[0] == "A":  # tcpdump -A puts a newline before the text; its lines start at column 0
            theirs = tcpdump_lines_raw_a(CORPUS / path)
            ours = [o.split("\n", 1)[1] if "\n" in o else "" for o in ours]
            theirs = [t.split("\n", 1)[1] if "\n" in t else "" for t in theirs]
        assert ours == theirs, path


def tcpdump_lines_raw_a(path):
    """tcpdump -A's output split at each packet's summary line (its text lines begin at column 0)."""
    import os
    import subprocess

    out = subprocess.run(["tcpdump", "-nn", "-A", "-r", str(path), "-c", "20"], capture_output=True, text=True,
                         env={**os.environ, "TZ": "UTC"}, errors="replace").stdout
    entries = re.split(r"\n(?=\d\d:\d\d:\d\d\.\d{6} )", out.rstrip("\n"))
    return entries


@pytest.mark.parametrize("path", ["files/tcpreplay/test.pcap", "files/ipfixprobe/mixed.pcap",
                                  "files/zeek/icmp__icmp6-ping.pcap"])
def test_verbose_ip_fields_equal_tcpdump_v(corpus_case, path):
    """-v: tos, ttl, id, offset, flags, proto, length (IPv4), hlim/next-header/payload length (IPv6), ARP
    hardware and protocol types; TCP checksums. Compared on the header part of each line, where tcpdump -v
    adds application detail we do not print (docs/filters.md)."""
    case, ids = corpus_case
    theirs = tcpdump_lines(CORPUS / path, "-v")
    ours = our_lines(case, ids[path], ViewOptions(verbose=1))
    checked = compared = 0
    for o, t in zip(ours, theirs, strict=True):
        if not re.match(r"\S+ (IP|IP6|ARP)[ ,]", t):  # link layers and protocols we do not decode: elsewhere
            continue
        head_o, head_t = o.split(": ", 1)[0], t.split(": ", 1)[0]
        assert head_o == head_t
        compared += 1
        if " Flags [" in t and ", cksum " in t and "\n\t" not in t and "HTTP" not in t:
            assert o == t
            checked += 1
    assert compared >= 8 and (checked > 5 or "tcpreplay" not in path)


@pytest.mark.parametrize("snaplen", [54, 80, 120])
def test_cut_captures_equal_tcpdump(corpus_case, tmp_path, snaplen):
    """Captures cut to a snap length by tcpdump itself: the truncation marks ([|tcp], [|domain] ...) and what
    comes before them equal tcpdump's."""
    import subprocess

    from forensics.ingest import import_paths

    case, _ = corpus_case
    marks = 0
    for name in ("tcpreplay/test.pcap", "ipfixprobe/mixed.pcap", "zeek/dns-edns-ecs.pcap", "zeek/dhcp__dhcp.pcap",
                 "dpkt/dns_icmp.pcap", "zeek/http-qinq-0.pcap"):
        cut = tmp_path / f"{snaplen}-{name.replace('/', '_')}"
        subprocess.run(["tcpdump", "-r", str(CORPUS / "files" / name), "-s", str(snaplen), "-w", str(cut)],
                       capture_output=True, check=True)
        cid = import_paths(case, [str(cut)]).files[0].capture_id
        theirs = [entry.split("\n")[0] for entry in tcpdump_lines(cut)]
        ours = our_lines(case, cid, ViewOptions())
        assert not _compare(ours, theirs, {}), name
        marks += sum("[|" in line for line in theirs)
    assert marks > 0  # the cut reached into headers tcpdump decodes
