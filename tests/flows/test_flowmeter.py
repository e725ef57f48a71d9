"""The streaming flow meter (forensics/ingest/flowmeter.py) builds exactly the flows of the reference SQL
(queries/derive/flows_from_packets.sql): on every corpus capture, on generated captures of every link
type, tag stack, extension chain, fragment and cut, and on a capture of long flows crossing the idle and
active timeouts with FIN/RST reuse of one 5-tuple. Its open-flow table stays bounded by the flows open
within the idle timeout, and batch boundaries do not matter."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from forensics.ingest import import_paths
from forensics.ingest.flowmeter import FLOW_COLUMNS, FlowMeter, _run
from forensics.readers.capture import CaptureReader
from forensics.readers.sniff import sniff
from forensics.records import PacketBatch, empty_batch
from forensics.resources import read_sql
from forensics.store import Case
from tests import builders as b
from tests.conftest import corpus_path, corpus_rows, corpus_sample

# The reference SQL (queries/derive/flows_from_packets.sql) is run over the case's flows table as scratch (DELETE,
# then INSERT): a table only in a single-file case (a lake's flows is a view over immutable parts). What is compared
# is the meter with the SQL, not the layout: these tests pin the single file.
pytestmark = pytest.mark.single_file

DEFAULT = (15_000_000, 1_800_000_000)  # ImportOptions' idle / active timeouts, in microseconds
SMALL = (1_000_000, 3_000_000)  # idle < active: windows follow one another
WIDE_IDLE = (5_000_000, 2_000_000)  # idle > active: a segment may skip windows

_MASK = 0xFFFFFFFFFFFFFFFF
SQL_ROWS = f"""
SELECT flow_id, record_pos, epoch_us(first_ts), epoch_us(last_ts), iface, coalesce(vlan, -1), ip_version,
    (src_ip >> 64)::UBIGINT, (src_ip & {_MASK}::UHUGEINT)::UBIGINT,
    (dst_ip >> 64)::UBIGINT, (dst_ip & {_MASK}::UHUGEINT)::UBIGINT,
    coalesce(ip_proto, -1), src_port, dst_port, coalesce(icmp_type, -1), coalesce(icmp_code, -1),
    coalesce(tcp_flags, -1), packets, bytes, frame_bytes
