"""Application reports (queries/reports/dns_names.sql, dns_nxdomain.sql, tls_sni.sql, http_hosts.sql,
dhcp_leases.sql, smtp_senders.sql): their counts equal tshark's `-T fields` counts on corpus captures and
generated ones.

Where our tables differ from tshark on purpose (README "Application metadata": no IP reassembly, HTTP read in
the first segments of a connection only), the captures chosen here have no such case; tests/appdata
compares the tables frame by frame.
"""

from __future__ import annotations

import collections
import shutil
import subprocess

import dpkt
import pytest

from forensics.config import default_config
from forensics.ingest import ImportOptions, import_paths
from forensics.render import render
from forensics.reports import run_report
from tests import builders as b
from tests.conftest import CORPUS

pytestmark = [pytest.mark.oracle,
              pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is the oracle")]

ALL = {"top": 100000}


@pytest.fixture
def app_case(tmp_path):
    """A case of its own (tests/reports/conftest.py's `case` is a shared case of generated flows)."""
    from forensics.store import Case

    c = Case.open(tmp_path / "apps.duckdb")
    yield c
    c.close()


def _tshark(paths, display: str, *fields: str) -> list[list[str]]:
    rows = []
    for path in paths:
        cmd = ["tshark", "-n", "-r", str(path), "-Y", display, "-T", "fields", "-E", "occurrence=f",
               *[x for f in fields for x in ("-e", f)]]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rows += [line.split("\t") for line in out.splitlines() if line]
    return rows


def _case(case, *rels):
    paths = [CORPUS / "files" / rel if isinstance(rel, str) else rel for rel in rels]
    summary = import_paths(case, [str(p) for p in paths], ImportOptions(workers=1))
    assert summary.exit_code == 0, summary.files
    return paths


def _items(result, section: str, key: int = 0, measure: str | None = None) -> dict:
    """{dimension value: measure over the window} of one section."""
    sec = next(s for s in result.sections if s.name == section)
    at = sec.measures.index(measure) if measure else 0
    return {item.names[key]: item.values[at] for item in sec.items}


def _counter(rows, key: int = 0, empty: str | None = None) -> dict:
    c = collections.Counter((r[key] or empty) for r in rows)
    return {k: float(v) for k, v in c.items()}


DNS_FILES = ["zeek/dns-edns-ecs.pcap", "tcpdump/dns_tcp.pcap", "nDPI/teams.pcap"]  # UDP, TCP, an NXDOMAIN


def test_dns_names_count_queries_and_responses_as_tshark(app_case):
    paths = _case(app_case, *DNS_FILES)
    r = run_report(app_case, "dns_names", ALL)
    dns = "dns && !mdns && !llmnr && !icmp && !ip.fragments && !ipv6.fragments"  # IP fragments: not reassembled
    queries = _counter(_tshark(paths, dns + " && dns.flags.response == 0", "dns.qry.name"))
    ours = {k: v for k, v in _items(r, "names", measure="queries").items() if v}
    assert len(queries) > 20 and ours == queries
    responses = _counter([[r[0] or r[1]] for r in _tshark(paths, dns + " && dns.flags.response == 1", "ip.src",
                                                          "ipv6.src")])
    assert _items(r, "servers", measure="responses") == responses
    nx = _counter(_tshark(paths, dns + " && dns.flags.rcode == 3", "dns.qry.name"))
    assert {k: v for k, v in _items(r, "names", measure="nxdomain").items() if v} == nx and nx
    # a filter selects the messages of the packets it keeps: one server's answers only
    server = max(responses, key=responses.get)
    rf = run_report(app_case, "dns_names", ALL, filter_expr=f"src host {server}")
    assert _items(rf, "servers", measure="responses") == {server: responses[server]}
    assert not any(_items(rf, "names", measure="queries").values())


def _dns_capture(path):
    """Three clients asking two resolvers; some names do not exist (NXDOMAIN). Returns nothing: tshark counts."""
    frames, t = [], 1_700_000_000.0
    asks = [("10.0.0.1", "10.0.0.53", "a.example", 3), ("10.0.0.1", "10.0.0.53", "xk2p.example", 3),
            ("10.0.0.2", "10.0.0.53", "xk2p.example", 3), ("10.0.0.2", "192.0.2.53", "www.example", 0),
            ("10.0.0.3", "192.0.2.53", "q9z.example", 3), ("10.0.0.3", "192.0.2.53", "q9z.example", 3),
            ("10.0.0.3", "10.0.0.53", "www.example", 0)]
    for n, (client, server, name, rcode) in enumerate(asks):
        q = dpkt.dns.DNS(id=n, qd=[dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A)])
        a = dpkt.dns.DNS(id=n, op=dpkt.dns.DNS_QR | dpkt.dns.DNS_RD | dpkt.dns.DNS_RA, rcode=rcode,
                         qd=[dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A)])
        sport = 40000 + n
        frames.append((t + n, b.eth(0x0800, b.ipv4(client, server, 17, b.udp(sport, 53, bytes(q))))))
        frames.append((t + n + 0.01, b.eth(0x0800, b.ipv4(server, client, 17, b.udp(53, sport, bytes(a))))))
    path.write_bytes(b.pcap_file(frames))


