"""Hand-built NetFlow v5/v9, IPFIX and sFlow exports: every case the importer must handle, with the
expected values taken from how the bytes were built."""

from __future__ import annotations

import hashlib
import json
import struct

import pytest

import forensics.ingest.flow_exports as fe
from forensics.ingest.flow_exports import ExportCollector, looks_like_export
from forensics.netaddr import int_to_ip, ip_to_int
from forensics.readers.netflow import parse_export
from forensics.store import CaptureMeta, Case
from forensics.store.flow_sources import flow_source_summary

EXPORTER = ip_to_int("192.0.2.1")
EXPORTER2 = ip_to_int("192.0.2.2")
T0 = 1_700_000_000  # export time (unix seconds) used throughout


def ip4(text: str) -> bytes:
    return (ip_to_int(text) & 0xFFFFFFFF).to_bytes(4, "big")


def ip6(text: str) -> bytes:
    return ip_to_int(text).to_bytes(16, "big")


def flowset(set_id: int, body: bytes, pad_to: int = 4) -> bytes:
    body += b"\0" * (-len(body) % pad_to)
    return struct.pack("!HH", set_id, 4 + len(body)) + body


def v9(sets: list[bytes], source_id: int = 7, uptime_ms: int = 100_000, count: int = 1) -> bytes:
    return struct.pack("!HHIIII", 9, count, uptime_ms, T0, 1, source_id) + b"".join(sets)


def v9_template(tid: int, fields: list[tuple[int, int]]) -> bytes:
    return struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", t, n) for t, n in fields)


def v9_options_template(tid: int, scope: list[tuple[int, int]], opts: list[tuple[int, int]]) -> bytes:
    return (struct.pack("!HHH", tid, 4 * len(scope), 4 * len(opts))
            + b"".join(struct.pack("!HH", t, n) for t, n in scope + opts))


def ipfix(sets: list[bytes], domain: int = 3, export_time: int = T0) -> bytes:
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), export_time, 1, domain) + body


def ipfix_template(tid: int, fields: list[tuple], scope: int | None = None) -> bytes:
    out = struct.pack("!HH", tid, len(fields)) + (struct.pack("!H", scope) if scope is not None else b"")
    for f in fields:
        ie, length = f[0], f[1]
        if len(f) == 3:  # enterprise field
            out += struct.pack("!HHI", ie | 0x8000, length, f[2])
        else:
            out += struct.pack("!HH", ie, length)
    return out


class Importer:
    """One case; each `run` is one import (one transaction) feeding datagrams like the core importer."""

    def __init__(self, tmp_path):
        self.case = Case.open(":memory:")
        self.n = 0

    def run(self, datagrams: list[tuple[int, bytes]], ts_us: int = T0 * 1_000_000) -> dict:
        self.n += 1
        meta = CaptureMeta(f"/x/{self.n}.pcap", hashlib.sha256(str(self.n).encode()).hexdigest(), 1, "pcap")
        with self.case.importing(meta) as writer:
            c = ExportCollector(writer, meta.path)
            for frame, (exporter, payload) in enumerate(datagrams, start=1):
                assert looks_like_export(payload)
                c.feed(frame, ts_us, exporter, ip_to_int("198.51.100.9"), 40000, 2055, payload)
            return c.finish()

    def rows(self, sql: str) -> list[dict]:
        cur = self.case.con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def flows(self) -> list[dict]:
        rows = self.rows("SELECT *, epoch_us(first_ts) AS f_us, epoch_us(last_ts) AS l_us FROM flows ORDER BY flow_id")
        for r in rows:
            for col, short in (("src_ip", "src"), ("dst_ip", "dst"), ("next_hop", "nh"), ("exporter_ip", "exp")):
                r[short] = None if r[col] is None else int_to_ip(int(r[col]))
        return rows


@pytest.fixture
def imp(tmp_path):
    i = Importer(tmp_path)
    yield i
    i.case.close()


# ---- NetFlow v5 ----

