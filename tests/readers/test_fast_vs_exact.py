"""The compiled fast path and the exact decoder give identical rows for every packet of the corpus,
and for generated packets of every link type, tag stack, extension chain, fragment and cut."""

from __future__ import annotations

import gzip
import os
import random
import struct

import numpy as np
import pytest

from forensics.readers.capture import CaptureReader
from forensics.readers.exact import decode_packet
from forensics.readers.fastdecode import layer_offsets
from forensics.readers.sniff import sniff
from forensics.records import DECODED_FIELDS
from tests import builders as b
from tests.conftest import corpus_path, corpus_rows


def _record_data(raw: bytes, fmt: str, offset: int, caplen: int) -> bytes:
    if fmt.startswith("pcap-"):
        return raw[offset + 16:offset + 16 + caplen]
    le_type = struct.unpack_from("<I", raw, offset)[0]
    be_type = struct.unpack_from(">I", raw, offset)[0]
    btype = le_type if le_type in (2, 3, 6) else be_type
    start = offset + (12 if btype == 3 else 28)
    return raw[start:start + caplen]


def compare_file(path: str) -> int:
    size = os.path.getsize(path)
    sniffed = sniff(path, size)
    with open(path, "rb") as f:
        raw = f.read()
    if sniffed.compressed:
        raw = gzip.decompress(raw)
    reader = CaptureReader(path, sniffed, size)
    n = 0
    for chunk in reader.chunks():
        batch = chunk.batch
        datas = [_record_data(raw, sniffed.format, int(batch["file_offset"][i]), int(batch["caplen"][i]))
                 for i in range(len(batch["frame"]))]
        buf = np.frombuffer(b"".join(datas) or b"\0", np.uint8)
        starts = np.cumsum([0] + [len(d) for d in datas[:-1]]).astype(np.int64)
        net, transport = layer_offsets(buf, starts, batch["caplen"].astype(np.int64),
                                       batch["wirelen"].astype(np.int64), batch["linktype"].astype(np.int64))
        for i in range(len(batch["frame"])):
            data = datas[i]
            exact = decode_packet(int(batch["linktype"][i]), data, int(batch["wirelen"][i]), layers=True)
            fast = {name: batch[name][i].item() for name in DECODED_FIELDS}
            fast["net_offset"], fast["transport_offset"] = int(net[i]), int(transport[i])
            want = {name: exact[name] for name in [*DECODED_FIELDS, "net_offset", "transport_offset"]}
            assert fast == want, (path, int(batch["frame"][i]),
                                  {k: (fast[k], want[k]) for k in want if fast[k] != want[k]})
            n += 1
    assert reader.rejected is None, reader.rejected
    return n


CAPTURES = [r for r in corpus_rows() if r["format"].startswith(("pcap", "pcapng")) and r["packets_capinfos"] != "0"]


@pytest.mark.parametrize("row", CAPTURES, ids=lambda r: r["path"])
def test_corpus_fast_equals_exact(row):
    assert compare_file(str(corpus_path(row))) == int(row["packets_capinfos"])


