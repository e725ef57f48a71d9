"""The fast path: record walks and header decoding compiled with numba.

Everything here works on a uint8 buffer holding a window of the capture file and writes into
preallocated arrays, a chunk of records at a time; no Python object per packet. Semantics are the
ones documented in forensics.records and must equal forensics.readers.exact (a test compares them
row for row over the corpus).

Each record is decoded as the walk meets it, while its bytes are in cache. Decoded fields go into one
int64 matrix with a row per field (the C_* indices below) and a column per packet, so each field is
contiguous; record fields go into a second matrix (R_* rows). The caller cuts them into typed columns.
"""

from __future__ import annotations

import numpy as np

from forensics.jit import njit

# Columns of the decode matrix.
COL_NAMES = [
    "vlan", "vlan_inner", "mpls_label", "eth_type", "ip_version", "src_hi", "src_lo", "dst_hi", "dst_lo",
    "ip_proto", "ip_len", "ttl", "ip_id", "frag_offset", "frag_flags", "src_port", "dst_port", "tcp_flags",
    "icmp_type", "icmp_code", "malformed", "payload_offset",
    "src_mac", "dst_mac", "arp_op", "arp_sha", "arp_spa", "arp_tha", "arp_tpa", "net_offset", "transport_offset",
]
NCOLS = len(COL_NAMES)
(C_VLAN, C_VLAN2, C_MPLS, C_ETYPE, C_IPV, C_SHI, C_SLO, C_DHI, C_DLO, C_PROTO, C_IPLEN, C_TTL, C_IPID,
 C_FRAG, C_FFLAGS, C_SPORT, C_DPORT, C_TFLAGS, C_ITYPE, C_ICODE, C_MALF, C_POFF,
 C_SMAC, C_DMAC, C_AOP, C_ASHA, C_ASPA, C_ATHA, C_ATPA, C_NOFF, C_TOFF) = range(NCOLS)

V4_MAPPED_LO = np.int64(0xFFFF << 32)
MAX_RECORD = 262144  # a record over 256 KiB is refused (libpcap's own limit)
# pcapng packet times must lie in years 1..9999 (what a TIMESTAMP renders as ISO-8601); a 64-bit
# count of units beyond that is a damaged block, and would overflow microseconds (INT64_MIN broke
# the flow SQL). tshark shows such times as they come.
MIN_TS_SEC = -62_135_596_800
MAX_TS_SEC = 253_402_300_799

# Walk status codes.
WALK_END = 0  # stopped at the end of the buffer (pos = start of the incomplete record)
WALK_FULL = 1  # output arrays full
WALK_BAD = 2  # an impossible record header at pos
WALK_BLOCK = 3  # pcapng: a block that Python must handle (SHB, IDB, ...) at pos


@njit(cache=True, inline="always")
def _u16(b, i):
    return (np.int64(b[i]) << 8) | np.int64(b[i + 1])


@njit(cache=True, inline="always")
def _u32(b, i):
    return (np.int64(b[i]) << 24) | (np.int64(b[i + 1]) << 16) | (np.int64(b[i + 2]) << 8) | np.int64(b[i + 3])


@njit(cache=True, inline="always")
def _u32le(b, i):
    return (np.int64(b[i + 3]) << 24) | (np.int64(b[i + 2]) << 16) | (np.int64(b[i + 1]) << 8) | np.int64(b[i])


@njit(cache=True, inline="always")
def _u32x(b, i, big):
    if big:
        return _u32(b, i)
    return _u32le(b, i)


@njit(cache=True, inline="always")
def _u64be(b, i):
    v = np.uint64(0)
    for j in range(8):
        v = (v << np.uint64(8)) | np.uint64(b[i + j])
    return np.int64(v)


@njit(cache=True, inline="always")
def _mac(b, i):
    return (_u16(b, i) << 32) | _u32(b, i + 2)