def v5(records: list[dict], sampling: int = 0, uptime_ms: int = 50_000, nsecs: int = 250_000_000) -> bytes:
    head = struct.pack("!HHIIIIBBH", 5, len(records), uptime_ms, T0, nsecs, 9, 1, 2, sampling)
    body = b""
    for r in records:
        body += struct.pack("!4s4s4sHHIIIIHHxBBBHHBBxx", ip4(r["src"]), ip4(r["dst"]), ip4("10.0.0.254"),
                            3, 4, r["pkts"], r["bytes"], r["first"], r["last"], r["sport"], r["dport"],
                            r.get("flags", 0), r["proto"], 0, 64500, 64501, 24, 24)
    return head + body


def test_v5_fields_times_sampling_and_icmp(imp):
    recs = [
        {"src": "10.0.0.1", "dst": "10.0.0.2", "pkts": 10, "bytes": 1500, "first": 40_000, "last": 45_000,
         "sport": 1234, "dport": 80, "proto": 6, "flags": 0x1B},
        {"src": "10.0.0.3", "dst": "10.0.0.4", "pkts": 1, "bytes": 84, "first": 49_000, "last": 49_000,
         "sport": 0, "dport": 3 * 256 + 1, "proto": 1},
    ]
    stats = imp.run([(EXPORTER, v5(recs, sampling=(1 << 14) | 100))])
    assert stats["flow_records"] == 2 and stats["invalid"] == {}
    tcp, icmp = imp.flows()
    export_us = T0 * 1_000_000 + 250_000
    assert tcp["source"] == "netflow_v5" and tcp["exp"] == "192.0.2.1" and tcp["record_pos"] == 1
    assert (tcp["src"], tcp["dst"], tcp["src_port"], tcp["dst_port"], tcp["ip_proto"]) == ("10.0.0.1", "10.0.0.2",
                                                                                         1234, 80, 6)
    assert tcp["f_us"] == export_us - (50_000 - 40_000) * 1000
    assert tcp["l_us"] == export_us - (50_000 - 45_000) * 1000
    assert (tcp["in_if"], tcp["out_if"], tcp["src_as"], tcp["dst_as"], tcp["nh"]) == (3, 4, 64500, 64501,
                                                                                     "10.0.0.254")
    assert tcp["tcp_flags"] == 0x1B and tcp["observation_domain"] == (1 << 8) | 2
    assert (tcp["packets"], tcp["bytes"], tcp["sampling_rate"]) == (10, 1500, 100)
    assert (tcp["packets_scaled"], tcp["bytes_scaled"]) == (1000, 150_000)
    assert (icmp["icmp_type"], icmp["icmp_code"], icmp["src_port"], icmp["dst_port"]) == (3, 1, 0, 0)


def test_v5_uptime_wraparound(imp):
    """A first-switched time just before sysUptime wrapped past 2**32 ms is still just before the export."""
    recs = [{"src": "10.0.0.1", "dst": "10.0.0.2", "pkts": 1, "bytes": 40, "first": 2**32 - 1000, "last": 500,
             "sport": 1, "dport": 2, "proto": 17}]
    imp.run([(EXPORTER, v5(recs, uptime_ms=1000, nsecs=0))])
    (f,) = imp.flows()
    assert f["f_us"] == T0 * 1_000_000 - 2000 * 1000
    assert f["l_us"] == T0 * 1_000_000 - 500 * 1000


# ---- NetFlow v9 ----

V9_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4), (22, 4), (21, 4), (10, 2), (14, 2),
             (61, 1), (48, 1)]


def v9_record(src: str, dst: str, sport: int, dport: int, pkts: int, octets: int, first: int, last: int,
              sampler: int = 1) -> bytes:
    return (ip4(src) + ip4(dst) + struct.pack("!HHBIIIIHHBB", sport, dport, 6, pkts, octets, first, last, 5, 6,
                                              1, sampler))


