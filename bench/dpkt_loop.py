"""The dpkt peer: decode every packet and count it into a 5-tuple dict (as ../shared/bench/peers.py dpkt).

    python -m bench.dpkt_loop FILE      -> one JSON line: packets, ipv6, tcp_dport_445, flows_5tuple
"""

import json
import sys

import dpkt


def run(path: str) -> dict:
    flows: dict = {}
    n = n6 = n445 = 0
    ip4, ip6, tcp, udp = dpkt.ip.IP, dpkt.ip6.IP6, dpkt.tcp.TCP, dpkt.udp.UDP
    with open(path, "rb") as fh:
        for ts, buf in dpkt.pcap.Reader(fh):
            n += 1
            ip = dpkt.ethernet.Ethernet(buf).data  # 802.1Q tags handled by dpkt
            if isinstance(ip, ip6):
                n6 += 1
            elif not isinstance(ip, ip4):
                continue
            l4 = ip.data
            if isinstance(l4, (tcp, udp)):
                sp, dp = l4.sport, l4.dport
                n445 += dp == 445 and isinstance(l4, tcp)
            else:
                sp = dp = 0
            key = (ip.src, ip.dst, ip.p, sp, dp)
            f = flows.get(key)
            if f is None:
                flows[key] = [1, len(buf), ts, ts]
            else:
                f[0] += 1
                f[1] += len(buf)
                f[3] = ts
    return {"packets": n, "ipv6": n6, "tcp_dport_445": n445, "flows_5tuple": len(flows)}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1])))