@njit(cache=True, inline="always")
def _arp(b, p, end, O, k):
    """ARP/RARP at p: opcode; hardware and protocol addresses when they are 6 and 4 bytes. False when cut."""
    if p + 8 > end:
        return False
    O[C_AOP, k] = _u16(b, p + 6)
    hlen = np.int64(b[p + 4])
    plen = np.int64(b[p + 5])
    if hlen == 6 and plen == 4:
        if p + 14 <= end:
            O[C_ASHA, k] = _mac(b, p + 8)
        if p + 18 <= end:
            O[C_ASPA, k] = _u32(b, p + 14)
        if p + 24 <= end:
            O[C_ATHA, k] = _mac(b, p + 18)
        if p + 28 <= end:
            O[C_ATPA, k] = _u32(b, p + 24)
    return p + 8 + 2 * (hlen + plen) <= end


@njit(cache=True, inline="always")
def _transport(b, t, end, proto, O, k, base):
    """Ports, TCP flags, ICMP type/code from offset t; False when the header is cut."""
    if proto == 6 or proto == 17 or proto == 132 or proto == 136:
        if t + 2 <= end:
            O[C_SPORT, k] = _u16(b, t)
        if t + 4 <= end:
            O[C_DPORT, k] = _u16(b, t + 2)
    if proto == 6:
        if t + 14 <= end:
            O[C_TFLAGS, k] = np.int64(b[t + 13]) | ((np.int64(b[t + 12]) & 1) << 8)
        if t + 13 > end:
            return False
        hlen = (np.int64(b[t + 12]) >> 4) * 4
        if hlen < 20:
            O[C_MALF, k] = 1
            return True
        if t + hlen > end:
            return False
        O[C_POFF, k] = t + hlen - base
        return True
    if proto == 17 or proto == 136:
        if proto == 17 and t + 6 <= end and _u16(b, t + 4) < 8:
            O[C_MALF, k] = 1
        if t + 8 > end:
            return False
        O[C_POFF, k] = t + 8 - base
        return True
    if proto == 132:
        return t + 12 <= end
    if proto == 1 or proto == 58:
        if t + 1 <= end:
            O[C_ITYPE, k] = b[t]
        if t + 2 <= end:
            O[C_ICODE, k] = b[t + 1]
        return t + 4 <= end
    return True


@njit(cache=True, inline="always")
def _ipv4(b, p, end, O, k):
    """IPv4 header at p. Returns (ok, t, proto): t >= 0 when the transport header at t is to be read
    (the packet is then ok when ok and the transport header is whole), else ok is the answer."""
    if p + 1 > end:
        return False, -1, -1
    if (b[p] >> 4) != 4:
        O[C_MALF, k] = 1
        return True, -1, -1
    O[C_IPV, k] = 4
    hlen = (np.int64(b[p]) & 15) * 4
    total = np.int64(-1)
    frag = np.int64(0)
    if p + 4 <= end:
        total = _u16(b, p + 2)
        O[C_IPLEN, k] = total
    if p + 6 <= end:
        O[C_IPID, k] = _u16(b, p + 4)
    if p + 8 <= end:
        ff = _u16(b, p + 6)
        frag = (ff & 0x1FFF) * 8
        O[C_FRAG, k] = frag
        O[C_FFLAGS, k] = (1 if (ff & 0x2000) else 0) | (2 if (ff & 0x4000) else 0)
    if p + 9 <= end:
        O[C_TTL, k] = b[p + 8]
    if p + 10 <= end:
        O[C_PROTO, k] = b[p + 9]
    if p + 16 <= end:
        O[C_SLO, k] = V4_MAPPED_LO | _u32(b, p + 12)
    if p + 20 <= end:
        O[C_DLO, k] = V4_MAPPED_LO | _u32(b, p + 16)
    if hlen < 20 or (total != -1 and total < hlen):
        O[C_MALF, k] = 1
        return True, -1, -1
    if p + hlen > end:
        return False, -1, -1
    complete = p + total <= end
    if frag != 0:
        return complete, -1, -1
    return complete, p + hlen, np.int64(b[p + 9])


