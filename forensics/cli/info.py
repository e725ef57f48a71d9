"""`forensics info`"""

from __future__ import annotations

import json

import typer

from forensics.cli.options import DbOption, FilterOption, JsonFlag, db_path


def info_command(db: DbOption = None, filter_expr: FilterOption = None, json_out: JsonFlag = False) -> None:
    """Show what the case holds: captures with counts and time ranges, totals, protocol mix, the link layer
    (busiest MAC addresses with the IPs behind each; IP-to-MAC changes seen in ARP), flow sources.

    With --filter, the packet and flow totals, the protocol mix and the link-layer view count only what the
    expression matches.

    Example: forensics info --db case.duckdb --filter 'tcp dst port 445' --json
    """
    from forensics.errors import UsageError
    from forensics.filters import compile_filter
    from forensics.filters.to_sql import uses_byte_loads
    from forensics.store import Case
    from forensics.store.info import case_info

    packet_cond = flow_cond = None
    if filter_expr:
        packet_cond = compile_filter(filter_expr, "packets", prefix="p")
        try:
            flow_cond = compile_filter(filter_expr, "flows", prefix="q")
        except UsageError:
            flow_cond = ("false", {})  # a packet-only primitive (len, arp, ...): no flow matches it
    with Case.open(db_path(db), read_only=True) as case:
        if packet_cond is not None and uses_byte_loads(packet_cond[0]):
            from forensics.carve import register_byte_loads

            register_byte_loads(case.con)
        info = case_info(case, packet_cond, flow_cond)
    if filter_expr:
        info["filter"] = filter_expr
    if json_out:
        print(json.dumps(info, indent=2, default=str))
        return
    t = info["totals"]
    if filter_expr:
        print(f"filter: {filter_expr} (totals and protocol mix count matching packets and flows only)")
    print(f"case {info['database']}: {t['captures']} captures, {t['packets']:,} packets, {t['flows']:,} flows "
          f"({t['pcap_flows']:,} from packets, {t['exported_flow_records']:,} exported), "
          f"{t['first_ts'] or '-'} .. {t['last_ts'] or '-'}")
    if t["malformed"] or t["undecoded"] or t["rejects"]:
        print(f"malformed {t['malformed']:,}, undecoded {t['undecoded']:,}, rejected inputs {t['rejects']}")
    print()
    print(f"{'id':>4} {'packets':>10} {'flows':>8} {'records':>8} {'malf':>5}  {'first':<27} {'last':<27} path")
    for c in info["captures"]:
        print(f"{c['capture_id']:>4} {c['packets']:>10,} {c['flows']:>8,} {c['flow_records']:>8,} {c['malformed']:>5}  "
              f"{c['first_ts'] or '-':<27} {c['last_ts'] or '-':<27} {c['path']}")
    if info["protocols"]:
        print()
        print(f"{'network':<18} {'protocol':<10} {'packets':>12} {'bytes':>16}")
        for p in info["protocols"][:15]:
            print(f"{p['network']:<18} {p['protocol'] or '-':<10} {p['packets']:>12,} {p['bytes']:>16,}")
    if info["macs"]:
        print()
        print(f"{'MAC address':<17} {'packets':>10} {'bytes':>14} {'ARP':>6} {'IPs':>6}  "
              "IPs seen behind it (busiest first)")
        for m in info["macs"]:
            more = f" (+{m['ip_count'] - len(m['top_ips'])})" if m["ip_count"] > len(m["top_ips"]) else ""
            print(f"{m['mac']:<17} {m['packets']:>10,} {m['bytes']:>14,} {m['arp_packets']:>6,} {m['ip_count']:>6,}  "
                  f"{', '.join(m['top_ips']) or '-'}{more}")
    if info["ip_mac_changes"]:
        print()
        print("IP-to-MAC changes in ARP (possible spoofing; also failover, new NIC)")
        for c in info["ip_mac_changes"]:
            print(f"  {c['ts']}  {c['ip']:<15} {c['old_mac']} -> {c['new_mac']} ({c['arp_op']}, capture "
                  f"{c['capture_id']} frame {c['frame']}; {c['macs_for_ip']} MACs claimed it; old one last "
                  f"{c['old_mac_last_ts']})")
    if info["flow_sources"]:
        print()
        print("flow sources")
        for s in info["flow_sources"]:
            print("  " + ", ".join(f"{k}={v}" for k, v in s.items()))
    if info["rejects"]:
        print()
        print("rejected input")
        for r in info["rejects"][:20]:
            print(f"  {r['reason']}")


def register(app: typer.Typer) -> None:
    app.command("info")(info_command)