def _variants() -> list[tuple[int, bytes]]:
    tcp = b.tcp(1234, 445, b.SYN | b.ACK | b.NS, b"hello")
    udp = b.udp(5353, 53, b"\x00" * 12)
    v4 = b.ipv4("10.0.0.1", "192.168.1.2", 6, tcp, options=b"\x01\x01\x01\x00")
    v4u = b.ipv4("10.0.0.1", "192.168.1.2", 17, udp)
    v6 = b.ipv6("2001:db8::1", "fd00::2", 6, tcp, ext=[(0, b"\x00" * 6), (43, b"\x00" * 6), (60, b"\x00" * 6)])
    v6frag = b.ipv6("2001:db8::1", "fd00::2", 17, udp, ext=[b.ext_frag(0, True, 77)])
    v6frag2 = b.ipv6("2001:db8::1", "fd00::2", 17, b"\x01" * 24, ext=[b.ext_frag(16, False, 77)])
    v6ah = b.ipv6("2001:db8::1", "fd00::2", 6, tcp, ext=[b.ext_ah()])
    icmp = b.ipv4("10.0.0.1", "10.0.0.2", 1, b.icmp(8, 0, b"ping"))
    icmp6 = b.ipv6("fe80::1", "ff02::1", 58, b.icmp6(135, 0, b"\x00" * 20))
    frag = b.ipv4("10.0.0.1", "10.0.0.2", 17, b"\x00" * 16, frag_offset=1480, mf=True)
    sctp = b.ipv4("10.0.0.1", "10.0.0.2", 132, b.sctp(2905, 2905, b.sctp_chunk(1, b"\x00" * 16)))
    gre = b.ipv4("10.0.0.1", "10.0.0.2", 47, b.gre(0x0800, v4u))
    out: list[tuple[int, bytes]] = []
    for ip, et in ((v4, 0x0800), (v4u, 0x0800), (v6, 0x86DD), (v6frag, 0x86DD), (v6frag2, 0x86DD),
                   (v6ah, 0x86DD), (icmp, 0x0800), (icmp6, 0x86DD), (frag, 0x0800), (sctp, 0x0800), (gre, 0x0800)):
        out += [
            (1, b.eth(et, ip)),
            (1, b.eth(et, ip, tags=[(0x8100, 7)])),
            (1, b.eth(et, ip, tags=[(0x88A8, 100), (0x8100, 200)])),
            (1, b.eth(et, ip, tags=[(0x9100, 5)])),
            (1, b.eth(0x8847, b.mpls([16, 17], ip))),
            (1, b.eth(0x8864, b.pppoe(ip, v6=et == 0x86DD))),
            (113, b.sll(et, ip)),
            (276, b.sll2(et, ip)),
            (101, ip),
            (228 if et == 0x0800 else 229, ip),
            (0, b.null_loop(2 if et == 0x0800 else 30, ip)),
            (0, b.null_loop(2 if et == 0x0800 else 30, ip, big_endian=True)),
            (239, b.nflog(ip, 2 if et == 0x0800 else 10)),
            (127, b.radiotap(b.dot11(b.snap(et, ip)), length=48)),
            (127, b.radiotap(b.dot11(b.snap(et, ip), to_ds=True, from_ds=True, htc=True))),
            (105, b.dot11(b.snap(et, ip), qos=False, to_ds=True, from_ds=False)),
            (192, b.ppi(b.dot11(b.snap(et, ip)), length=20)),
            (197, b.erf(2, b.eth(et, ip, tags=[(0x8100, 7)]), extensions=1)),
            (197, b.erf(1, (b"\xff\x03\x00\x21" if et == 0x0800 else b"\xff\x03\x00\x57") + ip)),
            (197, b.erf(19, b.chdlc(et, ip))),
            (197, b.erf(22 if et == 0x0800 else 23, ip, extensions=2)),
            (117, b.pflog(ip, 2 if et == 0x0800 else 24)),
            (104, b.chdlc(et, ip)),
            (104, b.chdlc(0x8847, b.mpls([16, 17], ip), address=0x8F)),
            (117, b.pflog(ip, 2 if et == 0x0800 else 30, length=45)),
            (239, b.nflog(ip, 2 if et == 0x0800 else 10, big_endian=True, after=((11, bytes(4)),))),
        ]
    out.append((1, b.eth(0x0806, b"\x00" * 28)))
    arp = (b"\x00\x01\x08\x00\x06\x04\x00\x02" + b.mac("00:11:22:33:44:55") + bytes([10, 0, 0, 1])
           + b.mac("66:77:88:99:aa:bb") + bytes([10, 0, 0, 2]))
    out += [(1, b.eth(0x0806, arp)), (1, b.eth(0x8035, arp)), (1, b.eth(0x0806, arp, tags=[(0x8100, 9)])),
            (113, b.sll(0x0806, arp)), (276, b.sll2(0x0806, arp)),
            (1, b.eth(0x0806, arp[:4] + b"\x08\x10" + arp[6:]))]  # other address lengths: opcode only
    for ip, et in ((v4, 0x0800), (v6, 0x86DD), (v4u, 0x0800)):
        snap = b"\xaa\xaa\x03\x00\x00\x00" + et.to_bytes(2, "big") + ip
        out += [(1, b.eth(len(snap), snap)), (1, b.eth(len(snap), snap, tags=[(0x8100, 3)]))]
        proto = b"\x00\x21" if et == 0x0800 else b"\x00\x57"
        out += [(9, b"\xff\x03" + proto + ip), (9, proto + ip), (9, proto[1:] + ip), (50, b"\xff\x03" + proto + ip),
                (9, b"\xff\x03\x02\x81" + b.mpls([16], ip))]
    out.append((9, b"\xff\x03\xc0\x21" + b"\x01" * 20))  # LCP: not decoded
    out.append((1, b.eth(0x0026, b"\x42\x42\x03" + b"\x00" * 40)))
    out.append((147, b"\x00" * 30))
    out += [(239, b.nflog(None)), (239, b.nflog(v4, 7)), (239, b.nflog(None, before=()) + b"\x02\x00\x09\x00" + v4)]
    out += [(105, b.dot11(bytes(40), protected=True)), (105, b.dot11(b.snap(0x0800, v4), amsdu=True)),
            (127, b.radiotap(b.dot11(bytes(40), kind=0, subtype=8, from_ds=False))), (105, b.dot11(b"", subtype=0xC)),
            (127, b"\x00\x00\x06\x00" + bytes(30)), (117, b.pflog(v4, 7)), (117, b.pflog(v4, length=40)),
            (104, b.chdlc(0x8035, bytes(20))), (104, b.chdlc(0x0806, arp)), (192, b.ppi(b.eth(0x0800, v4), dlt=1)),
            (197, b.erf(3, bytes(52))), (197, b.erf(1, b"\xff\x03\xc0\x21" + bytes(8))),
            (197, b.erf(1, b.chdlc(0x8035, bytes(8)))),
            (192, b"\x00\x00\x04\x00" + bytes(30))]
    return out


def test_generated_variants_and_cuts_agree(tmp_path):
    rng = random.Random(7)
    by_lt: dict[int, list] = {}
    for lt, frame in _variants():
        recs = by_lt.setdefault(lt, [])
        recs.append((1.0, frame))
        for cut in range(0, len(frame)):
            recs.append((1.0, frame[:cut], len(frame)))  # snap-length cut
            recs.append((1.0, frame[:cut]))  # damaged: cut with caplen == wirelen
        for _ in range(20):  # mutated bytes
            m = bytearray(frame)
            for _ in range(3):
                m[rng.randrange(len(m))] = rng.randrange(256)
            recs.append((1.0, bytes(m)))
    total = 0
    for lt, recs in by_lt.items():
        path = tmp_path / f"lt{lt}.pcap"
        path.write_bytes(b.pcap_file(recs, linktype=lt))
        total += compare_file(str(path))
    assert total > 10000