def test_v9_template_after_data_in_same_import_and_options_sampling(imp):
    data = flowset(300, v9_record("10.1.0.1", "10.1.0.2", 5000, 443, 3, 180, 90_000, 95_000))
    options = flowset(1, v9_options_template(301, [(1, 4)], [(48, 1), (34, 4)]), pad_to=4)
    opt_data = flowset(301, struct.pack("!IBI", 0, 1, 64))
    template = flowset(0, v9_template(300, V9_FIELDS))
    stats = imp.run([(EXPORTER, v9([data])), (EXPORTER, v9([options, opt_data])),
                     (EXPORTER, v9([template, data], uptime_ms=200_000))])
    assert stats["flow_records"] == 2 and stats["pending_data_sets"] == 0
    assert stats["templates"] == 2
    first, second = imp.flows()
    # the held data set keeps its own datagram's frame number and time base
    assert (first["record_pos"], second["record_pos"]) == (1, 3)
    assert first["f_us"] == (T0 - 10) * 1_000_000 and first["l_us"] == (T0 - 5) * 1_000_000
    assert second["f_us"] == (T0 - 110) * 1_000_000
    for f in (first, second):
        assert (f["src"], f["dst"], f["src_port"], f["dst_port"], f["ip_proto"]) == ("10.1.0.1", "10.1.0.2",
                                                                                   5000, 443, 6)
        assert (f["in_if"], f["out_if"], f["direction"], f["observation_domain"]) == (5, 6, 1, 7)
    # the options data (sampler 1 = 1 in 64) was known when either data set was decoded
    assert first["sampling_rate"] == second["sampling_rate"] == 64
    assert second["packets_scaled"] == 3 * 64


def test_v9_ipv6_and_exporters_kept_apart(imp):
    fields6 = [(27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4), (62, 16), (16, 4), (17, 4)]
    t6 = flowset(0, v9_template(260, fields6))
    rec6 = (ip6("2001:db8::1") + ip6("2001:db8::2") + struct.pack("!HHBII", 53, 5353, 17, 2, 200)
            + ip6("2001:db8::fe") + struct.pack("!II", 4200000000, 65001))
    t4 = flowset(0, v9_template(260, [(8, 4), (12, 4), (2, 4), (1, 4)]))
    rec4 = ip4("10.9.9.9") + ip4("10.8.8.8") + struct.pack("!II", 7, 700)
    imp.run([(EXPORTER, v9([t6])), (EXPORTER2, v9([t4])),
             (EXPORTER, v9([flowset(260, rec6)])), (EXPORTER2, v9([flowset(260, rec4)]))])
    f6, f4 = imp.flows()
    assert (f6["ip_version"], f6["src"], f6["dst"], f6["nh"]) == (6, "2001:db8::1", "2001:db8::2", "2001:db8::fe")
    assert (f6["src_as"], f6["dst_as"], f6["exp"]) == (4200000000, 65001, "192.0.2.1")
    assert (f4["ip_version"], f4["src"], f4["packets"], f4["bytes"], f4["exp"]) == (4, "10.9.9.9", 7, 700,
                                                                                   "192.0.2.2")


def test_v9_template_refresh_changes_the_layout(imp):
    ta = flowset(0, v9_template(400, [(8, 4), (12, 4), (2, 4), (1, 4)]))
    tb = flowset(0, v9_template(400, [(1, 4), (2, 4), (8, 4), (12, 4)]))
    imp.run([(EXPORTER, v9([ta, flowset(400, ip4("10.0.0.1") + ip4("10.0.0.2") + struct.pack("!II", 1, 100))])),
             (EXPORTER, v9([tb, flowset(400, struct.pack("!II", 200, 2) + ip4("10.0.0.3") + ip4("10.0.0.4"))]))])
    a, b = imp.flows()
    assert (a["src"], a["packets"], a["bytes"]) == ("10.0.0.1", 1, 100)
    assert (b["src"], b["packets"], b["bytes"]) == ("10.0.0.3", 2, 200)


# ---- IPFIX ----

