"""Compiled fast path for the regular DNS and NTP messages over UDP: many payloads at once, straight to Arrow.

`dns.parse` and `ntp.parse` read one payload each in Python (~6 us a message). Most messages on a network
are regular: one question whose name is plain ASCII labels, answers that point back at it (0xc00c) with A,
AAAA or an opaque record. `dns_rows` and `ntp_rows` read those in numba, over the payload spans
(first, end) in a byte buffer (the capture file, mapped), and return a status per payload:

- OK: read here; its row is in the returned columns.
- SLOW: anything else (a compressed or non-ASCII question name, CNAME/PTR/MX/SRV/TXT answers, several
  questions, a cut or damaged message...): the caller hands it to the Python parser, which decides
  between a row and malformed. The fast path never decides malformed.
- SKIP: not this protocol (an empty payload; DNS on another port whose header fails `dns.plausible`).

The rows equal the Python parser's, column for column (tests/appdata/test_fastpath.py checks every
DNS/NTP payload of the corpus and of generated traffic both ways).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from forensics.jit import njit

OK, SLOW, SKIP = 0, 1, 2

_U16, _U32, _U64, _U8, _STR = pa.uint16(), pa.uint32(), pa.uint64(), pa.uint8(), pa.string()
ANSWER = pa.struct([("name", _STR), ("type", _U16), ("ttl", _U32), ("address_hi", _U64), ("address_lo", _U64),
                    ("data", _STR)])


@njit(cache=True, nogil=True)
def _u16(buf: np.ndarray, i: int) -> int:
    return (np.int64(buf[i]) << 8) | np.int64(buf[i + 1])


@njit(cache=True, nogil=True)
def _u32(buf: np.ndarray, i: int) -> int:
    return (_u16(buf, i) << 16) | _u16(buf, i + 2)


@njit(cache=True, nogil=True)
def _plausible(buf: np.ndarray, s: int, e: int) -> bool:
    """dns.plausible over buf[s:e]."""
    if e - s < 17:
        return False
    flags = _u16(buf, s + 2)
    return (_u16(buf, s + 4) == 1 and (flags >> 11) & 15 == 0 and _u16(buf, s + 6) < 64 and _u16(buf, s + 8) < 64
            and _u16(buf, s + 10) < 64 and flags & 0x40 == 0 and 0 < buf[s + 12] < 64)


@njit(cache=True, nogil=True)
def _dns(buf, lo, hi, need_plausible, status, header, qspan, qdata, aspan, atype, attl, ahi, alo, ahas):  # noqa: ANN001, ANN202
    qpos = 0
    apos = 0
    for r in range(len(lo)):
        s, e = lo[r], hi[r]
        status[r] = SLOW
        if e <= s or (need_plausible[r] and not _plausible(buf, s, e)):
            status[r] = SKIP
            continue
        if e - s < 12 or _u16(buf, s + 4) != 1:
            continue
        an = _u16(buf, s + 6)
        i = s + 12
        q0, a0 = qpos, apos
        total = 0
        ok = True
        while True:  # the question's name: plain labels, ASCII
            if i >= e:
                ok = False
                break
            n = np.int64(buf[i])
            if n == 0:
                i += 1
                break
            if n >= 64 or i + 1 + n > e:
                ok = False
                break
            total += n + 1
            if total > 255:
                ok = False
                break
            if qpos > q0:
                qdata[qpos] = 46
                qpos += 1
            for j in range(i + 1, i + 1 + n):
                b = buf[j]
                if b >= 128:
                    ok = False
                    break
                qdata[qpos] = b
                qpos += 1
            if not ok:
                break
            i += 1 + n
        if not ok or qpos == q0 or i + 4 > e:  # damaged, not ASCII, or the root: the Python parser's
            qpos = q0
            continue
        header[r, 6] = _u16(buf, i)
        header[r, 7] = _u16(buf, i + 2)
        i += 4
        for _ in range(an):
            if i + 12 > e or buf[i] != 0xC0 or buf[i + 1] != 12:
                ok = False
                break
            rtype = _u16(buf, i + 2)
            rdlen = _u16(buf, i + 10)
            start = i + 12
            i = start + rdlen
            if i > e or rtype in (2, 5, 12, 39, 15, 33, 16):  # cut, or an answer whose data is a name or text
                ok = False
                break
            atype[apos] = rtype
            attl[apos] = _u32(buf, start - 6)
            ahas[apos] = False
            if rtype == 1 and rdlen == 4:
                ahi[apos] = 0
                alo[apos] = (np.uint64(0xFFFF) << np.uint64(32)) | np.uint64(_u32(buf, start))
                ahas[apos] = True
            elif rtype == 28 and rdlen == 16:
                ahi[apos] = (np.uint64(_u32(buf, start)) << np.uint64(32)) | np.uint64(_u32(buf, start + 4))
                alo[apos] = (np.uint64(_u32(buf, start + 8)) << np.uint64(32)) | np.uint64(_u32(buf, start + 12))
                ahas[apos] = True
            apos += 1
        if not ok:
            qpos, apos = q0, a0
            continue
        for k in range(6):
            header[r, k] = _u16(buf, s + 2 * k)
        qspan[r, 0], qspan[r, 1] = q0, qpos
        aspan[r, 0], aspan[r, 1] = a0, apos
        status[r] = OK


@njit(cache=True, nogil=True)
def _ntp(buf, lo, hi, status, fields, tspan, tdata):  # noqa: ANN001, ANN202
    tpos = 0
    for r in range(len(lo)):
        s, e = lo[r], hi[r]
        status[r] = SLOW
        if e <= s:
            status[r] = SKIP
            continue
        mode = buf[s] & 7
        if mode == 6 or mode == 7 or e - s < 48:
            continue
        t0 = tpos
        stratum = buf[s + 1]
        if stratum <= 1:
            last = -1
            for k in range(4):
                if buf[s + 12 + k] != 0:
                    last = k
            ok = True
            for k in range(last + 1):
                b = buf[s + 12 + k]
                if b >= 128:
                    ok = False
                tdata[tpos] = b
                tpos += 1
            if not ok:
                tpos = t0
                continue
        else:
            for k in range(4):
                if k:
                    tdata[tpos] = 46
                    tpos += 1
                v = np.int64(buf[s + 12 + k])
                if v >= 100:
                    tdata[tpos] = 48 + v // 100
                    tpos += 1
                if v >= 10:
                    tdata[tpos] = 48 + (v // 10) % 10
                    tpos += 1
                tdata[tpos] = 48 + v % 10
                tpos += 1
        fields[r, 0] = buf[s]
        fields[r, 1] = stratum
        fields[r, 2] = buf[s + 2]
        fields[r, 3] = _u32(buf, s + 12)
        tspan[r, 0], tspan[r, 1] = t0, tpos
        status[r] = OK


def _strings(spans: np.ndarray, data: np.ndarray) -> pa.Array:
    """Strings whose UTF-8 bytes lie back to back in data[spans[0, 0]:spans[-1, 1]]."""
    if len(spans) == 0:
        return pa.array([], _STR)
    offsets = np.append(spans[:, 0], spans[-1, 1]).astype(np.int32)
    return pa.StringArray.from_buffers(len(spans), pa.py_buffer(offsets), pa.py_buffer(data))


def dns_rows(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray,
             need_plausible: np.ndarray) -> tuple[np.ndarray, dict[str, pa.Array]]:
    """(status per span, columns of the OK rows in span order: the dns table's parser columns and `answers`)."""
    n = len(lo)
    size = int(np.maximum(hi - lo, 0).sum())
    status = np.empty(n, np.int8)
    header = np.zeros((n, 8), np.int64)
    qspan = np.zeros((n, 2), np.int64)
    aspan = np.zeros((n, 2), np.int64)
    qdata = np.empty(size + 1, np.uint8)
    room = size // 12 + 1
    atype, attl = np.empty(room, np.int64), np.empty(room, np.int64)
    ahi, alo, ahas = np.empty(room, np.uint64), np.empty(room, np.uint64), np.empty(room, np.bool_)
    _dns(buf, lo.astype(np.int64), hi.astype(np.int64), need_plausible, status, header, qspan, qdata, aspan,
         atype, attl, ahi, alo, ahas)
    ok = status == OK
    h, qs, asp = header[ok], qspan[ok], aspan[ok]
    flags = h[:, 1]
    qname = _strings(qs, qdata)
    counts = asp[:, 1] - asp[:, 0]
    first = int(asp[0, 0]) if len(asp) else 0
    taken = slice(first, first + int(counts.sum()))
    has = ahas[taken]
    names = qname.take(pa.array(np.repeat(np.arange(len(qs)), counts)))
    values = pa.StructArray.from_arrays(
        [names, pa.array(atype[taken], _U16), pa.array(attl[taken], _U32), pa.array(ahi[taken], _U64, mask=~has),
         pa.array(alo[taken], _U64, mask=~has), pa.nulls(len(has), _STR)], fields=list(ANSWER))
    offsets = np.append(0, np.cumsum(counts)).astype(np.int32)
    return status, {
        "txid": pa.array(h[:, 0], _U16), "is_response": pa.array(flags & 0x8000 != 0),
        "opcode": pa.array((flags >> 11) & 15, _U8), "rcode": pa.array(flags & 15, _U8),
        "flags": pa.array(flags, _U16), "qdcount": pa.array(h[:, 2], _U16), "ancount": pa.array(h[:, 3], _U16),
        "nscount": pa.array(h[:, 4], _U16), "arcount": pa.array(h[:, 5], _U16), "qname": qname,
        "qtype": pa.array(h[:, 6], _U16), "qclass": pa.array(h[:, 7], _U16),
        "answers": pa.ListArray.from_arrays(pa.array(offsets), values),
    }


def ntp_rows(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, dict[str, pa.Array]]:
    """(status per span, columns of the OK rows in span order: the ntp table's parser columns)."""
    n = len(lo)
    status = np.empty(n, np.int8)
    fields = np.zeros((n, 4), np.int64)
    tspan = np.zeros((n, 2), np.int64)
    tdata = np.empty(16 * n + 1, np.uint8)
    _ntp(buf, lo.astype(np.int64), hi.astype(np.int64), status, fields, tspan, tdata)
    ok = status == OK
    f = fields[ok]
    poll = f[:, 2]
    return status, {
        "leap": pa.array(f[:, 0] >> 6, _U8), "version": pa.array((f[:, 0] >> 3) & 7, _U8),
        "mode": pa.array(f[:, 0] & 7, _U8), "stratum": pa.array(f[:, 1], _U8),
        "poll": pa.array(np.where(poll > 127, poll - 256, poll), pa.int8()),
        "reference_id": pa.array(f[:, 3], _U32), "reference_text": _strings(tspan[ok], tdata),
    }


@njit(cache=True, nogil=True)
def _prefixed(buf, lo, hi, prefixes, lengths, firsts, out):  # noqa: ANN001, ANN202
    for r in range(len(lo)):
        s, e = lo[r], hi[r]
        out[r] = False
        if e <= s or not firsts[buf[s]]:
            continue
        if e - s >= 6 and buf[s] == 0x16 and buf[s + 1] == 3 and buf[s + 2] <= 4 and (buf[s + 5] == 1
                                                                                       or buf[s + 5] == 2):
            out[r] = True
            continue
        if e - s >= 4 and 50 <= buf[s] <= 53 and 48 <= buf[s + 1] <= 57 and 48 <= buf[s + 2] <= 57 and (
                buf[s + 3] == 32 or buf[s + 3] == 45 or buf[s + 3] == 13):  # an SMTP reply: 2xx-5xx
            out[r] = True
            continue
        for p in range(len(lengths)):
            n = lengths[p]
            if e - s < n:
                continue
            same = True
            for j in range(n):
                if buf[s + j] != prefixes[p, j]:
                    same = False
                    break
            if same:
                out[r] = True
                break


def starts_like(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray, prefixes: tuple[bytes, ...]) -> np.ndarray:
    """Per span: does the payload start like a TLS Client/ServerHello record (tls.looks_like), an SMTP reply
    (a code 2xx-5xx then a space, hyphen or line end) or with one of `prefixes` (http.looks_like's request and
    status lines, SMTP commands)?"""
    width = max(len(p) for p in prefixes)
    table = np.zeros((len(prefixes), width), np.uint8)
    for k, p in enumerate(prefixes):
        table[k, :len(p)] = np.frombuffer(p, np.uint8)
    firsts = np.zeros(256, np.bool_)  # first bytes any of them starts with: the rest are decided at once
    firsts[[0x16, *b"2345", *(p[0] for p in prefixes)]] = True
    out = np.empty(len(lo), np.bool_)
    _prefixed(buf, lo.astype(np.int64), hi.astype(np.int64), table,
              np.array([len(p) for p in prefixes], np.int64), firsts, out)
    return out