@njit(cache=True, inline="always")
def _ipv6(b, p, end, O, k):
    """IPv6 header and extension chain at p. Returns (ok, t, proto) as _ipv4."""
    if p + 1 > end:
        return False, -1, -1
    if (b[p] >> 4) != 6:
        O[C_MALF, k] = 1
        return True, -1, -1
    O[C_IPV, k] = 6
    plen = np.int64(0)
    if p + 6 <= end:
        plen = _u16(b, p + 4)
        O[C_IPLEN, k] = plen + 40
    if p + 7 <= end:
        O[C_PROTO, k] = b[p + 6]
    if p + 8 <= end:
        O[C_TTL, k] = b[p + 7]
    if p + 24 <= end:
        O[C_SHI, k] = _u64be(b, p + 8)
        O[C_SLO, k] = _u64be(b, p + 16)
    if p + 40 > end:
        return False, -1, -1
    O[C_DHI, k] = _u64be(b, p + 24)
    O[C_DLO, k] = _u64be(b, p + 32)
    complete = p + 40 + plen <= end
    nh = np.int64(b[p + 6])
    t = p + 40
    while nh == 0 or nh == 43 or nh == 60 or nh == 44 or nh == 51:
        if t + 1 > end:
            return False, -1, -1
        nxt = np.int64(b[t])
        O[C_PROTO, k] = nxt
        if nh == 44:
            if t + 4 <= end:
                word = _u16(b, t + 2)
                O[C_FRAG, k] = word & 0xFFF8
                O[C_FFLAGS, k] = word & 1
            if t + 8 <= end:
                O[C_IPID, k] = _u32(b, t + 4)
            if t + 8 > end:
                return False, -1, -1
            if O[C_FRAG, k] != 0:
                return complete, -1, -1
            t += 8
        else:
            if t + 2 > end:
                return False, -1, -1
            if nh == 51:
                t += (np.int64(b[t + 1]) + 2) * 4
            else:
                t += (np.int64(b[t + 1]) + 1) * 8
            if t > end:
                return False, -1, -1
        nh = nxt
    O[C_PROTO, k] = nh
    return complete, t, nh


# What the link layer leaves to do.
_SHORT = 0  # the packet ended inside the link-layer headers
_DONE = 1  # nothing more to decode
_NET = 2  # a network layer of ethertype et starts at p


@njit(cache=True, inline="always")
def _null_link(b, q, end):
    """BSD null/loopback from q (exact's NULL_LINKTYPES): its 4-byte family in either byte order -> (state, p,
    et); families other than IPv4 and IPv6 are not decoded."""
    if end - q < 4:
        return _SHORT, q, np.int64(0)
    fam = _u32le(b, q)
    if fam > 0xFFFF:
        fam = _u32(b, q)
    if fam == 2:
        return _NET, q + 4, np.int64(0x0800)
    if fam == 24 or fam == 28 or fam == 30:
        return _NET, q + 4, np.int64(0x86DD)
    return _DONE, q + 4, np.int64(0)


@njit(cache=True, inline="always")
def _raw_link(b, q, end, O, k):
    """Raw IP from q (exact's RAW_IP_LINKTYPES): the version nibble decides -> (state, p, et); another
    version is malformed."""
    if end - q < 1:
        return _SHORT, q, np.int64(0)
    nib = b[q] >> 4
    if nib == 4:
        return _NET, q, np.int64(0x0800)
    if nib == 6:
        return _NET, q, np.int64(0x86DD)
    O[C_MALF, k] = 1
    return _DONE, q, np.int64(0)