def test_ipfix_enterprise_varlen_and_time_encodings(imp):
    fields = [(8, 4), (12, 4), (4, 1), (2, 8), (1, 8), (100, 4, 9), (82, 65535), (152, 8), (153, 8)]
    tpl = flowset(2, ipfix_template(256, fields))
    name_short = b"eth0"
    name_long = b"x" * 300  # three-byte length prefix (255, then 2 bytes)
    rec1 = (ip4("10.2.0.1") + ip4("10.2.0.2") + struct.pack("!BQQI", 17, 4, 400, 0xDEADBEEF)
            + bytes([len(name_short)]) + name_short + struct.pack("!QQ", 1_699_999_990_123, 1_699_999_995_456))
    rec2 = (ip4("10.2.0.3") + ip4("10.2.0.4") + struct.pack("!BQQI", 6, 5, 500, 1)
            + b"\xff" + struct.pack("!H", len(name_long)) + name_long
            + struct.pack("!QQ", 1_699_999_980_000, 1_699_999_981_000))
    stats = imp.run([(EXPORTER, ipfix([tpl, flowset(256, rec1 + rec2)]))])
    assert stats["flow_records"] == 2 and stats["enterprise_values_skipped"] == 2
    a, b = imp.flows()
    assert a["source"] == "ipfix" and a["observation_domain"] == 3
    assert (a["src"], a["packets"], a["bytes"], a["ip_proto"]) == ("10.2.0.1", 4, 400, 17)
    assert (a["f_us"], a["l_us"]) == (1_699_999_990_123_000, 1_699_999_995_456_000)
    assert (b["src"], b["packets"], b["bytes"]) == ("10.2.0.3", 5, 500)
    assert (b["f_us"], b["l_us"]) == (1_699_999_980_000_000, 1_699_999_981_000_000)
    (tpl_row,) = imp.rows("SELECT * FROM flow_templates")
    assert tpl_row["enterprise_fields"] == 1 and tpl_row["version"] == 10
    assert json.loads(tpl_row["fields"])[5] == [100, 4, 9]


