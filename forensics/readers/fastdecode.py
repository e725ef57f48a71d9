"""The fast path: record walks and header decoding compiled with numba.

Everything here works on a uint8 buffer holding a window of the capture file and writes into
preallocated arrays, a chunk of records at a time; no Python object per packet. Semantics are the
ones documented in forensics.records and must equal forensics.readers.exact (a test compares them
row for row over the corpus).

Decoded fields go into one int64 matrix (rows = packets, columns = the COL_* indices below); the
caller splits it into typed columns.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Columns of the decode matrix.
COL_NAMES = [
    "vlan", "vlan_inner", "mpls_label", "eth_type", "ip_version", "src_hi", "src_lo", "dst_hi", "dst_lo",
    "ip_proto", "ip_len", "ttl", "ip_id", "frag_offset", "frag_flags", "src_port", "dst_port", "tcp_flags",
    "icmp_type", "icmp_code", "malformed", "payload_offset",
]
NCOLS = len(COL_NAMES)
(C_VLAN, C_VLAN2, C_MPLS, C_ETYPE, C_IPV, C_SHI, C_SLO, C_DHI, C_DLO, C_PROTO, C_IPLEN, C_TTL, C_IPID,
 C_FRAG, C_FFLAGS, C_SPORT, C_DPORT, C_TFLAGS, C_ITYPE, C_ICODE, C_MALF, C_POFF) = range(NCOLS)

V4_MAPPED_LO = np.int64(0xFFFF << 32)
MAX_RECORD = 262144  # a record over 256 KiB is refused (libpcap's own limit)

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


@njit(cache=True)
def _transport(b, t, end, proto, O, k, base):
    """Ports, TCP flags, ICMP type/code from offset t; False when the header is cut."""
    if proto == 6 or proto == 17 or proto == 132 or proto == 136:
        if t + 2 <= end:
            O[k, C_SPORT] = _u16(b, t)
        if t + 4 <= end:
            O[k, C_DPORT] = _u16(b, t + 2)
    if proto == 6:
        if t + 14 <= end:
            O[k, C_TFLAGS] = np.int64(b[t + 13]) | ((np.int64(b[t + 12]) & 1) << 8)
        if t + 13 > end:
            return False
        hlen = (np.int64(b[t + 12]) >> 4) * 4
        if hlen < 20:
            O[k, C_MALF] = 1
            return True
        if t + hlen > end:
            return False
        O[k, C_POFF] = t + hlen - base
        return True
    if proto == 17 or proto == 136:
        if proto == 17 and t + 6 <= end and _u16(b, t + 4) < 8:
            O[k, C_MALF] = 1
        if t + 8 > end:
            return False
        O[k, C_POFF] = t + 8 - base
        return True
    if proto == 132:
        return t + 12 <= end
    if proto == 1 or proto == 58:
        if t + 1 <= end:
            O[k, C_ITYPE] = b[t]
        if t + 2 <= end:
            O[k, C_ICODE] = b[t + 1]
        return t + 4 <= end
    return True


@njit(cache=True)
def _ipv4(b, p, end, O, k, base):
    if p + 1 > end:
        return False
    if (b[p] >> 4) != 4:
        O[k, C_MALF] = 1
        return True
    O[k, C_IPV] = 4
    hlen = (np.int64(b[p]) & 15) * 4
    total = np.int64(-1)
    frag = np.int64(0)
    if p + 4 <= end:
        total = _u16(b, p + 2)
        O[k, C_IPLEN] = total
    if p + 6 <= end:
        O[k, C_IPID] = _u16(b, p + 4)
    if p + 8 <= end:
        ff = _u16(b, p + 6)
        frag = (ff & 0x1FFF) * 8
        O[k, C_FRAG] = frag
        O[k, C_FFLAGS] = (1 if (ff & 0x2000) else 0) | (2 if (ff & 0x4000) else 0)
    if p + 9 <= end:
        O[k, C_TTL] = b[p + 8]
    if p + 10 <= end:
        O[k, C_PROTO] = b[p + 9]
    if p + 16 <= end:
        O[k, C_SLO] = V4_MAPPED_LO | _u32(b, p + 12)
    if p + 20 <= end:
        O[k, C_DLO] = V4_MAPPED_LO | _u32(b, p + 16)
    if hlen < 20 or (total != -1 and total < hlen):
        O[k, C_MALF] = 1
        return True
    if p + hlen > end:
        return False
    complete = p + total <= end
    if frag != 0:
        return complete
    r = _transport(b, p + hlen, end, np.int64(b[p + 9]), O, k, base)
    return r and complete


@njit(cache=True)
def _ipv6(b, p, end, O, k, base):
    if p + 1 > end:
        return False
    if (b[p] >> 4) != 6:
        O[k, C_MALF] = 1
        return True
    O[k, C_IPV] = 6
    plen = np.int64(0)
    if p + 6 <= end:
        plen = _u16(b, p + 4)
        O[k, C_IPLEN] = plen + 40
    if p + 7 <= end:
        O[k, C_PROTO] = b[p + 6]
    if p + 8 <= end:
        O[k, C_TTL] = b[p + 7]
    if p + 24 <= end:
        O[k, C_SHI] = _u64be(b, p + 8)
        O[k, C_SLO] = _u64be(b, p + 16)
    if p + 40 > end:
        return False
    O[k, C_DHI] = _u64be(b, p + 24)
    O[k, C_DLO] = _u64be(b, p + 32)
    complete = p + 40 + plen <= end
    nh = np.int64(b[p + 6])
    t = p + 40
    while nh == 0 or nh == 43 or nh == 60 or nh == 44 or nh == 51:
        if t + 1 > end:
            return False
        nxt = np.int64(b[t])
        O[k, C_PROTO] = nxt
        if nh == 44:
            if t + 4 <= end:
                word = _u16(b, t + 2)
                O[k, C_FRAG] = word & 0xFFF8
                O[k, C_FFLAGS] = word & 1
            if t + 8 <= end:
                O[k, C_IPID] = _u32(b, t + 4)
            if t + 8 > end:
                return False
            if O[k, C_FRAG] != 0:
                return complete
            t += 8
        else:
            if t + 2 > end:
                return False
            if nh == 51:
                t += (np.int64(b[t + 1]) + 2) * 4
            else:
                t += (np.int64(b[t + 1]) + 1) * 8
            if t > end:
                return False
        nh = nxt
    O[k, C_PROTO] = nh
    r = _transport(b, t, end, nh, O, k, base)
    return r and complete


@njit(cache=True)
def _after_ethertype(b, p, end, et, O, k, base):
    """Tags, PPPoE, MPLS, then IPv4/IPv6. Returns False when the packet was short."""
    while et == 0x8100 or et == 0x88A8 or et == 0x9100:
        if p + 2 > end:
            return False
        vid = _u16(b, p) & 0xFFF
        if O[k, C_VLAN] == -1:
            O[k, C_VLAN] = vid
        elif O[k, C_VLAN2] == -1:
            O[k, C_VLAN2] = vid
        if p + 4 > end:
            return False
        et = _u16(b, p + 2)
        p += 4
    if et == 0x8864:
        O[k, C_ETYPE] = et
        if p + 7 > end:
            return False
        if b[p + 6] & 1:
            pp = np.int64(b[p + 6])
            p += 7
        else:
            if p + 8 > end:
                return False
            pp = _u16(b, p + 6)
            p += 8
        if pp == 0x0021:
            et = 0x0800
        elif pp == 0x0057:
            et = 0x86DD
        else:
            return True
    if et == 0x8847 or et == 0x8848:
        O[k, C_ETYPE] = et
        while True:
            if p + 3 <= end and O[k, C_MPLS] == -1:
                O[k, C_MPLS] = (_u16(b, p) << 4) | (np.int64(b[p + 2]) >> 4)
            if p + 4 > end:
                return False
            bottom = b[p + 2] & 1
            p += 4
            if bottom:
                break
        if p + 1 > end:
            return False
        nib = b[p] >> 4
        if nib == 4:
            et = 0x0800
        elif nib == 6:
            et = 0x86DD
        else:
            return True
    if et < 0x0600:
        return True
    O[k, C_ETYPE] = et
    if et == 0x0800:
        return _ipv4(b, p, end, O, k, base)
    if et == 0x86DD:
        return _ipv6(b, p, end, O, k, base)
    return True


@njit(cache=True)
def decode_one(b, base, caplen, wirelen, lt, O, k):
    """Decode the packet whose data starts at b[base] into row k of O (semantics: forensics.readers.exact)."""
    for j in range(NCOLS):
        O[k, j] = -1
    O[k, C_SHI] = 0
    O[k, C_SLO] = 0
    O[k, C_DHI] = 0
    O[k, C_DLO] = 0
    O[k, C_MALF] = 0
    end = base + caplen
    ok = True
    if lt == 1:
        if caplen < 14:
            ok = False
        else:
            ok = _after_ethertype(b, base + 14, end, _u16(b, base + 12), O, k, base)
    elif lt == 113:
        if caplen < 16:
            ok = False
        else:
            ok = _after_ethertype(b, base + 16, end, _u16(b, base + 14), O, k, base)
    elif lt == 276:
        if caplen < 20:
            ok = False
        else:
            ok = _after_ethertype(b, base + 20, end, _u16(b, base), O, k, base)
    elif lt == 101 or lt == 228 or lt == 229 or lt == 12 or lt == 14:
        if caplen < 1:
            ok = False
        else:
            nib = b[base] >> 4
            if nib == 4:
                O[k, C_ETYPE] = 0x0800
                ok = _ipv4(b, base, end, O, k, base)
            elif nib == 6:
                O[k, C_ETYPE] = 0x86DD
                ok = _ipv6(b, base, end, O, k, base)
            else:
                O[k, C_MALF] = 1
    elif lt == 0 or lt == 108:
        if caplen < 4:
            ok = False
        else:
            fam = _u32le(b, base)
            if fam > 0xFFFF:
                fam = _u32(b, base)
            if fam == 2:
                O[k, C_ETYPE] = 0x0800
                ok = _ipv4(b, base + 4, end, O, k, base)
            elif fam == 24 or fam == 28 or fam == 30:
                O[k, C_ETYPE] = 0x86DD
                ok = _ipv6(b, base + 4, end, O, k, base)
    if not ok and caplen >= wirelen:
        O[k, C_MALF] = 1


@njit(cache=True, nogil=True)
def decode_many(b, data_off, caplen, wirelen, linktype, O):
    """Decode n packets: data_off[i] is where packet i's bytes start in b."""
    for i in range(data_off.shape[0]):
        decode_one(b, data_off[i], caplen[i], wirelen[i], linktype[i], O, i)