@njit(cache=True, inline="always")
def _tags(b, p, end, et, O, k, lengths):
    """VLAN tags, LLC/SNAP (when `lengths`: Ethernet), PPPoE, MPLS after an ethertype. Returns (p, et, state)."""
    while et == 0x8100 or et == 0x88A8 or et == 0x9100:
        if p + 2 > end:
            return p, et, _SHORT
        vid = _u16(b, p) & 0xFFF
        if O[C_VLAN, k] == -1:
            O[C_VLAN, k] = vid
        elif O[C_VLAN2, k] == -1:
            O[C_VLAN2, k] = vid
        if p + 4 > end:
            return p, et, _SHORT
        et = _u16(b, p + 2)
        p += 4
    if et <= 1500 and lengths:
        if p + 3 > end:
            return p, et, _SHORT
        if b[p] != 0xAA or b[p + 1] != 0xAA or b[p + 2] != 0x03:
            return p, et, _DONE
        if p + 8 > end:
            return p, et, _SHORT
        et = _u16(b, p + 6)
        p += 8
    if et == 0x8864:
        O[C_ETYPE, k] = et
        if p + 7 > end:
            return p, et, _SHORT
        if b[p + 6] & 1:
            pp = np.int64(b[p + 6])
            p += 7
        else:
            if p + 8 > end:
                return p, et, _SHORT
            pp = _u16(b, p + 6)
            p += 8
        if pp == 0x0021:
            et = 0x0800
        elif pp == 0x0057:
            et = 0x86DD
        else:
            return p, et, _DONE
    if et == 0x8847 or et == 0x8848:
        O[C_ETYPE, k] = et
        while True:
            if p + 3 <= end and O[C_MPLS, k] == -1:
                O[C_MPLS, k] = (_u16(b, p) << 4) | (np.int64(b[p + 2]) >> 4)
            if p + 4 > end:
                return p, et, _SHORT
            bottom = b[p + 2] & 1
            p += 4
            if bottom:
                break
        if p + 1 > end:
            return p, et, _SHORT
        nib = b[p] >> 4
        if nib == 4:
            et = 0x0800
        elif nib == 6:
            et = 0x86DD
        else:
            return p, et, _DONE
    return p, et, _NET


@njit(cache=True, inline="always")
def _ppp_ethertype(pp):
    """The ethertype a PPP protocol number carries (exact.PPP_PROTOCOLS: IPv4, IPv6, MPLS), -1 for others."""
    if pp == 0x0021:
        return np.int64(0x0800)
    if pp == 0x0057:
        return np.int64(0x86DD)
    if pp == 0x0281:
        return np.int64(0x8847)
    if pp == 0x0283:
        return np.int64(0x8848)
    return np.int64(-1)