@pytest.mark.parametrize("encoding", ["seconds", "micro_ntp", "nano_ntp", "delta", "sysuptime_init"])
def test_ipfix_time_encodings(imp, encoding):
    first_us, last_us = (T0 - 30) * 1_000_000 + 250_000, (T0 - 10) * 1_000_000 + 500_000
    ntp = 2_208_988_800

    def ntp_stamp(us: int) -> int:
        secs, frac = divmod(us, 1_000_000)
        return ((secs + ntp) << 32) | ((frac << 32) // 1_000_000 + 1)

    sets = []
    if encoding == "seconds":
        fields, values = [(150, 4), (151, 4)], struct.pack("!II", first_us // 10**6, last_us // 10**6)
        first_us, last_us = first_us // 10**6 * 10**6, last_us // 10**6 * 10**6
    elif encoding == "micro_ntp":
        fields, values = [(154, 8), (155, 8)], struct.pack("!QQ", ntp_stamp(first_us), ntp_stamp(last_us))
    elif encoding == "nano_ntp":
        fields, values = [(156, 8), (157, 8)], struct.pack("!QQ", ntp_stamp(first_us), ntp_stamp(last_us))
    elif encoding == "delta":
        fields = [(158, 4), (159, 4)]
        values = struct.pack("!II", T0 * 10**6 - first_us, T0 * 10**6 - last_us)
    else:  # flowStart/EndSysUpTime relative to systemInitTimeMilliseconds from an options record
        init_ms = (T0 - 3600) * 1000
        sets.append(flowset(3, ipfix_template(257, [(149, 4), (160, 8)], scope=1)))
        sets.append(flowset(257, struct.pack("!IQ", 3, init_ms)))
        fields = [(22, 4), (21, 4)]
        values = struct.pack("!II", first_us // 1000 - init_ms, last_us // 1000 - init_ms)
    fields = [(8, 4), (12, 4), (2, 4), (1, 4), *fields]
    sets.append(flowset(2, ipfix_template(256, fields)))
    sets.append(flowset(256, ip4("10.0.0.1") + ip4("10.0.0.2") + struct.pack("!II", 1, 60) + values))
    imp.run([(EXPORTER, ipfix(sets))])
    (f,) = imp.flows()
    assert (f["f_us"], f["l_us"]) == (first_us, last_us)


def test_ipfix_withdrawal_holds_later_data(imp):
    tpl = flowset(2, ipfix_template(256, [(8, 4), (12, 4), (2, 4), (1, 4)]))
    rec = flowset(256, ip4("10.0.0.1") + ip4("10.0.0.2") + struct.pack("!II", 1, 60))
    withdraw = flowset(2, struct.pack("!HH", 256, 0))
    stats = imp.run([(EXPORTER, ipfix([tpl, rec])), (EXPORTER, ipfix([withdraw])), (EXPORTER, ipfix([rec]))])
    assert stats["flow_records"] == 1 and stats["pending_data_sets"] == 1
    (row,) = imp.rows("SELECT withdrawn, fields FROM flow_templates")
    assert row == {"withdrawn": True, "fields": None}
    # a later import re-announces the template: the held data set is decoded then, for the first import
    stats2 = imp.run([(EXPORTER, ipfix([tpl]))])
    assert stats2["flow_records_for_earlier_imports"] == 1
    assert [f["capture_id"] for f in imp.flows()] == [1, 1]
    assert imp.rows("SELECT flow_records FROM captures ORDER BY capture_id") == [{"flow_records": 2},
                                                                                {"flow_records": 0}]


def test_ipfix_withdraw_all(imp):
    tpl = flowset(2, ipfix_template(256, [(8, 4), (12, 4), (2, 4), (1, 4)]) + ipfix_template(
        257, [(12, 4), (8, 4), (2, 4), (1, 4)]))
    all_gone = flowset(2, struct.pack("!HH", 2, 0))
    rec = ip4("10.0.0.1") + ip4("10.0.0.2") + struct.pack("!II", 1, 60)
    stats = imp.run([(EXPORTER, ipfix([tpl])), (EXPORTER, ipfix([all_gone])),
                     (EXPORTER, ipfix([flowset(256, rec), flowset(257, rec)]))])
    assert stats["flow_records"] == 0 and stats["pending_data_sets"] == 2


def test_templates_kept_across_imports(imp):
    tpl = flowset(2, ipfix_template(256, [(27, 16), (28, 16), (2, 4), (1, 4)]))
    rec = flowset(256, ip6("2001:db8::a") + ip6("2001:db8::b") + struct.pack("!II", 9, 900))
    first = imp.run([(EXPORTER, ipfix([tpl]))])
    assert first == {"flow_records": 0, "invalid": {}, "pending_data_sets": 0, "templates": 1}
    second = imp.run([(EXPORTER, ipfix([rec]))])
    assert second["flow_records"] == 1
    (f,) = imp.flows()
    assert (f["src"], f["dst"], f["capture_id"], f["ip_version"]) == ("2001:db8::a", "2001:db8::b", 2, 6)
    # another exporter with the same template id does not use it
    third = imp.run([(EXPORTER2, ipfix([rec]))])
    assert third["flow_records"] == 0 and third["pending_data_sets"] == 1
    # --force clears a capture's collector state with it
    imp.case.delete_capture(3)
    assert imp.rows("SELECT count(*) AS n FROM flow_pending_sets") == [{"n": 0}]


def test_sampling_from_options_per_sampler(imp):
    opt_tpl = flowset(3, ipfix_template(258, [(302, 4), (305, 4), (306, 4)], scope=1))
    opt_data = flowset(258, struct.pack("!III", 5, 1, 99) + struct.pack("!III", 6, 1, 9))
    tpl = flowset(2, ipfix_template(256, [(8, 4), (12, 4), (2, 4), (1, 4), (302, 4)]))
    recs = b"".join(ip4("10.0.0.1") + ip4("10.0.0.2") + struct.pack("!III", 1, 60, s) for s in (5, 6, 7))
    imp.run([(EXPORTER, ipfix([opt_tpl, opt_data, tpl, flowset(256, recs)]))])
    assert [f["sampling_rate"] for f in imp.flows()] == [100, 10, 1]
    (summary,) = flow_source_summary(imp.case.con)
    assert summary["source"] == "ipfix" and summary["exporter"] == "192.0.2.1"
    assert summary["records"] == 3 and summary["sampling_rates"] == [1, 10, 100]
    assert (summary["templates"], summary["options_templates"]) == (1, 1)


# ---- damage ----

def test_invalid_records_are_counted_and_the_rest_imports(imp):
    good_tpl = ipfix_template(256, [(8, 4), (12, 4), (2, 4), (1, 4)])
    rec = flowset(256, ip4("10.0.0.1") + ip4("10.0.0.2") + struct.pack("!II", 1, 60))
    bad_options = struct.pack("!HHH", 259, 1, 2) + struct.pack("!HH", 8, 4)  # scope count 2 > 1 field
    past_end = struct.pack("!HH", 256, 200) + b"\0" * 12  # a set claiming 200 bytes in a short message
    cut = ipfix([flowset(2, good_tpl), rec])[:-5]  # cut by a snap length: last record incomplete
    stats = imp.run([(EXPORTER, ipfix([flowset(3, bad_options)])), (EXPORTER, ipfix([flowset(2, good_tpl)])),
                     (EXPORTER, ipfix([rec, past_end])), (EXPORTER, cut), (EXPORTER, ipfix([rec]))])
    assert stats["flow_records"] == 2
    assert stats["invalid"] == {"template_contradicts_itself": 1, "message_length_past_end": 1,
                                "set_length_past_end": 2}


def test_unknown_version_and_not_exports():
    assert parse_export(struct.pack("!HH", 7, 1) + b"\0" * 40).invalid == {"unknown_version": 1}
    dns_query = bytes.fromhex("0005 0100 0001 0000 0000 0000") + b"\x07example\x03com\x00\x00\x01\x00\x01"
    assert not looks_like_export(dns_query)
    assert not looks_like_export(b"\x00\x09\x00")


def test_records_are_written_in_chunks(imp, monkeypatch):
    monkeypatch.setattr(fe, "CHUNK", 40)
    sizes = []
    orig = fe.CaptureWriter.append_flow_records

    def spy(self, records):
        sizes.append(len(records))
        return orig(self, records)

    monkeypatch.setattr(fe.CaptureWriter, "append_flow_records", spy)
    recs = [{"src": "10.0.0.1", "dst": "10.0.0.2", "pkts": 1, "bytes": 40, "first": 1, "last": 2,
             "sport": i, "dport": 2, "proto": 17} for i in range(30)]
    stats = imp.run([(EXPORTER, v5(recs))] * 10)
    assert stats["flow_records"] == 300 == sum(sizes)
    assert max(sizes) < 40 + 30


# ---- sFlow v5 ----

def eth_ipv4_tcp(src: str, dst: str, sport: int, dport: int, payload_len: int) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x12, 1024, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 20 + payload_len, 1, 0, 64, 6, 0, ip4(src), ip4(dst))
    return b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x81\x00\x00\x0c\x08\x00" + ip + tcp


def sflow_record(fmt: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("!II", fmt, len(body)) + body


def test_sflow_samples_and_counters(imp):
    header = eth_ipv4_tcp("10.5.0.1", "10.5.0.2", 33000, 22, 100)[:60]
    raw = sflow_record(1, struct.pack("!IIII", 1, 160 + 4, 4, len(header)) + header)
    gateway = sflow_record(1003, struct.pack("!I4sIII", 1, ip4("10.5.0.254"), 65000, 65010, 65020)
                           + struct.pack("!IIIII", 1, 2, 2, 65100, 65200) + struct.pack("!II", 0, 100))
    switch = sflow_record(1001, struct.pack("!IIII", 12, 0, 12, 0))
    flow = struct.pack("!IIIIIIII", 1, 3, 512, 5000, 0, 7, 8, 3) + raw + gateway + switch
    sampled_v6 = sflow_record(4, struct.pack("!II", 1280, 17) + ip6("2001:db8::5") + ip6("2001:db8::6")
                              + struct.pack("!IIII", 5000, 53, 0, 0))
    expanded = struct.pack("!IIIIIIIIIII", 2, 0, 9, 2048, 9000, 0, 0, 11, 0, 12, 1) + sampled_v6
    generic = struct.pack("!IIQIIQIIIIIIQIIIIII", 7, 6, 10**9, 1, 3, 123456, 10, 1, 2, 0, 0, 0, 654321,
                          20, 3, 4, 0, 1, 2)
    counters = struct.pack("!III", 1, 7, 1) + sflow_record(1, generic)
    samples = [(1, flow), (3, expanded), (2, counters)]
    body = b"".join(struct.pack("!II", fmt, len(s)) + s for fmt, s in samples)
    dgram = struct.pack("!II4sIIII", 5, 1, ip4("192.0.2.50"), 4, 77, 123456, len(samples)) + body
    stats = imp.run([(EXPORTER, dgram)], ts_us=T0 * 1_000_000 + 5)
    assert stats["flow_records"] == 2 and stats["invalid"] == {}
    a, b = imp.flows()
    assert (a["source"], a["exp"], a["observation_domain"]) == ("sflow", "192.0.2.50", 4)
    assert (a["src"], a["dst"], a["src_port"], a["dst_port"], a["ip_proto"]) == ("10.5.0.1", "10.5.0.2",
                                                                               33000, 22, 6)
    assert (a["packets"], a["bytes"], a["sampling_rate"], a["packets_scaled"], a["bytes_scaled"]) == (
        1, 140, 512, 512, 140 * 512)
    assert (a["in_if"], a["out_if"], a["vlan"], a["tcp_flags"]) == (7, 8, 12, 0x12)
    assert (a["nh"], a["src_as"], a["dst_as"]) == ("10.5.0.254", 65010, 65200)
    assert a["f_us"] == a["l_us"] == T0 * 1_000_000 + 5
    assert (b["ip_version"], b["src"], b["dst"], b["bytes"], b["sampling_rate"]) == (
        6, "2001:db8::5", "2001:db8::6", 1280, 2048)
    assert (b["in_if"], b["out_if"], b["src_port"], b["dst_port"]) == (11, 12, 5000, 53)
    (c,) = imp.rows("SELECT * FROM sflow_counters")
    c["agent"] = int_to_ip(int(c["agent_ip"]))
    assert (c["agent"], c["sub_agent_id"], c["record_pos"], c["if_index"], c["if_speed"]) == (
        "192.0.2.50", 4, 1, 7, 10**9)
    assert (c["in_octets"], c["out_octets"], c["in_ucast_pkts"], c["out_errors"], c["promiscuous"]) == (
        123456, 654321, 10, 1, 2)


def test_pending_data_sets_spill_to_the_case_and_still_decode(imp, monkeypatch):
    monkeypatch.setattr(fe, "PENDING_SPILL", 3)
    tpl = flowset(2, ipfix_template(256, [(8, 4), (12, 4), (2, 4), (1, 4)]))
    data = [ipfix([flowset(256, ip4(f"10.0.0.{i}") + ip4("10.0.1.1") + struct.pack("!II", i, 100 * i))])
            for i in range(1, 8)]
    stats = imp.run([(EXPORTER, d) for d in data] + [(EXPORTER, ipfix([tpl]))])
    assert stats["flow_records"] == 7 and stats["pending_data_sets"] == 0
    rows = [(f["record_pos"], f["src"], f["packets"], f["capture_id"]) for f in imp.flows()]
    assert sorted(rows) == [(i, f"10.0.0.{i}", i, 1) for i in range(1, 8)]
    assert imp.rows("SELECT count(*) AS n FROM flow_pending_sets") == [{"n": 0}]


def test_summary_lists_exporters_waiting_for_templates(imp):
    tpl = flowset(2, ipfix_template(256, [(8, 4), (12, 4), (2, 4), (1, 4)]))
    rec = flowset(256, ip4("10.0.0.1") + ip4("10.0.0.2") + struct.pack("!II", 1, 60))
    imp.run([(EXPORTER, ipfix([rec])), (EXPORTER, v9([flowset(0, v9_template(300, V9_FIELDS))]))])
    summary = flow_source_summary(imp.case.con)
    assert [(s["source"], s["exporter"], s["records"], s["templates"], s["pending_data_sets"]) for s in summary] == [
        ("ipfix", "192.0.2.1", 0, 0, 1), ("netflow_v9", "192.0.2.1", 0, 1, 0)]
    imp.run([(EXPORTER, ipfix([tpl]))])
    summary = flow_source_summary(imp.case.con)
    assert [(s["source"], s["records"], s["templates"], s["pending_data_sets"]) for s in summary] == [
        ("ipfix", 1, 1, 0), ("netflow_v9", 0, 1, 0)]