@njit(cache=True, nogil=True)
def walk_pcap(b, pos, limit, big, nano, out_off, out_caplen, out_wirelen, out_ts):
    """Walk pcap records from pos while a whole record fits before limit.

    Returns (n, pos, status). out_off is the record header offset (relative to b); out_ts in microseconds.
    """
    n = 0
    cap = out_off.shape[0]
    while True:
        if n >= cap:
            return n, pos, WALK_FULL
        if pos + 16 > limit:
            return n, pos, WALK_END
        sec = _u32x(b, pos, big)
        frac = _u32x(b, pos + 4, big)
        incl = _u32x(b, pos + 8, big)
        orig = _u32x(b, pos + 12, big)
        if incl > MAX_RECORD:
            return n, pos, WALK_BAD
        if pos + 16 + incl > limit:
            return n, pos, WALK_END
        out_off[n] = pos
        out_caplen[n] = incl
        out_wirelen[n] = orig
        if nano:
            out_ts[n] = sec * 1000000 + frac // 1000
        else:
            out_ts[n] = sec * 1000000 + frac
        n += 1
        pos += 16 + incl


@njit(cache=True, nogil=True)
def walk_pcapng(b, pos, limit, big, if_count, if_ups, if_offset_us, out_off, out_data, out_caplen,
                out_wirelen, out_ts, out_if):
    """Walk pcapng packet blocks (EPB 6, SPB 3, obsolete PB 2) from pos.

    Stops with WALK_BLOCK at any other block so Python can handle it. if_ups[i] is interface i's
    timestamp units per second (0 = unknown interface); if_offset_us its if_tsoffset in microseconds.
    For SPB the interface is 0 and the time is unknown: ts = -1 (the caller fills it).
    """
    n = 0
    cap = out_off.shape[0]
    while True:
        if n >= cap:
            return n, pos, WALK_FULL
        if pos + 12 > limit:
            return n, pos, WALK_END
        btype = _u32x(b, pos, big)
        blen = _u32x(b, pos + 4, big)
        if blen < 12 or (blen & 3) != 0 or blen > MAX_RECORD + 64:
            return n, pos, WALK_BAD
        if btype != 6 and btype != 3 and btype != 2:
            return n, pos, WALK_BLOCK
        if pos + blen > limit:
            return n, pos, WALK_END
        if btype == 3:
            if blen < 16:
                return n, pos, WALK_BAD
            orig = _u32x(b, pos + 8, big)
            incl = blen - 16
            if orig < incl:
                incl = orig
            iface = 0
            ts = np.int64(-1)
            data = pos + 12
        else:
            if blen < 32:
                return n, pos, WALK_BAD
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
                return n, pos, WALK_BAD
            if iface >= if_count or if_ups[iface] == 0:
                return n, pos, WALK_BAD
            raw = (hi << 32) | lo
            ups = if_ups[iface]
            ts = (raw // ups) * 1000000 + ((raw % ups) * 1000000) // ups + if_offset_us[iface]
        out_off[n] = pos
        out_data[n] = data
        out_caplen[n] = incl
        out_wirelen[n] = orig
        out_ts[n] = ts
        out_if[n] = iface
        n += 1
        pos += blen
