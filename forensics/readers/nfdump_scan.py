"""`nfdump -o json` output scanned by compiled code: a slice of whole records into columns, or "not regular".

nfdump prints each record as an object of "key" : value pairs, values being numbers and plain strings.
scan() reads a slice of such records (the array's brackets and the commas between objects skipped) and
fills preallocated columns for the keys forensics.readers.nfcapd.nfdump_json_record reads, converting
what it can on the spot: non-negative integers, start and end times ("YYYY-MM-DD[T ]HH:MM:SS[.fff|.ffffff]",
UTC), TCP flag letters, dotted-quad IPv4 addresses. Other address text (IPv6) is left as a span of the
slice for Python. Keys it does not read are skipped whatever their JSON value.

Anything else in a record (a string with an escape or a control character, a nested value; for a key it
reads: a negative number, a fraction or exponent, true/false/null, a time of another form; no start time)
or a slice that is not objects as above makes scan() say NOT_REGULAR: the caller then reads that slice record by
record with json.loads (the slower path decides what such a record is).
"""

from __future__ import annotations

import numpy as np

from forensics.jit import njit

# What scan() fills for each key (forensics.readers.nfcapd_columns names the columns).
INT_KEYS = ["export_sysid", "in_packets", "in_bytes", "proto", "src_port", "dst_port", "src_tos", "input_snmp",
            "output_snmp", "src_as", "dst_as", "direction", "src_vlan", "icmp_type", "icmp_code"]
TIME_KEYS = ["first", "last"]
ADDRESS_KEYS = ["src4_addr", "src6_addr", "dst4_addr", "dst6_addr", "ip4_next_hop", "ip6_next_hop",
                "ip4_router", "ip6_router"]
FLAGS_KEY = "tcp_flags"
K_INT, K_TIME, K_FLAGS, K_ADDR = 0, 1, 2, 3

# Address states
A_ABSENT, A_V4, A_TEXT, A_EMPTY = 0, 1, 2, 3
REGULAR, NOT_REGULAR = 0, 1
_MAX_INT = 1 << 62  # a larger count goes the slower way (Python's integers)


def _key_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    keys = [(k, K_INT, i) for i, k in enumerate(INT_KEYS)] + [(k, K_TIME, i) for i, k in enumerate(TIME_KEYS)] \
        + [(k, K_ADDR, i) for i, k in enumerate(ADDRESS_KEYS)] + [(FLAGS_KEY, K_FLAGS, 0)]
    text = b"".join(k.encode() for k, _, _ in keys)
    starts = np.cumsum([0] + [len(k) for k, _, _ in keys]).astype(np.int64)
    return (np.frombuffer(text, np.uint8).copy(), starts, np.array([kind for _, kind, _ in keys], np.int64),
            np.array([slot for _, _, slot in keys], np.int64))


KEY_TEXT, KEY_STARTS, KEY_KIND, KEY_SLOT = _key_table()


def _key_hash(word: bytes) -> int:
    h = 0
    for c in word:
        h = (h * 31 + c) & 0xFFFF
    return h


def _key_index() -> np.ndarray:
    """_key_hash(key) -> the key's number (-1: none); the scan then compares the bytes."""
    index = np.full(1 << 16, -1, np.int16)
    for k in range(len(KEY_STARTS) - 1):
        h = _key_hash(KEY_TEXT[KEY_STARTS[k]:KEY_STARTS[k + 1]].tobytes())
        assert index[h] == -1, "two keys of one hash"
        index[h] = k
    return index


KEY_INDEX = _key_index()
_TRUE, _FALSE, _NULL = (np.frombuffer(w, np.uint8).copy() for w in (b"true", b"false", b"null"))
# the TCP flag of each ASCII letter nfdump prints, either case (textflows.tcp_flag_letters); 0 for the rest
_FLAG_BITS = np.zeros(128, np.int64)
for _letter, _bit in zip("FSRPAUEC", (1, 2, 4, 8, 16, 32, 64, 128), strict=True):
    _FLAG_BITS[ord(_letter)] = _FLAG_BITS[ord(_letter.lower())] = _bit


@njit(cache=True, nogil=True, inline="always")
def _ws(buf: np.ndarray, i: int, n: int) -> int:
    while i < n and (buf[i] == 32 or buf[i] == 9 or buf[i] == 10 or buf[i] == 13):
        i += 1
    return i


@njit(cache=True, nogil=True, inline="always")
def _find_key(buf: np.ndarray, s: int, e: int, h: int, text: np.ndarray, starts: np.ndarray,
              index: np.ndarray) -> int:
    """The number of the key buf[s:e] (its _key_hash `h`), -1 for a key not read."""
    k = index[h]
    if k < 0 or starts[k + 1] - starts[k] != e - s:
        return -1
    at = starts[k]
    for j in range(e - s):
        if buf[s + j] != text[at + j]:
            return -1
    return k