@njit(cache=True)
def _other_link(b, base, caplen, end, lt, O, k):
    """The link layers added later (NFLOG, 802.11 with radiotap or PPI, ERF, Cisco HDLC, pflog), out of
    decode_one's inlined body so that the common ones keep their compiled code as it was (decode 5 % slower on
    the bench capture with them inline). Returns (state, p, et, end): where the network layer starts, its
    ethertype and the end that bounds it (NFLOG's payload TLV)."""
    state = _SHORT
    p = base
    et = np.int64(0)
    if lt == 239:  # NFLOG: header, then TLVs in the capturing host's byte order (exact._nflog)
        state = _SHORT
        if caplen >= 4:
            fam = b[base]
            p = base + 4
            if p == end:
                state = _DONE
            elif p + 4 <= end:
                little = (b[p + 3] & 0x3F) == 0  # the first TLV's type, read little-endian, is below 256
                while True:
                    if p == end:
                        state = _DONE
                        break
                    if p + 4 > end:
                        break
                    if little:
                        length = np.int64(b[p]) | (np.int64(b[p + 1]) << 8)
                        kind = (np.int64(b[p + 2]) | (np.int64(b[p + 3]) << 8)) & 0x3FFF
                    else:
                        length = (np.int64(b[p]) << 8) | np.int64(b[p + 1])
                        kind = ((np.int64(b[p + 2]) << 8) | np.int64(b[p + 3])) & 0x3FFF
                    if length < 4:
                        O[C_MALF, k] = 1
                        state = _DONE
                        break
                    if kind == 9:  # the payload: the network layer
                        state = _DONE
                        if fam == 2 or fam == 10:
                            et = np.int64(0x0800) if fam == 2 else np.int64(0x86DD)
                            if p + length < end:
                                end = p + length
                            p += 4
                            state = _NET
                        break
                    p += (length + 3) & ~np.int64(3)
                    if p > end:
                        break
    elif lt == 127 or lt == 105 or lt == 192 or lt == 119 or lt == 163:  # radiotap, PPI, Prism or AVS + 802.11
        state = _SHORT  # (exact._dot11)
        q = base
        go = True
        if lt != 105:  # the radio header's length: radiotap's and PPI's little-endian at byte 2 (PPI: the link type
            # after it); Prism's msglen at byte 4 in the writer's byte order; AVS's (magic 0x8021100N) big-endian there
            if caplen < (4 if lt == 127 else 8):
                go = False
            else:
                if lt == 127 or lt == 192:
                    hl = np.int64(b[base + 2]) | (np.int64(b[base + 3]) << 8)
                elif lt == 163 or (_u32(b, base) & 0xFFFFFFF0) == 0x80211000:
                    hl = _u32(b, base + 4)
                else:
                    hl = _u32le(b, base + 4)
                    if hl > 0xFFFF:
                        hl = _u32(b, base + 4)
                if hl < 8:
                    O[C_MALF, k] = 1
                    state = _DONE
                    go = False
                elif caplen < hl:
                    go = False
                elif lt == 192 and _u32le(b, base + 4) != 105:
                    state = _DONE
                    go = False
                else:
                    q = base + hl
        if go and q + 2 <= end:
            fc0 = np.int64(b[q])
            fc1 = np.int64(b[q + 1])
            if (fc0 & 3) != 0 or ((fc0 >> 2) & 3) != 2 or ((fc0 >> 4) & 4) != 0 or (fc1 & 0x40) != 0:
                state = _DONE
            else:
                qos = q + 24 + (6 if (fc1 & 3) == 3 else 0)
                hdr = qos - q
                cut = False
                if (fc0 >> 4) & 8:
                    if qos + 1 > end:
                        cut = True
                    elif b[qos] & 0x80:
                        state = _DONE
                    else:
                        hdr += 2 + (4 if (fc1 & 0x80) != 0 else 0)
                if state != _DONE and not cut and q + hdr <= end:
                    p, et, state = _tags(b, q + hdr, end, np.int64(0), O, k, True)
    elif lt == 258:  # Apple PKTAP (exact._pktap): pth_length, pth_type_next, pth_dlt little-endian, then the frame
        state = _SHORT
        if caplen >= 12:
            hl = _u32le(b, base)
            if hl < 108:
                O[C_MALF, k] = 1
                state = _DONE
            elif caplen >= hl:
                state = _DONE
                inner = _u32le(b, base + 8)
                q = base + hl
                if _u32le(b, base + 4) != 1:
                    pass
                elif inner == 1:  # Ethernet
                    if end - q >= 6:
                        O[C_DMAC, k] = _mac(b, q)
                    if end - q >= 12:
                        O[C_SMAC, k] = _mac(b, q + 6)
                    if end - q < 14:
                        state = _SHORT
                    else:
                        p, et, state = _tags(b, q + 14, end, _u16(b, q + 12), O, k, True)
                elif inner == 0 or inner == 108:  # loopback
                    state, p, et = _null_link(b, q, end)
                elif inner == 12 or inner == 14 or inner == 101 or inner == 228 or inner == 229:  # raw IP
                    state, p, et = _raw_link(b, q, end, O, k)
    elif lt == 197:  # ERF (exact._erf)
        state = _SHORT
        if caplen >= 16:
            rt = np.int64(b[base + 8])
            q = base + 16
            more = (rt & 0x80) != 0
            cut = False
            while more:
                if q + 8 > end:
                    cut = True
                    break
                more = (b[q] & 0x80) != 0
                q += 8
            if not cut:
                kind = rt & 0x7F
                if kind == 2 or kind == 11 or kind == 16 or kind == 20:
                    q += 2
                    if q + 6 <= end:
                        O[C_DMAC, k] = _mac(b, q)
                    if q + 12 <= end:
                        O[C_SMAC, k] = _mac(b, q + 6)
                    if q + 14 <= end:
                        p, et, state = _tags(b, q + 14, end, _u16(b, q + 12), O, k, True)
                elif kind == 1 or kind == 10 or kind == 15 or kind == 19:
                    if q + 4 <= end:
                        state = _DONE
                        e2 = _u16(b, q + 2)
                        if b[q] == 0xFF:  # PPP: a protocol number; else Cisco HDLC: an ethertype (0x8035: SLARP)
                            e2 = _ppp_ethertype(e2)
                        elif e2 == 0x8035:
                            e2 = -1
                        if e2 != -1:
                            p, et, state = _tags(b, q + 4, end, e2, O, k, False)
                elif kind == 22:
                    p, et, state = q, np.int64(0x0800), _NET
                elif kind == 23:
                    p, et, state = q, np.int64(0x86DD), _NET
                else:
                    state = _DONE
    elif lt == 104:  # Cisco HDLC: address, control, ethertype (0x8035 is SLARP: not decoded)
        if caplen < 4:
            state = _SHORT
        elif _u16(b, base + 2) == 0x8035:
            state = _DONE
        else:
            p, et, state = _tags(b, base + 4, end, _u16(b, base + 2), O, k, False)
    elif lt == 117:  # pflog (exact: the header's length byte, padded to 4; a BSD family)
        state = _SHORT
        if caplen >= 2:
            if b[base] < 45:
                O[C_MALF, k] = 1
                state = _DONE
            else:
                hl = (np.int64(b[base]) + 3) & ~np.int64(3)
                if caplen >= hl:
                    state = _DONE
                    fam = b[base + 1]
                    p = base + hl
                    if fam == 2:
                        et, state = 0x0800, _NET
                    elif fam == 24 or fam == 28 or fam == 30:
                        et, state = 0x86DD, _NET
    return state, p, et, end

