"""Every shipped report on generated flows, against a pure-Python oracle of the same flows."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections import defaultdict

import pytest
from flowgen import BIN, PROTO_NAMES, SPAN, T0, WANNACRY, ip_text, is_home

from forensics.reports import run_report

WINDOW = {"from": T0.isoformat() + "Z", "to": (T0 + SPAN).isoformat() + "Z"}
SECS = SPAN.total_seconds()


def run(case, name, config=None, **params):
    return run_report(case, name, {**WINDOW, **params}, config=config)


def expected_topn(flows, keys, measures, top):
    """keys(f) -> [(key, {measure: value})...]; -> (ordered items [(key, totals)], others totals, series)."""
    total = defaultdict(lambda: defaultdict(float))
    series = defaultdict(lambda: defaultdict(float))
    for f in flows:
        for key, vals in keys(f):
            for m, v in vals.items():
                total[key][m] += v
                series[(key, f.bin)][m] += v
    rank_measure = "total" if "total" in measures else measures[0]
    ordered = sorted(total, key=lambda k: -total[k][rank_measure])
    head, rest = ordered[:top], ordered[top:]
    others = {m: sum(total[k][m] for k in rest) for m in measures} if rest else None
    others_series = defaultdict(lambda: defaultdict(float))
    for (key, b), vals in series.items():
        if key in rest:
            for m, v in vals.items():
                others_series[b][m] += v
    return [(k, total[k]) for k in head], others, series, others_series


def pick(section, values, measures):
    return [values[section.measures.index(m)] for m in measures]


def check_section(section, flows, keys, measures, top):
    head, others, series, others_series = expected_topn(flows, keys, measures, top)
    items = [it for it in section.items if not it.others]
    assert [tuple(it.names) for it in items] == [k for k, _ in head]
    for it, (_, totals) in zip(items, head, strict=True):
        assert pick(section, it.values, measures) == pytest.approx([totals[m] / SECS for m in measures],
                                                                   rel=1e-9, abs=1e-9)
    rest = [it for it in section.items if it.others]
    if others is None:
        assert rest == []
    else:
        assert len(rest) == 1 and rest[0].rank == top + 1
        assert pick(section, rest[0].values, measures) == pytest.approx([others[m] / SECS for m in measures],
                                                                        rel=1e-9)
    # the time series: every (item, bin) with traffic, and nothing else
    got = {}
    for b, row in section.series.items():
        for pos, vals in row.items():
            it = section.items[pos]
            got[("others" if it.others else tuple(it.names), b)] = pick(section, vals, measures)
    want = {}
    for (key, b), vals in series.items():
        if any(key == k for k, _ in head):
            want[(key, b)] = [vals[m] / BIN for m in measures]
    for b, vals in others_series.items():
        want[("others", b)] = [vals[m] / BIN for m in measures]
    assert set(got) == set(want)
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-9, abs=1e-9)


def home_dir(f):
    bits = f.bytes * 8
    return {"in": bits if is_home(f.dst) else 0.0, "out": bits if is_home(f.src) else 0.0, "total": bits}


def port(p):
    return None if p is None else str(p)


def test_attributes_src_ip_dst_port_top5(case, flows):
    r = run(case, "attributes", attributes="src_ip,dst_port", top=5)
    (section,) = r.sections
    assert section.dimensions == ["src_ip", "dst_port"]
    check_section(section, flows, lambda f: [((ip_text(f.src), port(f.dport)), home_dir(f))],
                  ["in", "out", "total"], 5)


def test_attributes_three_way_with_interfaces_and_vlan(case, flows):
    r = run(case, "attributes", attributes="proto,out_if,vlan", top=4)
    (section,) = r.sections
    check_section(section, flows, lambda f: [((PROTO_NAMES[f.proto], str(f.out_if), port(f.vlan)), home_dir(f))],
                  ["in", "out", "total"], 4)


def test_attributes_application(case, flows, config):
    def app(f):
        names = []
        if (f.proto, f.dport) in WANNACRY or (f.proto, f.sport) in WANNACRY:
            names.append("WannaCry.attack")
        if f.proto == 6 and (f.dport in (80, 443) or f.sport in (80, 443)):
            names.append("web")
        return min(names) if names else None

    r = run(case, "attributes", config=config, attributes="app", top=10)
    check_section(r.sections[0], flows, lambda f: [((app(f),), home_dir(f))], ["in", "out", "total"], 10)


def test_top_talkers(case, flows):
    def sides(f):
        bits = f.bytes * 8
        return [((ip_text(f.dst),), {"in": bits, "out": 0.0, "total": bits}),
                ((ip_text(f.src),), {"in": 0.0, "out": bits, "total": bits})]

    r = run(case, "top_talkers", top=6)
    check_section(r.sections[0], flows, sides, ["in", "out", "total"], 6)


def test_top_talkers_in_packets_per_second(case, flows):
    def sides(f):
        return [((ip_text(f.dst),), {"in": f.packets, "out": 0.0, "total": f.packets}),
                ((ip_text(f.src),), {"in": 0.0, "out": f.packets, "total": f.packets})]

    r = run(case, "top_talkers", top=3, unit="pps")
    assert r.unit == "pps"
    # packet counts can tie, so compare the sum over all items (top + Others) and the top item set's values
    head, others, _, _ = expected_topn(flows, sides, ["in", "out", "total"], 3)
    got_total = sum(it.values[2] for it in r.sections[0].items)
    assert got_total == pytest.approx(sum(2 * f.packets for f in flows) / SECS, rel=1e-9)
    assert sorted(it.values[2] for it in r.sections[0].items if not it.others) == pytest.approx(
        sorted(t["total"] / SECS for _, t in head), rel=1e-9)


def test_top_ports(case, flows):
    def sides(f):
        if f.proto not in (6, 17):
            return []
        bits = f.bytes * 8
        name = PROTO_NAMES[f.proto]
        # the service port: the well-known (< 1024) side, else the lower-numbered one (no TCP flags here)
        to_service = (f.dport < 1024) if (f.dport < 1024) != (f.sport < 1024) else f.dport <= f.sport
        if to_service:
            return [((name, str(f.dport)), {"in": bits, "out": 0.0, "total": bits})]
        return [((name, str(f.sport)), {"in": 0.0, "out": bits, "total": bits})]

    r = run(case, "top_ports", top=8)
    assert [s.name for s in r.sections] == ["ports", "clients"]
    check_section(r.sections[0], flows, sides, ["in", "out", "total"], 8)
    # --param sections=ports: the same ports section (items, values, series), the clients section left empty
    only = run(case, "top_ports", top=8, sections="ports")
    check_section(only.sections[0], flows, sides, ["in", "out", "total"], 8)
    assert only.sections[1].items == [] and r.sections[1].items


def test_top_ports_peers(case, flows):
    """peers of each top service = its distinct clients (IPv4 and IPv6), every way the SQL counts them: the ports
    section alone, one aggregate by client with the ranks as bits for $top <= 63, count(DISTINCT) per rank above;
    with the clients section, from the (client, service) pairs both sections share. Each top client's ports =
    its distinct services, peers = its distinct servers."""
    clients, services, servers = defaultdict(set), defaultdict(set), defaultdict(set)
    for f in flows:
        if f.proto not in (6, 17):
            continue
        to_service = (f.dport < 1024) if (f.dport < 1024) != (f.sport < 1024) else f.dport <= f.sport
        port = f.dport if to_service else f.sport
        client, server = (f.src, f.dst) if to_service else (f.dst, f.src)
        clients[(PROTO_NAMES[f.proto], str(port))].add(client)
        services[ip_text(client)].add((f.proto, port))
        servers[ip_text(client)].add(server)
    for sections in ("ports", "ports,clients"):
        for top in (3, 8, 63, 64):
            section, by_client = run(case, "top_ports", top=top, sections=sections).sections
            items = [it for it in section.items if not it.others]
            assert len(items) == min(top, len(clients))
            got = {tuple(it.names): it.values[section.measures.index("peers")] for it in items}
            assert got == {k: len(clients[k]) for k in got}
            if sections == "ports":
                assert by_client.items == []
                continue
            tops = [it for it in by_client.items if not it.others]
            assert len(tops) == min(top, len(services))
            ports = [it.values[by_client.measures.index("ports")] for it in tops]
            assert ports == sorted(ports, reverse=True) and ports[0] == max(len(v) for v in services.values())
            for it in tops:
                assert it.values[by_client.measures.index("ports")] == len(services[it.names[0]])
                assert it.values[by_client.measures.index("peers")] == len(servers[it.names[0]])
    assert len(got) == len(clients) and any(":" in c for k in got for c in clients[k])


def test_protocol_mix(case, flows):
    r = run(case, "protocol_mix")
    check_section(r.sections[0], flows, lambda f: [((PROTO_NAMES[f.proto],), home_dir(f))],
                  ["in", "out", "total"], 10)


def test_internet_summary(case, flows):
    r = run(case, "internet_summary")
    (section,) = r.sections
    cats = {
        "Into Home": lambda s, d: d, "Out of Home": lambda s, d: s,
        "Internet to Home": lambda s, d: not s and d, "Home to Internet": lambda s, d: s and not d,
        "Internet to Internet": lambda s, d: not s and not d, "Home to Home": lambda s, d: s and d,
    }
    assert [it.names[0] for it in section.items] == [*cats, "Local (multicast, broadcast, link-local)"]
    for pos, (_name, pred) in enumerate(cats.items()):
        want = sum(f.bytes * 8 for f in flows if pred(is_home(f.src), is_home(f.dst)))
        assert section.items[pos].values[0] == pytest.approx(want / SECS, rel=1e-12)
        for b, row in section.series.items():
            want_bin = sum(f.bytes * 8 for f in flows if f.bin == b and pred(is_home(f.src), is_home(f.dst)))
            assert row.get(pos, [0.0])[0] == pytest.approx(want_bin / BIN, rel=1e-12, abs=1e-12)
    assert set(section.series) == {f.bin for f in flows}


def test_internet_summary_ipv6_only(case, flows):
    r = run(case, "internet_summary", ip_version="6")
    want = sum(f.bytes * 8 for f in flows if f.version == 6 and is_home(f.dst))
    assert r.sections[0].items[0].values[0] == pytest.approx(want / SECS, rel=1e-12)
    assert r.ip_version_text == "IPv6"


def wannacry_flows(flows):
    return [f for f in flows if is_home(f.src) and not is_home(f.dst) and (f.proto, f.dport) in WANNACRY]


def test_wannacry_both_sections(case, flows):
    r = run(case, "wannacry", top=5)
    assert [s.name for s in r.sections] == ["src_dst", "dst_out_if", "in_src_dst", "home_src_dst"]
    wc = wannacry_flows(flows)
    assert wc, "the generator must produce WannaCry traffic"
    check_section(r.sections[0], wc,
                  lambda f: [((ip_text(f.src), ip_text(f.dst), PROTO_NAMES[f.proto], str(f.dport)),
                              {"value": f.bytes * 8})], ["value"], 5)
    check_section(r.sections[1], wc, lambda f: [((ip_text(f.dst), str(f.out_if)), {"value": f.bytes * 8})],
                  ["value"], 5)


def test_origin_as_uses_record_as_then_longest_prefix(case, flows, config):
    table = [(ipaddress.ip_network(p), asn) for p, asn in
             (("8.8.8.0/24", 15169), ("1.1.1.0/24", 13335), ("203.0.113.0/24", 64496),
              ("203.0.113.0/28", 64497), ("2001:db8::/32", 64498))]
    names = {15169: "GOOGLE", 13335: "CLOUDFLARENET", 64496: "DOC-NET", 64497: "DOC-SMALL", 64498: "DOC-V6"}

    def asn(ip, rec):
        if rec:
            return rec
        addr = ipaddress.ip_address(ip)
        hits = [(n.prefixlen, a) for n, a in table if n.version == addr.version and addr in n]
        return max(hits)[1] if hits else None

    def sides(f):
        bits = f.bytes * 8
        out = []
        for a, vals in ((asn(f.src, f.src_as), {"in": bits, "out": 0.0, "total": bits}),
                        (asn(f.dst, f.dst_as), {"in": 0.0, "out": bits, "total": bits})):
            out.append(((None if a is None else str(a), names.get(a)), vals))
        return out

    r = run(case, "origin_as", config=config, top=5)
    check_section(r.sections[0], flows, sides, ["in", "out", "total"], 5)


def test_subnetwork_compare(case, flows, config):
    nets = {"lab": ["10.1.0.0/16"], "office": ["10.2.0.0/16", "192.168.0.0/16"], "v6": ["fd00::/64"]}

    def inside(ip, name):
        addr = ipaddress.ip_address(ip)
        return any(addr.version == ipaddress.ip_network(n).version and addr in ipaddress.ip_network(n)
                   for n in nets[name])

    def sides(f):
        bits = f.bytes * 8
        out = [((n,), {"in": bits, "out": 0.0, "total": bits}) for n in nets if inside(f.dst, n)]
        return out + [((n,), {"in": 0.0, "out": bits, "total": bits}) for n in nets if inside(f.src, n)]

    r = run(case, "subnetwork_compare", config=config)
    check_section(r.sections[0], flows, sides, ["in", "out", "total"], 20)


def _filter_preds():
    lab = ipaddress.ip_network("10.1.0.0/16")
    return {
        "wc_out": lambda f: (is_home(f.src) or is_home(f.dst)) and is_home(f.src) and (f.proto, f.dport) in WANNACRY,
        "web": lambda f: f.proto == 6 and f.dport == 443,
        "not_lab": lambda f: not (ipaddress.ip_address(f.src).version == 4 and ipaddress.ip_address(f.src) in lab),
    }


def test_filter_compare(case, flows, config):
    preds = _filter_preds()
    r = run(case, "filter_compare", config=config)
    check_section(r.sections[0], flows, lambda f: [((n,), home_dir(f)) for n, p in preds.items() if p(f)],
                  ["in", "out", "total"], 20)


def test_filter_compare_one_group(case, flows, config):
    preds = {k: v for k, v in _filter_preds().items() if k in ("wc_out", "web")}
    r = run(case, "filter_compare", config=config, group="g1")
    check_section(r.sections[0], flows, lambda f: [((n,), home_dir(f)) for n, p in preds.items() if p(f)],
                  ["in", "out", "total"], 20)


def test_scope_subnetwork_restricts_flows(case, flows, config):
    lab = ipaddress.ip_network("10.1.0.0/16")

    def in_lab(ip):
        a = ipaddress.ip_address(ip)
        return a.version == 4 and a in lab

    kept = [f for f in flows if in_lab(f.src) or in_lab(f.dst)]
    r = run(case, "protocol_mix", config=config, scope="subnetwork:lab")
    check_section(r.sections[0], kept, lambda f: [((PROTO_NAMES[f.proto],), home_dir(f))],
                  ["in", "out", "total"], 10)
    assert r.scope == "subnetwork:lab"


def test_filter_expression_restricts_flows(case, flows):
    kept = [f for f in flows if f.proto == 6 and f.dport == 445]
    r = run_report(case, "protocol_mix", WINDOW, filter_expr="tcp dst port 445")
    check_section(r.sections[0], kept, lambda f: [((PROTO_NAMES[f.proto],), home_dir(f))],
                  ["in", "out", "total"], 10)
    # the shadowing table is gone afterwards: the next report sees every flow again
    again = run(case, "protocol_mix")
    assert sum(it.values[2] for it in again.sections[0].items) == pytest.approx(
        sum(f.bytes * 8 for f in flows) / SECS, rel=1e-12)


def test_pcap_flows_use_capture_interface_for_in_if(tmp_path, flows):
    from flowgen import load_case

    from forensics.store import CaptureMeta, Case

    c = load_case(str(tmp_path / "p.duckdb"), flows)
    # the same flows as pcap flows (whose bytes and packets come from the packets, none here): rewritten inside
    # the file's import, where `flows` is a table on both layouts (a lake's parts are immutable once published)
    pcap = Case.open(tmp_path / "pcap.duckdb")
    try:
        with pcap.importing(CaptureMeta("generated.csv", "0" * 64, 1, "nfdump-csv")) as writer:
            writer.append_flow_records([f.record() for f in flows])
            writer.con.execute("UPDATE flows SET source = 'pcap', iface = in_if, in_if = NULL, out_if = NULL")
        before = run(c, "attributes", attributes="in_if", top=5)
        after = run(pcap, "attributes", attributes="in_if", top=5)
        n = before.sections[0].measures.index("flows")
        assert sorted((str(i.names), i.values[n]) for i in before.sections[0].items) == \
               sorted((str(i.names), i.values[n]) for i in after.sections[0].items)
        assert len(after.sections[0].items) == 3  # interfaces 1, 2 and none
    finally:
        c.close()
        pcap.close()


def test_update_of_imported_flows_is_a_table_update_or_refused_on_a_lake(tmp_path, flows):
    import duckdb
    from flowgen import load_case

    from forensics.config import CaseConfig
    from forensics.errors import UsageError
    from forensics.reports.adhoc import run_sql

    c = load_case(str(tmp_path / "u.duckdb"), flows)
    try:
        statement = "UPDATE flows SET iface = 7"
        if c.lake_root is None:  # a single-file case: flows is a table
            c.con.execute(statement)
            assert c.con.execute("SELECT DISTINCT iface FROM flows").fetchall() == [(7,)]
            return
        with pytest.raises(duckdb.Error, match="base table"):  # DuckDB's own words on the raw connection
            c.con.execute(statement)
        with pytest.raises(UsageError) as refused:  # ours, where analyst SQL runs (forensics sql)
            run_sql(c, statement, CaseConfig())
        message = str(refused.value)
        assert "UPDATE on flows refused" in message and "never changed in place" in message
        assert "CREATE TEMP TABLE" in message and len(message.splitlines()) == 1
        assert c.con.execute("SELECT count(*), count(iface) FROM flows").fetchone() == (len(flows), 0)
    finally:
        c.close()


def test_default_window_is_the_data_aligned_to_bins(case, flows):
    r = run_report(case, "internet_summary", {})
    first = min(f.ts for f in flows)
    last = max(f.ts for f in flows)
    assert r.bin_secs == 300
    assert r.start == first.replace(minute=first.minute - first.minute % 5, second=0, microsecond=0)
    assert r.start <= first and last < r.end <= last + dt.timedelta(seconds=300)


def test_period_daily_averages_over_the_day(case, flows):
    end = T0 + SPAN
    r = run_report(case, "internet_summary", {"period": "daily", "end": end.isoformat()})
    assert (r.start, r.end, r.bin_secs) == (end - dt.timedelta(days=1), end, 300)
    want = sum(f.bytes * 8 for f in flows if is_home(f.dst))
    assert r.sections[0].items[0].values[0] == pytest.approx(want / 86400, rel=1e-12)


def test_bin_override(case, flows):
    r = run(case, "internet_summary", bin="1h")
    assert r.bin_secs == 3600 and set(r.sections[0].series) == {T0, T0 + dt.timedelta(hours=1)}
    want = sum(f.bytes * 8 for f in flows if f.ts < T0 + dt.timedelta(hours=1) and is_home(f.dst))
    assert r.sections[0].series[T0][0][0] == pytest.approx(want / 3600, rel=1e-12)


def test_subnetwork_compare_groups(case, flows, config):
    blocks = [ipaddress.ip_network(n) for n in ("10.1.0.0/16", "10.2.0.0/16", "192.168.0.0/16")]

    def inside(ip):
        addr = ipaddress.ip_address(ip)
        return any(addr.version == n.version and addr in n for n in blocks)

    def sides(f):
        bits = f.bytes * 8
        out = [(("campus",), {"in": bits, "out": 0.0, "total": bits})] if inside(f.dst) else []
        return out + ([(("campus",), {"in": 0.0, "out": bits, "total": bits})] if inside(f.src) else [])

    r = run(case, "subnetwork_compare", config=config, kind="group")
    check_section(r.sections[0], flows, sides, ["in", "out", "total"], 20)
