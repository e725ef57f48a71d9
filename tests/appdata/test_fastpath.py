"""The compiled DNS/NTP fast path (forensics.appdata.fastpath) against the Python parsers (dns.parse, ntp.parse,
which test_tshark_fields checks against tshark): every UDP payload of corpus captures with DNS, mDNS, LLMNR and
NTP, and fuzzed copies of them. A payload the fast path reads (OK) must give the Python parser's row, column
for column; one it leaves (SLOW) is the parser's to decide; one it skips must be one the parser would not read."""

from __future__ import annotations

import random

import dpkt
import numpy as np
import pytest

from forensics.appdata import dns, fastpath, ntp
from forensics.appdata.wire import Malformed
from tests.conftest import CORPUS

FILES = ["zeek/dns53.pcap", "tcpdump/dnssec.pcap", "gopacket/test_dns.pcap", "zeek/dns-edns-ecs.pcap",
         "nDPI/dns_exfiltration.pcap", "zeek/ntp__ntp.pcap", "zeek/ntp__NTP_sync.pcap", "zeek/ntp__ntpmode67.pcap",
         "tcpdump/ntp-control.pcap", "nDPI/NTPv2.pcap", "ipfixprobe/ntp.pcap"]
DNS_PORTS, NTP_PORT = {53, 5353, 5355}, 123


def _udp_payloads() -> list[tuple[int, int, bytes]]:
    """(source port, destination port, payload) of every UDP datagram over Ethernet IPv4/IPv6 in FILES."""
    out = []
    for rel in FILES:
        path = CORPUS / "files" / rel
        assert path.exists(), f"{rel} not in the corpus (../shared/corpus beside the checkout)"
        with open(path, "rb") as f:
            for _ts, raw in dpkt.pcap.Reader(f):
                ip = dpkt.ethernet.Ethernet(raw).data
                if isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6) and isinstance(ip.data, dpkt.udp.UDP):
                    out.append((ip.data.sport, ip.data.dport, bytes(ip.data.data)))
    return out


def _fuzzed(payloads: list[bytes], seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    out = []
    for p in payloads:
        for _ in range(4):
            q = bytearray(p)
            if q and rnd.random() < 0.5:
                q[rnd.randrange(len(q))] = rnd.randrange(256)
            else:
                q = q[:rnd.randrange(len(q) + 1)]
            out.append(bytes(q))
    return out


def _spans(payloads: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    buf = np.frombuffer(b"".join(payloads) + b"\0", np.uint8)  # one spare byte: an empty payload at the end
    ends = np.cumsum([len(p) for p in payloads], dtype=np.int64)
    return buf, ends - np.array([len(p) for p in payloads], np.int64), ends


def _python(parse, data: bytes) -> dict | None:
    try:
        return parse(data)
    except Malformed:
        return None


def _dns_row(row: dict) -> dict:
    answers = [{k: a[k] for k in ("name", "type", "ttl", "data")}
               | {"address": None if a["address_hi"] is None else a["address_hi"] << 64 | a["address_lo"]}
               for a in row.pop("answers")]
    return row | {"answers": answers}


def _check_dns(payloads: list[bytes], plausible: bool) -> int:
    buf, lo, hi = _spans(payloads)
    status, columns = fastpath.dns_rows(buf, lo, hi, np.full(len(payloads), plausible))
    fast = iter([_dns_row(r) for r in _table(columns)])
    read = 0
    for data, st in zip(payloads, status.tolist(), strict=True):
        if st == fastpath.SKIP:
            assert not data or (plausible and not dns.plausible(data)), data
            continue
        if st == fastpath.OK:
            read += 1
            expected = dns.parse(data)
            assert next(fast) == {k: expected[k] for k in expected}, data
    assert next(fast, None) is None
    return read


def _table(columns: dict) -> list[dict]:
    import pyarrow as pa
    return pa.table(columns).to_pylist()


@pytest.fixture(scope="module")
def payloads() -> list[tuple[int, int, bytes]]:
    return _udp_payloads()


def test_dns_fast_rows_equal_the_parser(payloads):
    on_port = [p for s, d, p in payloads if s in DNS_PORTS or d in DNS_PORTS]
    assert len(on_port) > 100
    read = _check_dns(on_port, plausible=False)
    assert read > len(on_port) // 2  # most real DNS is regular
    others = [p for s, d, p in payloads if not ({s, d} & (DNS_PORTS | {NTP_PORT, 67, 68}))]
    _check_dns(others + on_port, plausible=True)


def test_dns_fuzzed_never_differs(payloads):
    on_port = [p for s, d, p in payloads if s in DNS_PORTS or d in DNS_PORTS]
    fuzzed = _fuzzed(on_port, 15)
    _check_dns(fuzzed, plausible=False)
    _check_dns(fuzzed, plausible=True)
    for data, st in zip(fuzzed, fastpath.dns_rows(*_spans(fuzzed), np.zeros(len(fuzzed), bool))[0].tolist(),
                        strict=True):
        if _python(dns.parse, data) is None:
            assert st != fastpath.OK, data  # malformed is the Python parser's verdict, never the fast path's


def test_ntp_fast_rows_equal_the_parser(payloads):
    on_port = [p for s, d, p in payloads if NTP_PORT in (s, d)]
    assert len(on_port) > 20
    for batch in (on_port, _fuzzed(on_port, 123)):
        buf, lo, hi = _spans(batch)
        status, columns = fastpath.ntp_rows(buf, lo, hi)
        fast = iter(_table(columns))
        for data, st in zip(batch, status.tolist(), strict=True):
            expected = _python(ntp.parse, data)
            if st == fastpath.OK:
                assert next(fast) == expected, data
            elif st == fastpath.SKIP:
                assert not data
        assert next(fast, None) is None
    assert (fastpath.ntp_rows(*_spans(on_port))[0] == fastpath.OK).sum() > len(on_port) // 2