@njit(cache=True, inline="always")
def decode_one(b, base, caplen, wirelen, lt, O, k):
    """Decode the packet whose data starts at b[base] into column k of O (semantics: forensics.readers.exact).

    Each helper has one call site here, so inlining them all keeps the compiled code small.
    """
    for j in range(NCOLS):
        O[j, k] = -1
    O[C_SHI, k] = 0
    O[C_SLO, k] = 0
    O[C_DHI, k] = 0
    O[C_DLO, k] = 0
    O[C_MALF, k] = 0
    end = base + caplen
    # Link layer: where the network layer starts (p) and its ethertype (et).
    state = _DONE
    p = base
    et = np.int64(0)
    if lt == 1 or lt == 113 or lt == 276:
        hdr = 14 if lt == 1 else (16 if lt == 113 else 20)
        if lt == 1:
            if caplen >= 6:
                O[C_DMAC, k] = _mac(b, base)
            if caplen >= 12:
                O[C_SMAC, k] = _mac(b, base + 6)
        elif lt == 113:
            if caplen >= 12 and _u16(b, base + 4) == 6:
                O[C_SMAC, k] = _mac(b, base + 6)
        elif caplen >= 18 and b[base + 11] == 6:
            O[C_SMAC, k] = _mac(b, base + 12)
        if caplen < hdr:
            state = _SHORT
        else:
            at = base + 12 if lt == 1 else (base + 14 if lt == 113 else base)
            p, et, state = _tags(b, base + hdr, end, _u16(b, at), O, k, lt == 1)
    elif lt == 9 or lt == 50:
        p = base + 2 if caplen >= 2 and b[base] == 0xFF and b[base + 1] == 0x03 else base
        state = _SHORT
        pp = np.int64(0)
        if p + 1 <= end:
            if b[p] & 1:
                pp = np.int64(b[p])
                p += 1
                state = _NET
            elif p + 2 <= end:
                pp = _u16(b, p)
                p += 2
                state = _NET
        if state == _NET:
            et = _ppp_ethertype(pp)
            if et == -1:
                state = _DONE
            else:
                p, et, state = _tags(b, p, end, et, O, k, False)
    elif lt == 101 or lt == 228 or lt == 229 or lt == 12 or lt == 14:
        state, p, et = _raw_link(b, base, end, O, k)
    elif (lt == 239 or lt == 127 or lt == 105 or lt == 192 or lt == 197 or lt == 104 or lt == 117 or lt == 119
          or lt == 163 or lt == 258):
        state, p, et, end = _other_link(b, base, caplen, end, lt, O, k)
    elif lt == 0 or lt == 108:
        state, p, et = _null_link(b, base, end)
    ok = state != _SHORT
    if state == _NET and et >= 0x0600:
        O[C_ETYPE, k] = et
        O[C_NOFF, k] = p - base
        t = np.int64(-1)
        proto = np.int64(-1)
        if et == 0x0800:
            ok, t, proto = _ipv4(b, p, end, O, k)
        elif et == 0x86DD:
            ok, t, proto = _ipv6(b, p, end, O, k)
        elif et == 0x0806 or et == 0x8035:
            ok = _arp(b, p, end, O, k)
        if t >= 0:
            O[C_TOFF, k] = t - base
            ok = _transport(b, t, end, proto, O, k, base) and ok
    if not ok and caplen >= wirelen:
        O[C_MALF, k] = 1


