"""A config filter with a CIDR works on a case holding IPv6 addresses above 2^127 (fd00::/8)."""

from __future__ import annotations

from forensics.config import config_from_text
from forensics.ingest import import_paths
from forensics.reports import run_report
from forensics.store import Case
from tests import builders as b


def test_cidr_condition_with_ula_addresses(tmp_path):
    case = Case.open(tmp_path / "own.duckdb")  # not the folder's shared case of generated flows
    cap = tmp_path / "c.pcap"
    v6 = b.eth(0x86DD, b.ipv6("fd00::1", "fd00::2", 17, b.udp(1, 53)))
    v4 = b.eth(0x0800, b.ipv4("10.0.0.1", "10.10.0.53", 17, b.udp(1, 53)))
    cap.write_bytes(b.pcap_file([(1700000001.0, v6), (1700000002.0, v4)]))
    import_paths(case, [str(cap)])
    cfg = config_from_text('[filters.x]\nscope = "any"\nconditions = "not dst ip in 10.10.0.53/32"\n'
                           '[filters.y]\nscope = "any"\nconditions = "dst ip in 10.10.0.53/32"\n',
                           tmp_path / "forensics.toml")
    result = run_report(case, "filter_compare", {}, config=cfg)
    total = result.sections[0].measures.index("total")
    items = {tuple(i.names): i.values[total] for i in result.sections[0].items if not i.others}
    # x matches only the IPv6 datagram (48 IP bytes), y only the IPv4 one (28 IP bytes)
    assert abs(items[("x",)] / items[("y",)] - 48 / 28) < 1e-9


def test_config_filter_with_a_tcpdump_expression(tmp_path):
    case = Case.open(tmp_path / "own.duckdb")
    cap = tmp_path / "c.pcap"
    frames = [(1700000001.0 + i, b.eth(0x0800, b.ipv4("10.0.0.1", "8.8.8.8", 6, b.tcp(1000 + i, 445, b.SYN))))
              for i in range(3)]
    frames += [(1700000010.0, b.eth(0x0800, b.ipv4("10.0.0.1", "8.8.8.8", 17, b.udp(1000, 445))))]
    cap.write_bytes(b.pcap_file(frames))
    import_paths(case, [str(cap)])
    cfg = config_from_text('[filters.syn445]\nscope = "any"\ntcpdump = "tcp dst port 445"\n'
                           '[filters.all445]\nscope = "any"\ntcpdump = "dst port 445"\n', tmp_path / "forensics.toml")
    result = run_report(case, "filter_compare", {"unit": "pps"}, config=cfg)
    items = {i.names[0]: i.values[-1] for i in result.sections[0].items if not i.others}
    assert abs(items["syn445"] / items["all445"] - 3 / 4) < 1e-9
