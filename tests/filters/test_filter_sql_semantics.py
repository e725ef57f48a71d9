"""The compiled SQL on a packets table filled from known packets, and on the flows table."""

from __future__ import annotations

from filter_synth import Spec, load

from forensics.filters import compile_filter
from forensics.netaddr import ip_to_int

PACKETS = [
    Spec("tcp4", 0, 1, 1234, 80, flags=2),            # 1: SYN 10.0.0.1 -> 10.0.0.2:80
    Spec("tcp4", 1, 0, 80, 1234, flags=18, vlan=100),  # 2: SYN/ACK back, tagged
    Spec("udp6", 0, 1, 5353, 53),                      # 3: 2001:db8::1 -> 2001:db8::2:53
    Spec("arp"),                                       # 4
    Spec("icmp4", 2, 3, icmp_type=8, vlan=10),         # 5: echo 10.1.2.3 -> 192.168.1.10
]


def _frames(case, expr, table="packets"):
    sql, params = compile_filter(expr, table)
    key = "frame" if table == "packets" else "flow_id"
    return [r[0] for r in case.con.execute(f"SELECT {key} FROM {table} WHERE {sql} ORDER BY 1", params).fetchall()]


def test_packets(memcase):
    load(memcase, PACKETS)
    assert _frames(memcase, "tcp dst port 80") == [1]
    assert _frames(memcase, "tcp port 80") == [1, 2]  # the tag is transparent
    assert _frames(memcase, "vlan") == [2, 5]
    assert _frames(memcase, "vlan 100 and tcp") == [2]
    assert _frames(memcase, "not port 80") == [3, 4, 5]  # non-IP packets match a negation, as in libpcap
    assert _frames(memcase, "not ip and not ip6") == [4]
    assert _frames(memcase, "arp") == [4]
    assert _frames(memcase, "net 10.0.0.0/8 and not src net 10.0.0.0/30") == [5]
    assert _frames(memcase, "host 2001:db8::2 or icmp") == [3, 5]
    assert _frames(memcase, "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn") == [1]
    assert _frames(memcase, "tcp[tcpflags] & tcp-ack != 0 or icmp[icmptype] == icmp-echo") == [2, 5]
    assert _frames(memcase, "udp and dst port domain") == [3]
    assert _frames(memcase, "") == [1, 2, 3, 4, 5]


def test_flows(memcase):
    recs = [
        {"source": "nfdump_csv", "first_ts_us": 0, "last_ts_us": 1, "ip_version": 4, "src_ip": ip_to_int("10.0.0.1"),
         "dst_ip": ip_to_int("10.0.0.2"), "ip_proto": 6, "src_port": 1234, "dst_port": 445, "tcp_flags": 0x12,
         "packets": 3, "bytes": 180, "vlan": 7},
        {"source": "nfdump_csv", "first_ts_us": 0, "last_ts_us": 1, "ip_version": 6, "src_ip": ip_to_int("2001:db8::1"),
         "dst_ip": ip_to_int("2001:db8::2"), "ip_proto": 17, "src_port": 5353, "dst_port": 53,
         "packets": 1, "bytes": 80},
        {"source": "nfdump_csv", "first_ts_us": 0, "last_ts_us": 1, "ip_version": 4, "src_ip": ip_to_int("10.0.0.9"),
         "dst_ip": ip_to_int("10.0.0.1"), "ip_proto": 1, "src_port": 0, "dst_port": 0, "icmp_type": 8,
         "icmp_code": 0, "packets": 1, "bytes": 84},
    ]
    # Inserted with SQL: the test is about the filter, not the store's flow-record path.
    for i, r in enumerate(recs, start=1):
        memcase.con.execute(
            "INSERT INTO flows (flow_id, source, capture_id, first_ts, last_ts, ip_version, src_ip, dst_ip, "
            "ip_proto, src_port, dst_port, icmp_type, tcp_flags, vlan, packets, bytes) VALUES ($i, $s, 1, "
            "make_timestamp(0), make_timestamp(1), $v, $a::UHUGEINT, $b::UHUGEINT, $p, $sp, $dp, $it, $tf, $vl, "
            "$n, $by)",
            {"i": i, "s": r["source"], "v": r["ip_version"], "a": r["src_ip"], "b": r["dst_ip"], "p": r["ip_proto"],
             "sp": r["src_port"], "dp": r["dst_port"], "it": r.get("icmp_type"), "tf": r.get("tcp_flags"),
             "vl": r.get("vlan"), "n": r["packets"], "by": r["bytes"]},
        )
    ids = [r[0] for r in memcase.con.execute("SELECT flow_id FROM flows ORDER BY flow_id").fetchall()]
    assert _frames(memcase, "tcp dst port 445", "flows") == [ids[0]]
    assert _frames(memcase, "host 10.0.0.1", "flows") == [ids[0], ids[2]]
    assert _frames(memcase, "ip6 or icmp", "flows") == [ids[1], ids[2]]
    assert _frames(memcase, "tcp[tcpflags] & tcp-syn != 0 and vlan 7", "flows") == [ids[0]]
    assert _frames(memcase, "not port 0", "flows") == [ids[0], ids[1], ids[2]]  # icmp has no ports