@njit(cache=True, nogil=True)
def layer_offsets(b, starts, caplens, wirelens, linktypes):
    """Where the network and transport headers of packets b[starts[i]:starts[i] + caplens[i]] start (from the
    packet's first byte; -1 when absent): the `net_offset`/`transport_offset` of forensics.readers.exact."""
    n = starts.shape[0]
    O = np.empty((NCOLS, n), np.int64)
    for k in range(n):
        decode_one(b, starts[k], caplens[k], wirelens[k], linktypes[k], O, k)
    return O[C_NOFF].copy(), O[C_TOFF].copy()


# Rows of the record matrix the walks fill beside the decode matrix.
RECORD_ROWS = ["file_offset", "data_offset", "caplen", "wirelen", "ts_us", "iface", "linktype"]
R_OFF, R_DATA, R_CAP, R_WIRE, R_TS, R_IF, R_LT = range(len(RECORD_ROWS))


@njit(cache=True, inline="always")
def _record(b, file_offset, data, caplen, wirelen, ts, iface, lt, O, R, k):
    """Column k: the record's fields in R, its decoded headers in O."""
    R[R_OFF, k] = file_offset
    R[R_DATA, k] = data
    R[R_CAP, k] = caplen
    R[R_WIRE, k] = wirelen
    R[R_TS, k] = ts
    R[R_IF, k] = iface
    R[R_LT, k] = lt
    decode_one(b, data, caplen, wirelen, lt, O, k)


