"""A seeded mutator over small corpus files, and what must survive each mutation.

Mutations: bit flips, random bytes, truncation, a cut block, a repeated block, a huge length field
(0xffffffff, 0x7fffffff, 65535 ... written at an aligned offset in either byte order); gzip seeds are
mutated either in their compressed bytes or in their content, recompressed. For a truncation of an
uncompressed capture the expected packet count is the number of whole records before the cut (walked
here independently of the reader, by the file format's own length fields).
"""

from __future__ import annotations

import gzip
import random
import struct
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "files"

# A handful of small seeds: pcap (Ethernet, SLL2, QinQ, nanoseconds), pcapng (LE, BE, multi-interface,
# SPBs), NetFlow v5/v9, IPFIX and sFlow in pcap, gzip, bare export datagrams.
SEEDS = [
    "gopacket/test_dns.pcap",
    "tcpdump/802.1ad_QinQ.pcap",
    "tcpdump/tcp-handshake-nano.pcap",
    "suricata-verify/decode-sll2-01__input.pcap",
    "gopacket/le__test001.pcapng",
    "gopacket/be__test001.pcapng",
    "gopacket/le__test010.pcapng",
    "zeek/pcapng-multi-interface.pcapng",
    "graylog-netflow/netflow5.pcap",
    "akvorado/netflow__data+templates.pcap",
    "graylog-netflow/pmacctd-netflow9.pcap",
    "scapy/ipfix.pcap",
    "akvorado/netflow__mpls.pcap",
    "akvorado/sflow__data-1140.pcap",
    "tcpdump/sflow_expanded.pcap",
    "zeek/http__iso-download.pcap.gz",
    "logstash-netflow/ipfix_test_mikrotik_data258.dat",
    "logstash-netflow/netflow5_test_juniper_mx80.dat",
]

HUGE = (0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x0001_0000, 0xFFFF, 0x0400_0000 | 1, 262145)


@dataclass
class Mutant:
    name: str  # seed + how it was mutated
    data: bytes
    expect_packets: int | None = None  # packets that must be imported (truncations), None = no claim


def pcap_offsets(data: bytes) -> list[int] | None:
    """End offsets of whole pcap records, walking the lengths; None when not an uncompressed pcap."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None
    ends, pos = [], 24
    while pos + 16 <= len(data):
        incl = struct.unpack_from(e + "I", data, pos + 8)[0]
        if pos + 16 + incl > len(data):
            break
        pos += 16 + incl
        ends.append(pos)
    return ends


def pcapng_packet_ends(data: bytes) -> list[int] | None:
    """End offsets of whole packet blocks (EPB, SPB, PB) of a pcapng file; None when not pcapng."""
    if data[:4] != b"\x0a\x0d\x0d\x0a":
        return None
    ends, pos, e = [], 0, "<"
    while pos + 12 <= len(data):
        if data[pos:pos + 4] == b"\x0a\x0d\x0d\x0a":
            e = ">" if data[pos + 8:pos + 12] == b"\x1a\x2b\x3c\x4d" else "<"
        btype, blen = struct.unpack_from(e + "II", data, pos)
        if blen < 12 or pos + blen > len(data):
            break
        pos += blen
        if btype in (2, 3, 6):
            ends.append(pos)
    return ends


def whole_before(data: bytes, cut: int) -> int | None:
    ends = pcap_offsets(data)
    if ends is None:
        ends = pcapng_packet_ends(data)
    if ends is None:
        return None
    return sum(1 for end in ends if end <= cut)


def _mutate_bytes(rng: random.Random, data: bytes) -> tuple[str, bytes, int | None]:
    """One mutation of raw bytes: (what, result, cut offset for truncations)."""
    n = len(data)
    kind = rng.choice(["flip", "flip", "bytes", "truncate", "truncate", "cut", "repeat", "huge", "huge"])
    buf = bytearray(data)
    if kind == "flip":
        k = rng.randint(1, 8)
        for _ in range(k):
            i = rng.randrange(n)
            buf[i] ^= 1 << rng.randrange(8)
        return f"flip{k}", bytes(buf), None
    if kind == "bytes":
        i = rng.randrange(n)
        span = rng.randint(1, 16)
        buf[i:i + span] = bytes(rng.randrange(256) for _ in range(min(span, n - i)))
        return f"bytes@{i}", bytes(buf), None
    if kind == "truncate":
        cut = rng.randrange(n)
        return f"truncate@{cut}", bytes(buf[:cut]), cut
    if kind == "cut":
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 256))
        return f"cut{i}-{j}", bytes(buf[:i] + buf[j:]), None
    if kind == "repeat":
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 256))
        return f"repeat{i}-{j}x", bytes(buf[:j] + buf[i:j] * rng.randint(1, 4) + buf[j:]), None
    i = rng.randrange(0, max(1, n - 4), 2)
    value = rng.choice(HUGE)
    buf[i:i + 4] = struct.pack(rng.choice("<>") + "I", value)
    return f"huge{value:#x}@{i}", bytes(buf[:n]), None


def mutants(seed: int, count: int, seeds: list[str] | None = None) -> list[Mutant]:
    """`count` mutants, the same for the same seed."""
    rng = random.Random(seed)
    originals = {name: (CORPUS / name).read_bytes() for name in (seeds or SEEDS)}
    names = sorted(originals)
    out: list[Mutant] = []
    for i in range(count):
        name = names[i % len(names)]
        data = originals[name]
        if data[:2] == b"\x1f\x8b" and rng.random() < 0.5:  # mutate the content, keep a valid gzip
            what, inner, _cut = _mutate_bytes(rng, gzip.decompress(data))
            out.append(Mutant(f"{name}:gz-inner-{what}", gzip.compress(inner, mtime=0)))
            continue
        what, mutated, cut = _mutate_bytes(rng, data)
        expect = whole_before(data, cut) if cut is not None else None
        if rng.random() < 0.25 and len(mutated) > 4:  # stack one or two more mutations
            for _ in range(rng.randint(1, 2)):
                more, mutated, _cut = _mutate_bytes(rng, mutated)
                what += "+" + more
                if len(mutated) <= 4:
                    break
            expect = None
        out.append(Mutant(f"{name}:{what}", mutated, expect))
    return out
