"""DNS (RFC 1035), mDNS (RFC 6762) and LLMNR (RFC 4795) messages: header, first question, answers.

Names are dotted, as tshark's dns.qry.name shows them (no trailing dot; the root is '<Root>'); labels
are read as UTF-8 (mDNS and LLMNR names are), a name that is not valid UTF-8 as Latin-1, byte for byte.
Compression pointers are followed (backwards only, at most 64 hops). Answers: A/AAAA carry
`address` (UHUGEINT), CNAME/NS/PTR/MX/SRV/TXT carry `data` as text; other types carry neither.
"""

from __future__ import annotations

import struct

from forensics.appdata.wire import Malformed, text, v4_mapped

_HEADER, _Q, _RR = struct.Struct("!6H"), struct.Struct("!HH"), struct.Struct("!HHIH")

NAME_TYPES = {2: "NS", 5: "CNAME", 12: "PTR", 39: "DNAME"}


def read_name(data: bytes, i: int) -> tuple[str, int]:
    """(name, offset after the name at i)."""
    labels: list[bytes] = []
    end = -1
    hops = 0
    total = 0
    size = len(data)
    while True:
        if i >= size:
            raise Malformed(f"name cut at byte {i}")
        n = data[i]
        if n == 0:
            i += 1
            break
        if n < 64:
            j = i + 1 + n
            if j > size:
                raise Malformed(f"label cut at byte {i}")
            labels.append(data[i + 1:j])
            total += n + 1
            if total > 255:
                raise Malformed("name longer than 255 bytes")
            i = j
            continue
        if n & 0xC0 != 0xC0:
            raise Malformed(f"label type {n >> 6} at byte {i}")
        if i + 2 > size:
            raise Malformed(f"pointer cut at byte {i}")
        target = ((n & 0x3F) << 8) | data[i + 1]
        if end < 0:
            end = i + 2
        hops += 1
        if hops > 64 or target >= i:
            raise Malformed(f"compression loop at byte {i}")
        i = target
    name = text(b".".join(labels)) if labels else "<Root>"
    return name, (end if end >= 0 else i)


def parse(data: bytes) -> dict:
    """One DNS message (without the TCP length prefix). Malformed when cut or inconsistent."""
    if len(data) < 12:
        raise Malformed("shorter than the 12-byte header")
    txid, flags, qd, an, ns, ar = _HEADER.unpack_from(data)
    row: dict = {"txid": txid, "is_response": bool(flags & 0x8000), "opcode": (flags >> 11) & 0xF,
                 "rcode": flags & 0xF, "flags": flags, "qdcount": qd, "ancount": an, "nscount": ns, "arcount": ar,
                 "qname": None, "qtype": None, "qclass": None, "answers": []}
    i = 12
    for k in range(qd):
        name, i = read_name(data, i)
        if i + 4 > len(data):
            raise Malformed(f"question cut at byte {i}")
        qtype, qclass = _Q.unpack_from(data, i)
        i += 4
        if k == 0:
            row["qname"], row["qtype"], row["qclass"] = name, qtype, qclass
    for _ in range(an):
        if data[i:i + 2] == b"\xc0\x0c" and qd:  # a pointer to the first question's name (most answers)
            name, i = row["qname"], i + 2
        else:
            name, i = read_name(data, i)
        if i + 10 > len(data):
            raise Malformed(f"answer cut at byte {i}")
        rtype, _cls, ttl, rdlen = _RR.unpack_from(data, i)
        start = i + 10
        i = start + rdlen
        if i > len(data):
            raise Malformed(f"answer data cut at byte {start}")
        address = value = None
        if rtype == 1 and rdlen == 4:
            address = v4_mapped(data[start:i])
        elif rtype == 28 and rdlen == 16:
            address = int.from_bytes(data[start:i], "big")
        elif rtype in NAME_TYPES:
            value = read_name(data, start)[0]
        elif rtype == 15 and rdlen >= 3:
            value = read_name(data, start + 2)[0]
        elif rtype == 33 and rdlen >= 7:
            value = read_name(data, start + 6)[0]
        elif rtype == 16:
            parts, j = [], start
            while j < i:
                parts.append(data[j + 1:j + 1 + data[j]].decode("latin-1"))
                j += 1 + data[j]
            value = "".join(parts)
        row["answers"].append({"name": name, "type": rtype, "ttl": ttl, "address": address, "data": value})
    return row


def plausible(data: bytes) -> bool:
    """Header sanity for DNS on a port that is not DNS's: one question, standard opcode, sane counts."""
    if len(data) < 17:
        return False
    flags = (data[2] << 8) | data[3]
    qd, an, ns, ar = ((data[k] << 8) | data[k + 1] for k in range(4, 12, 2))
    return qd == 1 and (flags >> 11) & 0xF == 0 and an < 64 and ns < 64 and ar < 64 and flags & 0x0040 == 0 \
        and 0 < data[12] < 64