@njit(cache=True, nogil=True)
def decode_pcap(b, pos, limit, base, big, nano, linktype, O, R, k, cap):
    """Walk pcap records from b[pos] while a whole record fits before limit, decoding each as it is met.

    Record i goes to column k + i of O (decoded fields) and R (record fields: file offset = base + its
    position in b, data offset in b, lengths, time in microseconds, interface 0, linktype).
    Returns (k, pos, status): the next free column, where the walk stopped, and why.
    """
    while True:
        if k >= cap:
            return k, pos, WALK_FULL
        if pos + 16 > limit:
            return k, pos, WALK_END
        sec = _u32x(b, pos, big)
        frac = _u32x(b, pos + 4, big)
        incl = _u32x(b, pos + 8, big)
        orig = _u32x(b, pos + 12, big)
        if incl > MAX_RECORD:
            return k, pos, WALK_BAD
        if pos + 16 + incl > limit:
            return k, pos, WALK_END
        _record(b, base + pos, pos + 16, incl, orig, sec * 1000000 + (frac // 1000 if nano else frac), 0, linktype,
                O, R, k)
        k += 1
        pos += 16 + incl


@njit(cache=True, nogil=True)
def decode_pcapng(b, pos, limit, base, big, if_ups, if_offset_us, if_linktype, if_snaplen, section_base, last_ts, O,
                  R, k, cap):
    """Walk pcapng packet blocks (EPB 6, SPB 3, obsolete PB 2) from b[pos], decoding each as it is met.

    Stops with WALK_BLOCK at any other block (a section header whatever the byte order) so Python can
    handle it. if_ups[i] is the section's interface i's timestamp units per second (0 = unknown
    interface), if_offset_us its if_tsoffset in microseconds, if_linktype its link type, if_snaplen its
    snap length (0 = none); section_base is the file-wide number of the section's interface 0.
    A simple packet block carries no time and no interface: it gets interface 0 and the previous
    packet's time (last_ts[0], updated here); its captured length is the smallest of the block's room,
    the original length and interface 0's snap length (pcapng spec, as tshark reads it).
    Returns (k, pos, status) as decode_pcap.
    """
    if_count = if_ups.shape[0]
    while True:
        if k >= cap:
            return k, pos, WALK_FULL
        if pos + 12 > limit:
            return k, pos, WALK_END
        btype = _u32x(b, pos, big)
        if btype == 0x0A0D0D0A:  # a new section, perhaps of the other byte order: Python reads its length
            return k, pos, WALK_BLOCK
        blen = _u32x(b, pos + 4, big)
        if blen < 12 or (blen & 3) != 0 or blen > MAX_RECORD + 64:
            return k, pos, WALK_BAD
        if btype != 6 and btype != 3 and btype != 2:
            return k, pos, WALK_BLOCK
        if pos + blen > limit:
            return k, pos, WALK_END
        if btype == 3:
            if blen < 16 or if_count == 0:
                return k, pos, WALK_BAD
            orig = _u32x(b, pos + 8, big)
            incl = blen - 16
            if orig < incl:
                incl = orig
            if if_snaplen[0] > 0 and if_snaplen[0] < incl:
                incl = if_snaplen[0]
            iface = 0
            ts = last_ts[0]
            data = pos + 12
        else:
            if blen < 32:
                return k, pos, WALK_BAD
            if btype == 6:
                iface = _u32x(b, pos + 8, big)
            else:
                iface = (_u32x(b, pos + 8, big) >> 16) if big else (_u32x(b, pos + 8, big) & 0xFFFF)
            hi = _u32x(b, pos + 12, big)
            lo = _u32x(b, pos + 16, big)
            incl = _u32x(b, pos + 20, big)
            orig = _u32x(b, pos + 24, big)
            data = pos + 28
            if incl > blen - 32:
                return k, pos, WALK_BAD
            if iface >= if_count or if_ups[iface] == 0:
                return k, pos, WALK_BAD
            raw = (hi << 32) | lo  # signed, as tshark reads it
            ups = if_ups[iface]
            sec = raw // ups
            if sec < MIN_TS_SEC or sec > MAX_TS_SEC:
                return k, pos, WALK_BAD
            ts = sec * 1000000 + ((raw % ups) * 1000000) // ups + if_offset_us[iface]
        last_ts[0] = ts
        lt = if_linktype[iface]
        _record(b, base + pos, data, incl, orig, ts, section_base + iface, lt, O, R, k)
        k += 1
        pos += blen