@njit(cache=True, nogil=True)
def _literal(buf: np.ndarray, i: int, n: int, word: np.ndarray) -> int:
    if i + len(word) > n:
        return -1
    for j in range(len(word)):
        if buf[i + j] != word[j]:
            return -1
    return i + len(word)


@njit(cache=True, nogil=True)
def _skip_value(buf: np.ndarray, i: int, n: int) -> int:
    """The position after the JSON scalar at i: a string without escapes or control characters, a number, true,
    false or null; -1 for anything else (a nested value too: the slower path reads it)."""
    c = buf[i]
    if c == 34:
        i += 1
        while i < n and buf[i] != 34:
            if buf[i] == 92 or buf[i] < 32:
                return -1
            i += 1
        return i + 1 if i < n else -1
    if c == 45 or 48 <= c <= 57:  # -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
        if c == 45:
            i += 1
        if i >= n or not 48 <= buf[i] <= 57:
            return -1
        if buf[i] == 48:
            i += 1
        else:
            while i < n and 48 <= buf[i] <= 57:
                i += 1
        if i < n and buf[i] == 46:
            i += 1
            if i >= n or not 48 <= buf[i] <= 57:
                return -1
            while i < n and 48 <= buf[i] <= 57:
                i += 1
        if i < n and (buf[i] == 101 or buf[i] == 69):
            i += 1
            if i < n and (buf[i] == 43 or buf[i] == 45):
                i += 1
            if i >= n or not 48 <= buf[i] <= 57:
                return -1
            while i < n and 48 <= buf[i] <= 57:
                i += 1
        return i
    if c == 116:
        return _literal(buf, i, n, _TRUE)
    if c == 102:
        return _literal(buf, i, n, _FALSE)
    if c == 110:
        return _literal(buf, i, n, _NULL)
    return -1


@njit(cache=True, nogil=True)
def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True)
def _digits(buf: np.ndarray, s: int, count: int) -> int:
    v = 0
    for j in range(count):
        c = buf[s + j]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + (c - 48)
    return v