def test_dns_nxdomain_sources_as_tshark(app_case, tmp_path):
    gen = tmp_path / "nx.pcap"
    _dns_capture(gen)
    paths = _case(app_case, gen, "nDPI/teams.pcap", "suricata-verify/smb2-07__20171220_smb_psexec_add_user.pcap")
    r = run_report(app_case, "dns_nxdomain", ALL)
    nx = _tshark(paths, "dns && !mdns && !llmnr && dns.flags.rcode == 3", "ip.src", "ip.dst", "dns.qry.name")
    assert len(nx) >= 7
    assert _items(r, "clients", measure="nxdomain") == _counter(nx, 1)
    assert _items(r, "servers", measure="nxdomain") == _counter(nx, 0)
    assert _items(r, "names", measure="nxdomain") == _counter(nx, 2)
    assert _items(r, "clients", measure="names")["10.0.0.3"] == 1.0  # q9z.example twice
    sec = next(s for s in r.sections if s.name == "clients")
    assert {i.names[0]: i.names[1] for i in sec.items}["10.0.0.1"] == "a.example, xk2p.example"
    rf = run_report(app_case, "dns_nxdomain", ALL, filter_expr="host 192.0.2.53")
    assert _items(rf, "clients", measure="nxdomain") == {"10.0.0.3": 2.0}


def test_tls_sni_handshakes_and_ja3_as_tshark(app_case):
    paths = _case(app_case, "nDPI/teams.pcap", "nDPI/1kxun.pcap")
    r = run_report(app_case, "tls_sni", ALL)
    hellos = []
    for path in paths:  # a retransmitted hello is read again (README): tshark's hello of the same stream, twice
        first = {r[0]: r[1:] for r in _tshark([path], "tls.handshake.type == 1 && !quic", "tcp.stream",
                                              "tls.handshake.extensions_server_name", "tls.handshake.ja3")}
        again = _tshark([path], "tcp.analysis.retransmission && tcp.payload[0] == 0x16 && tcp.payload[5] == 1",
                        "tcp.stream")
        hellos += list(first.values()) + [first[r[0]] for r in again]
    assert len(hellos) > 40
    assert _items(r, "snis", measure="handshakes") == _counter(hellos, 0, "(none)")
    ja3 = collections.Counter()
    for item in next(s for s in r.sections if s.name == "fingerprints").items:
        ja3[item.names[0]] += item.values[0]  # a JA3 may pair with several JA4s (JA4 sorts what JA3 keeps in order)
    assert ja3 == _counter(hellos, 1)


HTTP_FILES = ["zeek/http-vlan-0.pcap", "nDPI/log4j-webapp-exploit.pcap",
              "zeek/communityid__tcp.pcap", "gopacket/test_ethernet.pcap"]


def test_http_hosts_and_agents_as_tshark(app_case):
    paths = _case(app_case, *HTTP_FILES)
    r = run_report(app_case, "http_hosts", ALL)
    reqs = _tshark(paths, "http.request", "http.host", "http.user_agent")
    assert len(reqs) >= 5
    assert _items(r, "hosts", measure="requests") == _counter(reqs, 0, "(none)")
    assert _items(r, "user_agents", measure="requests") == _counter(reqs, 1, "(none)")


def test_dhcp_leases_as_tshark(app_case):
    paths = _case(app_case, "zeek/dhcp__dhcp.pcap", "nDPI/1kxun.pcap", "ipfixprobe/mixed.pcap")
    r = run_report(app_case, "dhcp_leases", ALL)
    msgs = _tshark(paths, "dhcp", "dhcp.hw.mac_addr", "dhcp.option.dhcp", "dhcp.ip.your", "dhcp.option.dhcp_server_id")
    assert len(msgs) > 30
    assert _items(r, "clients", measure="messages") == _counter(msgs, 0)
    acks = collections.defaultdict(set)
    for mac, mtype, yours, _ in msgs:
        if mtype == "5" and yours != "0.0.0.0":
            acks[mac].add(yours)
    assigned = {i.names[0]: i.names[4] for i in next(s for s in r.sections if s.name == "clients").items}
    assert {m: v for m, v in assigned.items() if v != "-"} == {m: ", ".join(sorted(v)) for m, v in acks.items()}
    servers = collections.Counter(s for _, mtype, _, s in msgs if mtype in ("2", "5", "6") and s)
    assert _items(r, "servers", measure="messages") == {k: float(v) for k, v in servers.items()}