FROM flows WHERE capture_id = $c AND source = 'pcap'
"""


# -- helpers -------------------------------------------------------------------------------------------
def read_batches(path: str) -> list[PacketBatch]:
    size = os.path.getsize(path)
    reader = CaptureReader(path, sniff(path, size), size)
    return [chunk.batch for chunk in reader.chunks()]


def rows_of(cols: list[dict]) -> list[tuple]:
    rows: list[tuple] = []
    for c in cols:
        rows += zip(*(c[name].tolist() for name in FLOW_COLUMNS), strict=True)
    return sorted(rows)


def meter_rows(batches: list[PacketBatch], capture_id: int, idle_us: int, active_us: int,
               step: int | None = None) -> tuple[list[tuple], FlowMeter]:
    meter = FlowMeter(capture_id, idle_us, active_us)
    got = []
    for batch in batches:
        n = len(batch["frame"])
        for s in range(0, n, step or max(n, 1)):
            flows = meter.feed({k: v[s:s + (step or n)] for k, v in batch.items()})
            if flows is not None:
                got.append(flows)
    flows = meter.finish()
    if flows is not None:
        got.append(flows)
    rows = rows_of(got)
    assert meter.flows == len(rows)
    return rows, meter


def sql_rows(case: Case, capture_id: int, idle_us: int, active_us: int) -> list[tuple]:
    case.con.execute("DELETE FROM flows WHERE capture_id = $c AND source = 'pcap'", {"c": capture_id})
    case.con.execute(read_sql("derive/flows_from_packets.sql"),
                     {"capture_id": capture_id, "idle_us": idle_us, "active_us": active_us}).fetchall()
    return sorted(case.con.execute(SQL_ROWS, {"c": capture_id}).fetchall())


def ts_decreases(batches: list[PacketBatch]) -> bool:
    if not batches:
        return False
    ts = np.concatenate([batch["ts_us"] for batch in batches])
    return bool((np.diff(ts) < 0).any())


def import_capture(case: Case, path: str) -> int | None:
    """capture_id of the file in the case (imported now or before), None when it has no packets."""
    result = import_paths(case, [path]).files[0]
    if result.status == "rejected" or result.capture_id is None:
        return None
    packets = case.con.execute("SELECT count(*) FROM packets WHERE capture_id = $c",
                               {"c": result.capture_id}).fetchone()[0]
    return result.capture_id if packets else None


def check_capture(case: Case, path: str, params: tuple[tuple[int, int], ...]) -> str:
    """Compare the meter with the SQL on one capture file: 'compared', 'out of order' or 'no packets'."""
    cid = import_capture(case, path)
    if cid is None:
        return "no packets"
    batches = read_batches(path)
    for idle_us, active_us in params:
        got, meter = meter_rows(batches, cid, idle_us, active_us)
        if meter.out_of_order:
            assert ts_decreases(batches), path
            return "out of order"
        assert not ts_decreases(batches), path
        want = sql_rows(case, cid, idle_us, active_us)
        assert len(got) == len(want), (path, idle_us, active_us)
        assert got == want, (path, idle_us, active_us, next((g, w) for g, w in zip(got, want, strict=True) if g != w))
    return "compared"


@pytest.fixture(scope="module")
def shared_case(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("FORENSICS_LAYOUT", "file")  # module-scoped: made before the single_file marker's fixture runs
    try:
        c = Case.open(tmp_path_factory.mktemp("flowmeter") / "case.duckdb")
    finally:
        mp.undo()
    yield c
    c.close()


# -- the corpus ----------------------------------------------------------------------------------------
CAPTURES = [r for r in corpus_rows() if r["format"].startswith("pcap")]  # pcap and pcapng, any extension


def test_corpus_has_captures():
    assert len(CAPTURES) >= 150


# corpus_sample: every format, link type and category (FORENSICS_FULL_CORPUS=1: all 155, bench/README.md)
@pytest.mark.parametrize("row", corpus_sample(CAPTURES), ids=lambda r: r["path"])
def test_corpus_meter_equals_sql(shared_case, row):
    status = check_capture(shared_case, str(corpus_path(row)), (DEFAULT, SMALL))
    if status == "no packets":
        assert row["packets_capinfos"] in ("0", "", "ERR"), row["path"]


# -- generated captures --------------------------------------------------------------------------------
def _ip_variants() -> list[tuple[int, bytes]]:
    """(ethertype, IP packet) of many shapes; a few share a flow key on purpose."""
    out: list[tuple[int, bytes]] = []
    for flags in (b.SYN, b.ACK | b.PSH, b.FIN | b.ACK, b.RST, b.ACK | b.NS, b.ECE | b.CWR | b.URG):
        seg = b.tcp(1234, 445, flags, b"data")
        out.append((0x0800, b.ipv4("10.0.0.1", "192.168.1.2", 6, seg, options=b"\x01\x01\x01\x00")))
        out.append((0x86DD, b.ipv6("2001:db8::1", "fd00::2", 6, seg,
                                   ext=[(0, b"\x00" * 6), (43, b"\x00" * 6), (60, b"\x00" * 6)])))
        out.append((0x86DD, b.ipv6("2001:db8::1", "fd00::2", 6, seg, ext=[b.ext_ah()])))
    udp = b.udp(5353, 53, b"\x00" * 12)
    out += [
        (0x0800, b.ipv4("10.0.0.1", "192.168.1.2", 17, udp)),
        # port 0 and a non-first fragment (no ports: counted as 0) of the same hosts share a key
        (0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(0, 0, b"zero"))),
        (0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b"\x00" * 16, frag_offset=1480, mf=True)),
        (0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b"\x00" * 16, frag_offset=2960)),
        (0x86DD, b.ipv6("2001:db8::1", "fd00::2", 17, udp, ext=[b.ext_frag(0, True, 77)])),
        (0x86DD, b.ipv6("2001:db8::1", "fd00::2", 17, b"\x01" * 24, ext=[b.ext_frag(16, False, 77)])),
        (0x86DD, b.ipv6("2001:db8::1", "fd00::2", 50, b"\x00" * 24)),  # ESP
        (0x86DD, b.ipv6("2001:db8::1", "fd00::2", 59, b"")),  # no next header
        (0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 1, b.icmp(8, 0, b"ping"))),
        (0x0800, b.ipv4("10.0.0.2", "10.0.0.1", 1, b.icmp(0, 0, b"ping"))),
        (0x0800, b.ipv4("10.0.0.2", "10.0.0.1", 1, b.icmp(3, 3, b"\x00" * 28))),
        (0x86DD, b.ipv6("fe80::1", "ff02::1", 58, b.icmp6(135, 0, b"\x00" * 20))),
        (0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 132, b.sctp(2905, 2905, b.sctp_chunk(1, b"\x00" * 16)))),
        (0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 136, b.udp(7, 9, b"lite", lite=True))),
        (0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 47, b.gre(0x0800, b.ipv4("1.1.1.1", "2.2.2.2", 17, udp)))),
        (0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 6, b"", ihl=4)),  # malformed IHL
    ]
    return out


def _framed(et: int, ip: bytes) -> list[tuple[int, bytes]]:
    """(linktype, frame) for one IP packet under every link layer and tag stack the decoder knows."""
    v4 = et == 0x0800
    return [
        (1, b.eth(et, ip)),
        (1, b.eth(et, ip, tags=[(b.TPID_8021Q, 0)])),  # VLAN 0: same key as untagged
        (1, b.eth(et, ip, tags=[(b.TPID_8021Q, 7)])),
        (1, b.eth(et, ip, tags=[(b.TPID_8021AD, 100), (b.TPID_8021Q, 200)])),
        (1, b.eth(et, ip, tags=[(b.TPID_9100, 5)])),
        (1, b.eth(b.ETH_MPLS, b.mpls([16, 17], ip))),
        (1, b.eth(b.ETH_MPLS, b.mpls([18, 19, 20], ip), tags=[(b.TPID_8021Q, 9)])),
        (1, b.eth(b.ETH_PPPOE_SESSION, b.pppoe(ip, v6=not v4))),
        (113, b.sll(et, ip)),
        (276, b.sll2(et, ip)),
        (101, ip),
        (228 if v4 else 229, ip),
        (0, b.null_loop(2 if v4 else 30, ip)),
        (108, b.null_loop(2 if v4 else 24, ip, big_endian=True)),
    ]


def _records_by_linktype(rng: random.Random) -> dict[int, list[tuple[bytes, int]]]:
    """(data, wirelen) per link type: whole frames, snap-length cuts, damaged cuts, mutated bytes."""
    by_lt: dict[int, list[tuple[bytes, int]]] = {}
    for et, ip in _ip_variants():
        for lt, frame in _framed(et, ip):
            recs = by_lt.setdefault(lt, [])
            recs += [(frame, len(frame))] * 4
            for cut in rng.sample(range(len(frame)), min(len(frame), 6)):
                recs.append((frame[:cut], len(frame)))  # cut by the snap length
                recs.append((frame[:cut], cut))  # damaged
            for _ in range(2):
                m = bytearray(frame)
                for _ in range(2):
                    m[rng.randrange(len(m))] = rng.randrange(256)
                recs.append((bytes(m), len(m)))
    by_lt[1] += [(b.eth(b.ETH_ARP, b"\x00" * 28), 42), (b.eth(0x88CC, b"\x00" * 40), 54)]
    return by_lt


def _schedule(rng: random.Random, n: int, idle_us: int) -> list[int]:
    """n increasing microsecond times with gaps around the idle timeout (and some equal times)."""
    gaps = [0, 0, 1, 7, 1000, 50_000, 200_000, idle_us // 3, idle_us - 1, idle_us, idle_us + 1]
    t = 1_700_000_000_000_000
    out = []
    for _ in range(n):
        t += rng.choice(gaps) if rng.random() < 0.9 else rng.randrange(4 * idle_us)
        out.append(t)
    return out


def generated_captures(tmp: str) -> list[str]:
    """Write the generated captures into folder tmp; their paths."""
    rng = random.Random(11)
    paths = []
    by_lt = _records_by_linktype(rng)
    for lt, recs in sorted(by_lt.items()):
        pool = rng.sample(recs, min(len(recs), 120))
        times = _schedule(rng, 1500, SMALL[0])
        records = []
        for t in times:
            data, wirelen = rng.choice(pool)
            records.append((t * 1000, data, wirelen))
        path = os.path.join(tmp, f"gen-lt{lt}.pcap")
        with open(path, "wb") as f:
            f.write(b.pcap_file(records, linktype=lt, nano=lt % 2 == 0))
        paths.append(path)
    # pcapng: interfaces of several link types in one section (iface is part of the key), simple packet
    # blocks (no time: the previous packet's), a second section in the other byte order
    lts = [1, 113, 101, 1]
    blocks: list = [b.Interface(linktype=lt, snaplen=65535) for lt in lts]
    times = _schedule(rng, 1200, SMALL[0])
    for t in times:
        iface = rng.randrange(len(lts))
        data, wirelen = rng.choice(by_lt[lts[iface]][:80])
        if iface == 0 and rng.random() < 0.1:
            blocks.append(b.Packet(data, kind="spb", wirelen=len(data)))
        else:
            blocks.append(b.Packet(data, ts=t * 1000, iface=iface, wirelen=wirelen))
    second = [b.Interface(linktype=1, tsresol=9)]
    for t in _schedule(rng, 300, SMALL[0]):
        data, wirelen = rng.choice(by_lt[1][:80])
        second.append(b.Packet(data, ts=(t + 10_000_000_000) * 1000, wirelen=wirelen))
    path = os.path.join(tmp, "gen-multi.pcapng")
    with open(path, "wb") as f:
        f.write(b.pcapng_file([b.Section(blocks), b.Section(second, big_endian=True)]))
    paths.append(path)
    return paths


def _tcp(src: str, dst: str, sport: int, dport: int, flags: int, payload: bytes = b"",
         vlan: int | None = None) -> bytes:
    tags = [(b.TPID_8021Q, vlan)] if vlan is not None else []
    return b.pad60(b.eth(0x0800, b.ipv4(src, dst, 6, b.tcp(sport, dport, flags, payload)), tags=tags))


def _udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"x") -> bytes:
    return b.pad60(b.eth(0x0800, b.ipv4(src, dst, 17, b.udp(sport, dport, payload))))


def long_flows_capture(path: str) -> None:
    """Long flows across the idle (1 s) and active (3 s) timeouts, FIN/RST reuse of one 5-tuple, gaps of
    exactly the idle timeout, and a burst of thousands of concurrent keys (the table grows and sweeps)."""
    pk: list[tuple[int, bytes]] = []  # (microseconds from the start, frame)
    a = ("10.0.0.1", "10.0.0.2", 1000, 80)
    for k in range(40):  # every 0.4 s for 16 s: windows at 3, 6, 9 ... s of one segment
        pk.append((k * 400_000, _tcp(*a, b.ACK, b"a" * (k % 7))))
    bkey = ("10.0.0.3", "10.0.0.4", 2000, 80)
    t = 0
    for gap in (0, 1_000_000, 1_000_000, 1_000_001, 999_999, 1_000_000, 2_500_000, 1_000_000):
        t += gap  # a gap equal to the idle timeout continues the segment, one microsecond more ends it
        pk.append((t, _tcp(*bkey, b.ACK)))
    c = ("10.0.0.5", "10.0.0.6", 3000, 443)
    t = 100_000
    for flags, gap in ((b.SYN, 0), (b.ACK, 10), (b.FIN | b.ACK, 10), (b.SYN, 100_000), (b.ACK, 5), (b.RST, 0),
                       (b.SYN, 0), (b.ACK, 900_000), (b.ACK, 900_000), (b.ACK | b.PSH, 900_000), (b.FIN, 350_000),
                       (b.FIN, 0), (b.RST | b.ACK, 0), (b.ACK, 1)):
        t += gap  # the packet right after a FIN/RST (even at the same time) starts a new flow
        pk.append((t, _tcp(*c, flags)))
    d = ("10.0.0.7", "10.0.0.8", 53, 5353)
    t = 50_000
    for k in range(60):  # gaps of 0.9 s: one 54 s segment cut every 3 s, then a new segment
        t += 900_000 if k != 30 else 1_500_000
        pk.append((t, _udp(*d)))
    for k in range(6):  # the same 5-tuple on VLAN 0 and untagged is one key; VLAN 5 another
        pk.append((200_000 + k * 300_000, _tcp(*a, b.ACK, vlan=0 if k % 2 else None)))
        pk.append((200_000 + k * 300_000, _tcp(*a, b.ACK, vlan=5)))
    rng = random.Random(5)
    for k in range(3000):  # burst of concurrent keys, each seen again inside and after the idle timeout;
        src = f"10.{1 + k // 250}.{k % 250}.1"  # half of them TCP ending now and then (deletes in a full table)
        t0 = 20_000_000 + rng.randrange(500_000)
        for dt in (0, 800_000, 3_000_000, rng.randrange(1, 6_000_000), rng.randrange(1, 6_000_000)):
            if k % 2:
                pk.append((t0 + dt, _udp(src, "192.0.2.1", 1024 + k, 53, b"q")))
            else:
                flags = rng.choice((b.ACK, b.ACK, b.FIN | b.ACK, b.RST))
                pk.append((t0 + dt, _tcp(src, "192.0.2.1", 1024 + k, 80, flags)))
    pk.sort(key=lambda p: p[0])  # stable: equal times keep their order
    base = 1_700_000_000_000_000
    with open(path, "wb") as f:
        f.write(b.pcap_file([((base + us) * 1000, frame) for us, frame in pk]))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("generated"))
    paths = generated_captures(tmp)
    long_path = os.path.join(tmp, "long-flows.pcap")
    long_flows_capture(long_path)
    return paths, long_path


def test_generated_captures_meter_equals_sql(shared_case, generated):
    paths, _ = generated
    assert len(paths) >= 9
    for path in paths:
        assert check_capture(shared_case, path, (DEFAULT, SMALL, WIDE_IDLE)) == "compared", path


def test_long_flows_meter_equals_sql(shared_case, generated):
    _, path = generated
    assert check_capture(shared_case, path, (SMALL, WIDE_IDLE, DEFAULT, (1, 1))) == "compared"
    cid = import_capture(shared_case, path)
    rows, meter = meter_rows(read_batches(path), cid, *SMALL)
    assert meter.peak_capacity > FlowMeter.MIN_CAPACITY  # the burst made the table grow
    c_flows = [r for r in rows if r[12:14] == (3000, 443)]
    # SYN ACK FIN+ACK | SYN ACK RST | SYN ACK ACK ACK+PSH | FIN (3.05 s after the SYN: the next window) |
    # FIN | RST+ACK | ACK
    assert [r[17] for r in c_flows] == [3, 3, 4, 1, 1, 1, 1]


def test_out_of_order_capture_is_flagged(shared_case, tmp_path):
    frames = [(1.0, _udp("10.0.0.1", "10.0.0.2", 1, 2)), (3.0, _udp("10.0.0.1", "10.0.0.2", 1, 2)),
              (2.0, _udp("10.0.0.1", "10.0.0.2", 1, 2)), (4.0, _udp("10.0.0.3", "10.0.0.2", 1, 2))]
    path = tmp_path / "ooo.pcap"
    path.write_bytes(b.pcap_file(frames))
    assert check_capture(shared_case, str(path), (SMALL,)) == "out of order"
    rows, meter = meter_rows(read_batches(str(path)), 1, *SMALL)
    assert meter.out_of_order and sum(r[17] for r in rows) == 4  # kept going, every packet counted


def packets(rows: list[tuple[int, int, int]]) -> PacketBatch:
    """A batch of IPv4 TCP packets 10.0.0.1 -> 10.0.0.2:80 from (ts_us, src_port, tcp_flags) rows."""
    batch = empty_batch(len(rows))
    batch["frame"] = np.arange(1, len(rows) + 1, dtype=np.uint32)
    batch["ts_us"] = np.array([r[0] for r in rows], np.int64)
    batch["wirelen"][:] = 60
    batch["ip_version"][:] = 4
    batch["src_hi"][:] = batch["dst_hi"][:] = 0xFFFF
    batch["src_lo"][:] = 0x0A000001
    batch["dst_lo"][:] = 0x0A000002
    batch["ip_proto"][:] = 6
    batch["ip_len"][:] = 40
    batch["src_port"] = np.array([r[1] for r in rows], np.int32)
    batch["dst_port"][:] = 80
    batch["tcp_flags"] = np.array([r[2] for r in rows], np.int32)
    return batch


def test_sweep_keeps_a_flow_idle_exactly_the_timeout():
    idle = 1000
    meter = FlowMeter(0, idle, 10**9)
    whole = packets([(-5, 9, b.ACK), (0, 1, b.ACK), (idle, 2, b.ACK),
                     (idle, 1, b.ACK), (2 * idle + 1, 1, b.ACK), (3 * idle, 3, 0)])
    # the first feed ends at the newest time `idle`: port 9's flow (last packet at -5) is swept out, port
    # 1's (last packet at 0) must stay open, its next packet comes exactly `idle` later
    got = [meter.feed({k: v[:3] for k, v in whole.items()}), meter.feed({k: v[3:] for k, v in whole.items()}),
           meter.finish()]
    assert got[0] is not None and got[0]["src_port"].tolist() == [9]
    rows = rows_of([g for g in got if g is not None])
    assert [(r[0] - 2**31, r[1], r[12], r[17]) for r in rows] == [
        (1, 1, 9, 1), (2, 2, 1, 2), (3, 3, 2, 1), (4, 5, 1, 1), (5, 6, 3, 1)]
    assert not meter.out_of_order


# -- batch boundaries and memory -----------------------------------------------------------------------
def test_tiny_batches_give_the_same_flows(generated):
    _, path = generated
    batches = read_batches(path)
    one = {k: np.concatenate([batch[k] for batch in batches]) for k in batches[0]}
    for params in (SMALL, WIDE_IDLE):
        whole, _ = meter_rows([one], 9, *params)
        tiny, meter = meter_rows(batches, 9, *params, step=7)
        assert not meter.out_of_order
        assert tiny == whole
    corpus = str(corpus_path(next(r for r in corpus_rows() if r["path"].endswith("nDPI/1kxun.pcap"))))
    batches = read_batches(corpus)
    assert meter_rows(batches, 2, *DEFAULT, step=7)[0] == meter_rows(batches, 2, *DEFAULT)[0]
    assert len(_run.signatures) == 1  # one compiled kernel whatever the batch: no recompiling per call


def synthetic_stream(packets: int, flows_per_s: int, span_us: int, per_flow: int) -> PacketBatch:
    """Short UDP flows, flows_per_s of them starting per second, per_flow packets each spread over span_us."""
    nflows = packets // per_flow
    f = np.repeat(np.arange(nflows, dtype=np.int64), per_flow)
    k = np.tile(np.arange(per_flow, dtype=np.int64), nflows)
    t = 1_700_000_000_000_000 + f * (1_000_000 // flows_per_s) + k * (span_us // max(per_flow - 1, 1))
    order = np.argsort(t, kind="stable")
    f, t = f[order], t[order]
    batch = empty_batch(len(t))
    batch["frame"] = np.arange(1, len(t) + 1, dtype=np.uint32)
    batch["ts_us"] = t
    batch["iface"][:] = 0
    batch["wirelen"][:] = 100
    batch["caplen"][:] = 100
    batch["ip_version"][:] = 4
    batch["src_hi"][:] = 0xFFFF
    batch["src_lo"][:] = (0x0A000000 + f // 60000).astype(np.uint64)
    batch["dst_hi"][:] = 0xFFFF
    batch["dst_lo"][:] = 0xC0000201
    batch["ip_proto"][:] = 17
    batch["ip_len"][:] = 86
    batch["src_port"][:] = (f % 60000).astype(np.int32)
    batch["dst_port"][:] = 53
    return batch


def test_open_flow_table_stays_bounded():
    per_flow, rate, span, idle = 4, 2000, 1_500_000, 2_000_000
    stream = synthetic_stream(1_000_000, rate, span, per_flow)
    n = len(stream["frame"])
    meter = FlowMeter(1, idle, 1_800_000_000)
    flows = packets = 0
    peak_open = 0
    for s in range(0, n, 50_000):
        out = meter.feed({k: v[s:s + 50_000] for k, v in stream.items()})
        if out is not None:
            flows += len(out["flow_id"])
            packets += int(out["packets"].sum())
        peak_open = max(peak_open, meter.open_flows)
    out = meter.finish()
    flows += len(out["flow_id"])
    packets += int(out["packets"].sum())
    total = n // per_flow
    assert flows == total == meter.flows and packets == n
    # flows open within the idle timeout: those started in the last (span + idle) of stream time
    open_within_idle = rate * (span + idle) // 1_000_000
    assert peak_open <= 2 * open_within_idle
    assert meter.peak_capacity <= max(FlowMeter.MIN_CAPACITY, 4 * open_within_idle)
    assert meter.peak_capacity * 10 < total