@njit(cache=True, nogil=True)
def _time_us(buf: np.ndarray, s: int, e: int) -> tuple[bool, int]:
    """'YYYY-MM-DD[T ]HH:MM:SS[.fff|.ffffff]' as unix microseconds (the form datetime.fromisoformat reads)."""
    length = e - s
    if length != 19 and length != 23 and length != 26:
        return False, 0
    if buf[s + 4] != 45 or buf[s + 7] != 45 or (buf[s + 10] != 84 and buf[s + 10] != 32) or buf[s + 13] != 58 \
            or buf[s + 16] != 58:
        return False, 0
    y, mo, d = _digits(buf, s, 4), _digits(buf, s + 5, 2), _digits(buf, s + 8, 2)
    h, mi, sec = _digits(buf, s + 11, 2), _digits(buf, s + 14, 2), _digits(buf, s + 17, 2)
    if y < 1 or mo < 1 or mo > 12 or d < 1 or h < 0 or h > 23 or mi < 0 or mi > 59 or sec < 0 or sec > 59:
        return False, 0
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    month_days = 29 if mo == 2 and leap else (28 if mo == 2 else (30 if mo in (4, 6, 9, 11) else 31))
    if d > month_days:
        return False, 0
    frac = 0
    if length > 19:
        if buf[s + 19] != 46:
            return False, 0
        frac = _digits(buf, s + 20, length - 20)
        if frac < 0:
            return False, 0
        if length == 23:
            frac *= 1000
    return True, ((_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60_000_000 + sec * 1_000_000 + frac


@njit(cache=True, nogil=True)
def _ipv4(buf: np.ndarray, s: int, e: int) -> int:
    """A dotted quad as ipaddress reads it (no leading zeros), as its 32-bit value; -1 otherwise."""
    value, parts, i = 0, 0, s
    while i < e:
        j = i
        octet = 0
        while j < e and 48 <= buf[j] <= 57 and j - i < 3:
            octet = octet * 10 + (buf[j] - 48)
            j += 1
        if j == i or octet > 255 or (j - i > 1 and buf[i] == 48):
            return -1
        value = value * 256 + octet
        parts += 1
        if j == e:
            break
        if buf[j] != 46 or parts == 4:
            return -1
        i = j + 1
        if i == e:
            return -1
    return value if parts == 4 else -1


@njit(cache=True, nogil=True)
def _flag_bits(buf: np.ndarray, s: int, e: int) -> int:
    """textflows.tcp_flag_letters over ASCII text; -1 for text with a non-ASCII byte."""
    bits = 0
    for j in range(s, e):
        if buf[j] >= 128:
            return -1
        bits += _FLAG_BITS[buf[j]]
    return bits


@njit(cache=True, nogil=True)
def scan(buf: np.ndarray, text: np.ndarray, starts: np.ndarray, index: np.ndarray, kinds: np.ndarray, slots: np.ndarray,
         ints: np.ndarray, has_int: np.ndarray, times: np.ndarray, has_time: np.ndarray, flags: np.ndarray,
         has_flags: np.ndarray, addr: np.ndarray, addr_state: np.ndarray, addr_start: np.ndarray,
         addr_end: np.ndarray) -> tuple[int, int]:
    """Fill the columns (one column a record, zeroed and False by the caller) from the records in `buf`.
    Returns (records, REGULAR) or (records so far, NOT_REGULAR)."""
    n = len(buf)
    cap = ints.shape[1]
    r = 0
    i = 0
    while True:
        while i < n and (buf[i] == 32 or buf[i] == 9 or buf[i] == 10 or buf[i] == 13 or buf[i] == 44
                         or buf[i] == 91 or buf[i] == 93):
            i += 1
        if i >= n:
            return r, REGULAR
        if buf[i] != 123 or r >= cap:
            return r, NOT_REGULAR
        i = _ws(buf, i + 1, n)
        if i < n and buf[i] == 125:
            return r, NOT_REGULAR  # {}: no start time
        while True:
            if i >= n or buf[i] != 34:
                return r, NOT_REGULAR
            ks = i + 1
            i = ks
            h = 0
            while i < n and buf[i] != 34:
                if buf[i] == 92 or buf[i] < 32:
                    return r, NOT_REGULAR
                h = (h * 31 + buf[i]) & 0xFFFF
                i += 1
            if i >= n:
                return r, NOT_REGULAR
            k = _find_key(buf, ks, i, h, text, starts, index)
            i = _ws(buf, i + 1, n)
            if i >= n or buf[i] != 58:
                return r, NOT_REGULAR
            i = _ws(buf, i + 1, n)
            if i >= n:
                return r, NOT_REGULAR
            if k < 0:  # a key not read: any value
                i = _skip_value(buf, i, n)
                if i < 0:
                    return r, NOT_REGULAR
            elif kinds[k] == K_INT:
                c = buf[i]
                if c < 48 or c > 57 or (c == 48 and i + 1 < n and 48 <= buf[i + 1] <= 57):
                    return r, NOT_REGULAR
                v = 0
                while i < n and 48 <= buf[i] <= 57:
                    v = v * 10 + (buf[i] - 48)
                    if v >= _MAX_INT:
                        return r, NOT_REGULAR
                    i += 1
                if i < n and (buf[i] == 46 or buf[i] == 101 or buf[i] == 69):
                    return r, NOT_REGULAR
                ints[slots[k], r] = v
                has_int[slots[k], r] = True
            else:  # a string
                if buf[i] != 34:
                    return r, NOT_REGULAR
                s = i + 1
                i = s
                while i < n and buf[i] != 34:
                    if buf[i] == 92 or buf[i] < 32:
                        return r, NOT_REGULAR
                    i += 1
                if i >= n:
                    return r, NOT_REGULAR
                e = i
                i += 1
                kind = kinds[k]
                if kind == K_TIME:
                    ok, us = _time_us(buf, s, e)
                    if not ok:
                        return r, NOT_REGULAR
                    times[slots[k], r] = us
                    has_time[slots[k], r] = True
                elif kind == K_FLAGS:
                    bits = _flag_bits(buf, s, e)
                    if bits < 0:
                        return r, NOT_REGULAR
                    flags[r] = bits
                    has_flags[r] = True
                else:
                    slot = slots[k]
                    addr_start[slot, r] = s
                    addr_end[slot, r] = e
                    if e == s:
                        addr_state[slot, r] = A_EMPTY
                    else:
                        v4 = _ipv4(buf, s, e)
                        if v4 >= 0:
                            addr[slot, r] = v4
                            addr_state[slot, r] = A_V4
                        else:
                            addr_state[slot, r] = A_TEXT
            i = _ws(buf, i, n)
            if i >= n:
                return r, NOT_REGULAR
            if buf[i] == 44:
                i = _ws(buf, i + 1, n)
                continue
            if buf[i] == 125:
                i += 1
                break
            return r, NOT_REGULAR
        if not has_time[0, r]:
            return r, NOT_REGULAR  # no start time: the slower path calls it invalid
        r += 1


def record_bound(block: bytes) -> int:
    """At most this many records in `block` (each opens with "{")."""
    return block.count(b"{")


__all__ = ["ADDRESS_KEYS", "INT_KEYS", "NOT_REGULAR", "REGULAR", "TIME_KEYS", "record_bound", "scan"]