# (zeek's smtp-bdat-pipeline capture is left out: tshark shows its pipelined MAIL/RCPT/BDAT segment as message
# text, where the smtp table reads the commands; README "Application metadata" lists the difference)
SMTP_FILES = ["zeek/smtp.pcap", "nDPI/smtp.pcap", "ipfixprobe/smtp.pcap"]


def _path(parameter: str, prefix: str) -> str:
    """'FROM: <a@b>' -> 'a@b' (the null sender '<>'), as the smtp table keeps MAIL FROM / RCPT TO paths."""
    rest = parameter[len(prefix):].strip() if parameter.upper().startswith(prefix) else parameter
    path = rest.split(">", 1)[0].lstrip("<").strip() if rest.startswith("<") else rest.split(" ", 1)[0]
    return path or "<>"


def test_smtp_senders_as_tshark(app_case):
    """MAIL commands per sender, the distinct recipients of the RCPT TOs that followed each MAIL in its TCP
    stream, and EHLO/HELO commands per name, against tshark's smtp.req fields (every command of a segment:
    pipelining puts several in one, so occurrence=a)."""
    paths = _case(app_case, *SMTP_FILES)
    r = run_report(app_case, "smtp_senders", ALL)
    senders, rcpts, helos = collections.Counter(), collections.defaultdict(set), collections.Counter()
    for path in paths:
        cmd = ["tshark", "-n", "-r", str(path), "-Y", "smtp.req.command", "-T", "fields", "-E", "occurrence=a",
               "-E", "aggregator=|", "-e", "tcp.stream", "-e", "smtp.req.command", "-e", "smtp.req.parameter"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        last_mail: dict[str, str] = {}
        for line in out.splitlines():
            stream, commands, parameters = line.split("\t")
            for command, parameter in zip(commands.split("|"), parameters.split("|"), strict=False):
                command = command.upper()
                if command == "MAIL":
                    last_mail[stream] = _path(parameter, "FROM:")
                    senders[last_mail[stream]] += 1
                elif command == "RCPT" and stream in last_mail:
                    rcpts[last_mail[stream]].add(_path(parameter, "TO:"))
                elif command in ("EHLO", "HELO"):
                    helos[parameter] += 1
    assert len(senders) >= 3 and sum(len(v) for v in rcpts.values()) > 10
    assert _items(r, "senders", measure="commands") == {k: float(v) for k, v in senders.items()}
    assert _items(r, "senders", measure="recipients") == {k: float(len(v)) for k, v in rcpts.items()}
    assert _items(r, "clients", measure="commands") == {k: float(v) for k, v in helos.items()}
    html = render(r, "html")
    assert r.title in html and "albert@example.com" in html and "albert@example.com" in render(r, "csv")


@pytest.mark.parametrize("name", ["dns_names", "dns_nxdomain", "tls_sni", "http_hosts", "dhcp_leases"])
def test_reports_render_html_csv_json(app_case, tmp_path, name):
    gen = tmp_path / "nx.pcap"
    _dns_capture(gen)
    _case(app_case, gen, "nDPI/1kxun.pcap")
    r = run_report(app_case, name, {"top": 3}, config=default_config())
    assert any(s.items for s in r.sections), name
    first = next(s for s in r.sections if s.items).items[0].names[0]
    html = render(r, "html")
    assert r.title in html and str(first).replace("&", "&amp;") in html
    assert str(first) in render(r, "csv") and str(first) in render(r, "json")


def test_attributes_app_uses_flow_labels(app_case):
    """attributes by app: a 5-tuple no signature names counts under its payload label; tshark's bytes of the
    connections whose frames it dissects as HTTP (1kxun.pcap: HTTP connections carry nothing else) agree."""
    paths = _case(app_case, "nDPI/1kxun.pcap")
    r = run_report(app_case, "attributes", {"attributes": "app", "top": 50, "unit": "bytes"})
    ours = _items(r, "attributes", measure="bytes")
    rows = _tshark(paths, "ip && tcp", "tcp.stream", "ip.len", "frame.protocols")
    http_streams = {s for s, _, protos in rows if ":http" in protos}
    assert http_streams
    assert ours["http"] == float(sum(int(n) for s, n, _ in rows if s in http_streams))
