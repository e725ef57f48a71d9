"""One generated scenario per check: exactly the expected alerts (entity, window, value)."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import FIN, PSH, URG, eth, ipv4, udp

from tests.checks.checkgen import ACK, RST, SYN, T0, epoch, run, spread, syn_frame, udp_frame

S30 = dt.timedelta(seconds=30)
VICTIM = "10.0.0.5"


def _bins(counts: list[int], frame_of) -> list:
    """counts[i] frames in the 30-s bin starting at T0 + 30 i."""
    records = []
    for i, n in enumerate(counts):
        records += spread(T0 + i * S30, n, frame_of)
    return records


def _syn(i: int) -> bytes:
    return syn_frame(f"198.51.100.{i % 250 + 1}", VICTIM, 1024 + i, 80)


def _alerts(run_result, check):
    return [(a.entity, a.window_start, a.window_end, round(a.value, 6), a.unit)
            for a in run_result.alerts if a.check == check]


def test_syn_flood_two_consecutive_bins(tmp_case):
    # bin 0 above (2 pps), bin 1 below (0.33): no alert; bins 3, 4, 5 above (2, 2.5, 1.5 pps): one alert
    case = tmp_case(_bins([60, 10, 0, 60, 75, 45, 5], _syn))
    result = run(case, ["syn_flood"], syn_flood__home_pps=1)
    assert _alerts(result, "syn_flood") == [(VICTIM, T0 + 3 * S30, T0 + 6 * S30, 2.5, "pps")]
    alert = result.alerts[0]
    assert alert.threshold == 1.0
    assert alert.evidence == f"dst host {VICTIM} and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"
    # the series runs from a minute before the window to its end, in pps
    assert [v for _, v in alert.series] == [pytest.approx(v) for v in (10 / 30, 2.0, 2.5, 1.5, 5 / 30)]  # bin 2: empty


def test_one_bin_above_then_below_raises_nothing(tmp_case):
    case = tmp_case(_bins([90, 29, 90, 0, 90], _syn))  # 29 packets = 0.967 pps: below 1 pps
    assert run(case, ["syn_flood"], syn_flood__home_pps=1).alerts == []


def test_home_and_non_home_limits_and_subnetwork_override(tmp_case):
    outside = "203.0.113.9"
    recs = _bins([60, 60], _syn) + _bins([60, 60], lambda i: syn_frame("10.9.9.9", outside, 2000 + i, 80))
    recs += _bins([60, 60], lambda i: syn_frame("10.9.9.9", "10.7.0.1", 3000 + i, 80))
    config = '[subnetworks]\nlab = ["10.7.0.0/16"]\n[checks.syn_flood]\nhome_pps = 1\nother_pps = 3\n' \
             '[checks.syn_flood.subnetworks.lab]\npps = 2.5\n'
    case = tmp_case(recs, config=config)
    result = run(case, ["syn_flood"])
    # 2 pps: above home (1), below other (3), below lab's override (2.5)
    assert [a[0] for a in _alerts(result, "syn_flood")] == [VICTIM]
    result = run(case, ["syn_flood"], syn_flood__other_pps=1.5)
    assert sorted(a[0] for a in _alerts(result, "syn_flood")) == [VICTIM, outside]


def test_bps_limit_triggers_alone(tmp_case):
    big = lambda i: udp_frame("198.51.100.7", VICTIM, 5000, 9999, b"x" * 972)  # ip_len 1000  # noqa: E731
    case = tmp_case(_bins([30, 30], big))
    result = run(case, ["udp_flood"], udp_flood__home_pps=0, udp_flood__home_bps=7000)
    assert _alerts(result, "udp_flood") == [(VICTIM, T0, T0 + 2 * S30, 8000.0, "bps")]


def test_land_attack_at_default_limits(tmp_case):
    land = lambda i: syn_frame(VICTIM, VICTIM, 139, 139)  # noqa: E731
    case = tmp_case(_bins([1, 1, 0, 1], land))
    assert _alerts(run(case, ["land_attack"]), "land_attack") == [(VICTIM, T0, T0 + 2 * S30, round(1 / 30, 6), "pps")]


def test_tcp_flag_misuse_counts_only_impossible_flags(tmp_case):
    bad = [0, SYN | FIN, SYN | RST, FIN, FIN | PSH | URG]
    good = [SYN, SYN | ACK, ACK, FIN | ACK, RST, RST | ACK]
    recs = _bins([len(bad) * 8] * 2, lambda i: syn_frame("198.51.100.3", VICTIM, 3000 + i, 22, bad[i % len(bad)]))
    recs += _bins([60, 60], lambda i: syn_frame("198.51.100.4", VICTIM, 4000 + i, 22, good[i % len(good)]))
    result = run(case := tmp_case(recs), ["tcp_flag_misuse"], tcp_flag_misuse__home_pps=1)
    assert _alerts(result, "tcp_flag_misuse") == [(VICTIM, T0, T0 + 2 * S30, round(40 / 30, 6), "pps")]
    assert case.con.execute("SELECT count(*) FROM packets").fetchall()[0][0] == 200


def test_udp_fragments(tmp_case):
    def frag(i: int) -> bytes:
        first = i % 2 == 0
        payload = udp(5000, 53, b"y" * 32) if first else b"z" * 32
        return eth(0x0800, ipv4("198.51.100.8", VICTIM, 17, payload, ident=i // 2, mf=first,
                                frag_offset=0 if first else 40))
    case = tmp_case(_bins([40, 40], frag) + _bins([200, 200], lambda i: udp_frame("198.51.100.9", VICTIM, 5000, 53)))
    result = run(case, ["udp_fragment", "tcp_fragment"], udp_fragment__home_pps=1, tcp_fragment__home_pps=1)
    assert _alerts(result, "udp_fragment") == [(VICTIM, T0, T0 + 2 * S30, round(40 / 30, 6), "pps")]
    assert _alerts(result, "tcp_fragment") == []


def test_syn_scan_counts_unanswered_syns(tmp_case):
    scanner = "10.0.0.66"
    recs = spread(T0, 300, lambda i: syn_frame(scanner, f"10.0.{1 + i // 250}.{i % 250 + 1}", 50000, 445), 50)
    answered = spread(T0, 100, lambda i: syn_frame(scanner, "10.0.9.9", 40000 + i, 80), 50)
    replies = [(t + 0.001, syn_frame("10.0.9.9", scanner, 80, 40000 + i, SYN | ACK)) for i, (t, _) in
               enumerate(answered)]
    case = tmp_case(recs + answered + replies)
    result = run(case, ["syn_scan"])
    assert _alerts(result, "syn_scan") == [(scanner, T0, T0 + dt.timedelta(minutes=1), 300.0, "count")]
    assert result.alerts[0].series == [("2026-03-10T12:00:00Z", 300.0)]  # the minutes around it: only this one
    assert run(case, ["syn_scan"], syn_scan__threshold=300).alerts == []


def test_port_scan_and_host_sweep(tmp_case):
    scanner = "10.0.0.77"
    ports = spread(T0, 150, lambda i: syn_frame(scanner, VICTIM, 51000, 1 + i), 20)
    sweep = spread(T0 + dt.timedelta(minutes=2), 120, lambda i: syn_frame(scanner, f"10.1.5.{i + 1}", 52000, 445), 20)
    server_replies = spread(T0, 200, lambda i: udp_frame("10.0.0.53", "10.0.0.8", 53, 30000 + i), 20)
    case = tmp_case(ports + sweep + server_replies)
    result = run(case, ["port_scan", "host_sweep"])
    minute = dt.timedelta(minutes=1)
    assert _alerts(result, "port_scan") == [(scanner, T0, T0 + minute, 150.0, "count")]
    assert _alerts(result, "host_sweep") == [(scanner, T0 + 2 * minute, T0 + 3 * minute, 120.0, "count")]
    sweep_alert = next(a for a in result.alerts if a.check == "host_sweep")
    assert sweep_alert.evidence.startswith(f"src host {scanner} and tcp dst port 445")


def test_traffic_threshold_ingress_egress_total(tmp_case):
    big = lambda i: udp_frame("10.0.0.9", "203.0.113.1", 5000, 6000, b"x" * 972)  # 1000 IP bytes  # noqa: E731
    case = tmp_case(spread(T0, 100, big, 60))
    result = run(case, ["traffic_threshold"], traffic_threshold__threshold=99_999)
    got = sorted((a.entity, a.value, a.evidence.split(" host")[0]) for a in result.alerts)
    assert got == [("10.0.0.9", 100_000.0, "src"), ("10.0.0.9", 100_000.0, "src or dst")]  # 203.0.113.1: not home


def test_after_hours_and_timezone(tmp_case):
    night = dt.datetime(2026, 3, 10, 2, 30)
    early = dt.datetime(2026, 3, 10, 7, 30)  # 07:30 UTC = 08:30 in Rome (UTC+1 in March)
    recs = [(epoch(night), syn_frame("10.0.1.23", "198.51.100.23", 52000, 22)),
            (epoch(night) + 0.1, syn_frame("198.51.100.23", "10.0.1.23", 22, 52000, SYN | ACK)),
            (epoch(early), syn_frame("10.0.1.24", "198.51.100.24", 52001, 443)),
            (epoch(T0), syn_frame("10.0.1.25", "198.51.100.25", 52002, 443)),
            (epoch(night) + 5, syn_frame("10.0.1.26", "10.0.1.27", 52003, 445))]  # home to home: not counted
    case = tmp_case(recs)
    got = [(a.entity, a.window_start, a.value) for a in run(case, ["after_hours"]).alerts]
    assert got == [("10.0.1.23", night, 1.0), ("10.0.1.24", early, 1.0)]
    rome = run(case, ["after_hours"], after_hours__timezone="Europe/Rome").alerts
    assert [a.entity for a in rome] == ["10.0.1.23"]
    wide = run(case, ["after_hours"], after_hours__hours="02,18").alerts
    assert wide == []


def test_after_hours_one_alert_per_host_and_bin(tmp_case):
    night = dt.datetime(2026, 3, 10, 1, 30)
    recs = [(epoch(night), syn_frame("10.0.1.23", "198.51.100.23", 52000, 22)),
            (epoch(night) + 4200, syn_frame("10.0.1.23", "198.51.100.24", 52001, 443))]  # 02:40, the next hour
    case = tmp_case(recs)
    hourly = [(a.window_start, a.window_end, a.value) for a in run(case, ["after_hours"]).alerts]
    assert hourly == [(night, dt.datetime(2026, 3, 10, 2), 1.0),
                      (night + dt.timedelta(seconds=4200), dt.datetime(2026, 3, 10, 3), 1.0)]
    daily = run(case, ["after_hours"], after_hours__bin_secs="86400").alerts
    assert [(a.window_start, a.window_end, a.value) for a in daily] == [(night, dt.datetime(2026, 3, 11), 2.0)]


def test_after_hours_from_config(tmp_case):
    config = '[business_hours]\ndays = ["mon","tue","wed","thu","fri"]\nstart = "13:00"\nend = "18:00"\n'
    case = tmp_case([(epoch(T0), syn_frame("10.0.1.25", "198.51.100.25", 52002, 443))], config=config)
    assert [a.entity for a in run(case, ["after_hours"]).alerts] == ["10.0.1.25"]


def test_unexpected_server_judged_by_who_answered(tmp_case):
    recs = []
    for i in range(3):
        t = epoch(T0) + i
        recs += [(t, udp_frame("10.0.1.42", "203.0.113.53", 40000 + i, 53)),
                 (t + 0.01, udp_frame("203.0.113.53", "10.0.1.42", 53, 40000 + i)),
                 (t + 0.2, udp_frame("10.0.1.43", "10.0.0.53", 41000 + i, 53)),
                 (t + 0.21, udp_frame("10.0.0.53", "10.0.1.43", 53, 41000 + i)),
                 (t + 0.4, udp_frame("10.0.1.44", "192.0.2.123", 123, 123)),  # symmetric NTP: no service side
                 (t + 0.5, udp_frame("10.0.1.45", "192.0.2.77", 42000 + i, 53))]  # never answered: by port
    recs.append((epoch(T0) + 9, udp_frame("0.0.0.0", "255.255.255.255", 68, 67)))  # DHCP discover: broadcast
    case = tmp_case(recs)
    result = run(case, ["unexpected_server"])
    assert sorted((a.entity, a.value) for a in result.alerts) == [("192.0.2.77", 3.0), ("203.0.113.53", 6.0)]
    configured = run(case, ["unexpected_server"], unexpected_server__dns_servers="203.0.113.53, 10.0.0.53")
    assert [a.entity for a in configured.alerts] == ["192.0.2.77"]


def test_rerun_is_idempotent_and_replaces_only_its_range(tmp_case):
    from forensics.checks import load_alerts, run_checks

    case = tmp_case(_bins([60, 60, 0, 0, 60, 60], _syn))
    params = {"syn_flood": {"home_pps": "1"}}
    first = run_checks(case, ["syn_flood"], params=params)
    assert len(first.alerts) == 2
    run_checks(case, ["syn_flood"], params=params)
    assert len(load_alerts(case)) == 2
    run_checks(case, ["syn_flood"], start=T0, end=T0 + 2 * S30, params={"syn_flood": {"home_pps": "5"}})
    left = load_alerts(case)
    assert [a.window_start for a in left] == [T0 + 4 * S30]


def test_app_anomaly_user_signature(tmp_case):
    config = ('[checks.app_anomaly.signatures.big_udp]\nproto = "udp"\ndst_port = "9999"\nlength = "500-1500"\n'
              'dst = "10.0.0.0/24"\npps = 1\n')
    big = lambda i: udp_frame("198.51.100.7", VICTIM, 5000, 9999, b"x" * 972)  # noqa: E731
    small = lambda i: udp_frame("198.51.100.7", VICTIM, 5000, 9999, b"x" * 20)  # noqa: E731
    other = lambda i: udp_frame("198.51.100.7", "10.0.1.5", 5000, 9999, b"x" * 972)  # noqa: E731
    recs = spread(T0, 90, big, 60) + spread(T0, 200, small, 60) + spread(T0, 200, other, 60)
    case = tmp_case(recs, config=config)
    result = run(case, ["app_anomaly"])
    assert _alerts(result, "app_anomaly") == [(VICTIM, T0, T0 + dt.timedelta(minutes=1), 1.5, "pps")]
    assert result.alerts[0].evidence == ("dst host 10.0.0.5 and proto 17 and dst net 10.0.0.0/24 and "
                                         "dst portrange 9999-9999")


def test_app_anomaly_signature_errors_name_the_key(case):
    from forensics.checks import run_checks
    from forensics.config import config_from_text
    from forensics.errors import UsageError

    bad = config_from_text('[checks.app_anomaly.signatures.x]\nproto = "udp"\ntcp_flags = "syn,bogus"\npps = 1\n',
                           "case.toml")
    with pytest.raises(UsageError, match=r"case.toml \[checks.app_anomaly.signatures.x\] key 'tcp_flags'"):
        run_checks(case, ["app_anomaly"], config=bad)


def test_traffic_anomaly_learned_upper_and_set_lower(tmp_case):
    config = '[subnetworks]\nlab = ["10.7.0.0/16"]\n'
    start = T0 - dt.timedelta(hours=1)
    # one flow per packet (flows count in the bin of their first packet)
    pkt = lambda base: lambda i: udp_frame("198.51.100.7", "10.7.0.9", base + i, 6000)  # noqa: E731
    steady = spread(start, 360, pkt(10000), 1800)  # 0.2 pps from 11:00 to 11:30
    steady += spread(start + dt.timedelta(minutes=30), 300, pkt(20000), 1500)  # 0.2 pps to 11:55, a silent bin
    burst = spread(T0, 1500, pkt(30000), 300)  # 12:00: 5 pps for one 5-minute bin
    case = tmp_case(steady + burst, config=config)
    result = run(case, ["traffic_anomaly"], traffic_anomaly__min_pps=1, traffic_anomaly__min_bps=1e9,
                 traffic_anomaly__lower_pps_in=0.1)
    got = [(a.entity, a.window_start, round(a.value, 6), a.unit, a.band_lo, a.band_hi) for a in result.alerts]
    five = dt.timedelta(minutes=5)
    assert got[:2] == [("subnetwork:lab in", T0 - five, 0.0, "pps", 0.1, 1.0),  # the silent bin: below 0.1
                       ("subnetwork:lab in", T0, 5.0, "pps", 0.1, 1.0)]  # 4 x 0.2 = 0.8 < floor 1: limit 1 pps
    # after the burst the case holds nothing up to the range's end (13:00): one run below the set lower limit
    assert [(a.window_start, a.window_end, a.value) for a in result.alerts[2:]] == [(T0 + five, T0 + 12 * five, 0.0)]
    burst_alert = result.alerts[1]
    assert burst_alert.evidence == "dst net 10.7.0.0/16"
    assert ("subnetwork:lab out" not in {a.entity for a in result.alerts})


def test_traffic_anomaly_learned_from_the_same_hour_last_week(tmp_case):
    config = '[subnetworks]\nlab = ["10.7.0.0/16"]\n'
    pkt = lambda base: lambda i: udp_frame("10.7.0.9", "198.51.100.7", base + i, 6000)  # noqa: E731
    week_ago = spread(T0 - dt.timedelta(days=7), 300, pkt(10000), 300)  # 1 pps in one bin: hour mean 1/12 pps
    now = spread(T0, 3000, pkt(20000), 300)  # 10 pps
    case = tmp_case(week_ago + now, config=config)
    result = run(case, ["traffic_anomaly"], traffic_anomaly__learn="week", traffic_anomaly__factor=2,
                 traffic_anomaly__min_pps=1, traffic_anomaly__min_bps=1e9)
    assert [(a.entity, a.window_start, round(a.value, 6), a.band_hi) for a in result.alerts] == \
        [("subnetwork:lab out", T0, 10.0, 1.0)]
    result = run(case, ["traffic_anomaly"], traffic_anomaly__learn="week", traffic_anomaly__factor=200,
                 traffic_anomaly__min_pps=1, traffic_anomaly__min_bps=1e9)
    assert result.alerts == []  # 200 x 1/12 = 16.7 pps: 10 pps is inside


def test_unexpected_server_from_payload_on_another_port(tmp_case):
    """A resolver answering on UDP 5300: no port rule sees it; its DNS responses (dns table) do."""
    import dpkt

    recs = []
    for i in range(3):
        t = epoch(T0) + i
        q = dpkt.dns.DNS(id=i, qd=[dpkt.dns.DNS.Q(name="c2.example", type=dpkt.dns.DNS_A)])
        a = dpkt.dns.DNS(id=i, op=dpkt.dns.DNS_QR | dpkt.dns.DNS_RD | dpkt.dns.DNS_RA,
                         qd=[dpkt.dns.DNS.Q(name="c2.example", type=dpkt.dns.DNS_A)])
        recs += [(t, udp_frame("10.0.1.42", "198.51.100.99", 40000 + i, 5300, bytes(q))),
                 (t + 0.01, udp_frame("198.51.100.99", "10.0.1.42", 5300, 40000 + i, bytes(a))),
                 (t + 0.5, udp_frame("10.0.1.42", "198.51.100.7", 41000 + i, 5300)),  # not DNS: nothing
                 (t + 0.51, udp_frame("198.51.100.7", "10.0.1.42", 5300, 41000 + i))]
    case = tmp_case(recs)
    result = run(case, ["unexpected_server"])
    assert [(a.entity, a.value, a.evidence) for a in result.alerts] == [
        ("198.51.100.99", 3.0, "host 198.51.100.99 and udp port 5300")]
    assert result.alerts[0].detail.startswith("DNS server 198.51.100.99 (udp/5300)")
    assert run(case, ["unexpected_server"], unexpected_server__dns_servers="198.51.100.99").alerts == []
