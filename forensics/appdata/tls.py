"""TLS ClientHello and ServerHello (RFC 8446 / 5246): SNI, versions, ALPN, cipher suites, JA3, JA3S, JA4.

JA3 (salesforce/ja3): "SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats" in
decimal, values dash-joined, GREASE values (RFC 8701, 0x?a?a) removed, and its MD5 - as tshark's
tls.handshake.ja3 (tested against it). JA3S: "SSLVersion,Cipher,Extensions" and its MD5.
JA4 (FoxIO JA4 technical details, TCP 't' only): protocol, highest supported version, SNI d/i, counts of
ciphers and extensions (GREASE excluded), first ALPN's first and last character, then the first 12 hex
digits of SHA-256 of the sorted cipher list and of the sorted extensions (without SNI and ALPN)
followed by '_' and the signature algorithms in their order.

A hello whose handshake runs past the bytes given (a ClientHello split over TCP segments that the
caller could not join) raises Cut, which the caller does not count as malformed.
"""

from __future__ import annotations

import hashlib

from forensics.appdata.wire import Malformed, u16


class Cut(Malformed):
    """The hello continues past the bytes given."""


def is_grease(v: int) -> bool:
    """RFC 8701 GREASE value (0x0a0a, 0x1a1a, ... 0xfafa)."""
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


def looks_like(data: bytes) -> bool:
    """A TLS handshake record carrying a ClientHello (1) or ServerHello (2)."""
    return len(data) >= 6 and data[0] == 0x16 and data[1] == 3 and data[2] <= 4 and data[5] in (1, 2)


def record_length(data: bytes) -> int:
    """Bytes the first record announces, header included."""
    return 5 + u16(data, 3)


def _u16s(data: bytes, i: int, n: int) -> list[int]:
    if n % 2:
        raise Malformed(f"odd list length at byte {i}")
    return [u16(data, i + k) for k in range(0, n, 2)]


VERSION_JA4 = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
               0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}


def parse(data: bytes) -> dict:
    """The hello in the first handshake record of `data` (record header included)."""
    if not looks_like(data):
        raise Malformed("not a TLS hello record")
    hs_len = int.from_bytes(data[6:9], "big")
    end = 9 + hs_len
    if len(data) < 9 or end > len(data):
        raise Cut(f"handshake of {hs_len} bytes, {len(data) - 9} present")
    kind = data[5]
    version = u16(data, 9)
    i = 9 + 2 + 32
    if i >= end:
        raise Malformed("hello cut before the session id")
    i += 1 + data[i]
    row: dict = {"handshake": "client_hello" if kind == 1 else "server_hello", "record_version": u16(data, 1),
                 "version": version, "sni": None, "alpn": None, "supported_versions": None,
                 "cipher_suites": None, "extensions": [], "groups": None, "cipher": None,
                 "selected_version": None, "ja3": None, "ja3_md5": None, "ja4": None}
    if kind == 1:
        n = u16(data, i)
        ciphers = _u16s(data, i + 2, n)
        i += 2 + n
        if i >= end:
            raise Malformed("hello cut before compression methods")
        i += 1 + data[i]
    else:
        row["cipher"] = u16(data, i)
        i += 3
    curves: list[int] = []
    formats: list[int] = []
    sigalgs: list[int] = []
    if i + 2 <= end:
        ext_end = i + 2 + u16(data, i)
        if ext_end > end:
            raise Malformed(f"extensions run past the hello at byte {i}")
        i += 2
        while i + 4 <= ext_end:
            etype, elen = u16(data, i), u16(data, i + 2)
            body = i + 4
            i = body + elen
            if i > ext_end:
                raise Malformed(f"extension {etype} runs past the extensions at byte {body}")
            row["extensions"].append(etype)
            if etype == 0 and kind == 1 and elen >= 5 and data[body + 2] == 0:
                row["sni"] = data[body + 5:body + 5 + u16(data, body + 3)].decode("latin-1")
            elif etype == 16 and elen >= 2:
                protos, j, stop = [], body + 2, body + 2 + u16(data, body)
                while j < min(stop, i):
                    protos.append(data[j + 1:j + 1 + data[j]].decode("latin-1"))
                    j += 1 + data[j]
                row["alpn"] = protos
            elif etype == 43:
                if kind == 1 and elen >= 1:
                    row["supported_versions"] = _u16s(data, body + 1, data[body])
                elif kind == 2 and elen == 2:
                    row["selected_version"] = u16(data, body)
            elif etype == 10 and elen >= 2:
                curves = _u16s(data, body + 2, u16(data, body))
            elif etype == 11 and elen >= 1:
                formats = list(data[body + 1:body + 1 + data[body]])
            elif etype == 13 and elen >= 2:
                sigalgs = _u16s(data, body + 2, u16(data, body))
    exts = [e for e in row["extensions"] if not is_grease(e)]
    if kind == 1:
        ciphers_ng = [c for c in ciphers if not is_grease(c)]
        row["cipher_suites"] = ciphers
        row["groups"] = curves
        ja3 = ",".join([str(version), "-".join(map(str, ciphers_ng)), "-".join(map(str, exts)),
                        "-".join(str(c) for c in curves if not is_grease(c)), "-".join(map(str, formats))])
        row["ja4"] = ja4(version, row["supported_versions"], row["sni"] is not None, ciphers_ng, exts,
                         row["alpn"], sigalgs)
    else:
        ja3 = ",".join([str(version), str(row["cipher"]), "-".join(map(str, exts))])
    row["ja3"] = ja3
    row["ja3_md5"] = hashlib.md5(ja3.encode()).hexdigest()
    return row


def _alpn_chars(alpn: list[str] | None) -> str:
    if not alpn or not alpn[0]:
        return "00"
    first = alpn[0]
    a, b = first[0], first[-1]
    if a.isascii() and a.isalnum() and b.isascii() and b.isalnum():
        return a + b
    h = first.encode("latin-1").hex()
    return h[0] + h[-1]


def _hash12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "000000000000"


def ja4(version: int, supported: list[int] | None, has_sni: bool, ciphers: list[int], exts: list[int],
        alpn: list[str] | None, sigalgs: list[int]) -> str:
    """JA4 of a TCP ClientHello (GREASE already removed from ciphers and exts)."""
    versions = [v for v in (supported or []) if not is_grease(v)]
    top = max(versions) if versions else version
    a = f"t{VERSION_JA4.get(top, '00')}{'d' if has_sni else 'i'}{min(len(ciphers), 99):02d}" \
        f"{min(len(exts), 99):02d}{_alpn_chars(alpn)}"
    b = _hash12(",".join(f"{c:04x}" for c in sorted(ciphers)))
    ext_text = ",".join(f"{e:04x}" for e in sorted(e for e in exts if e not in (0, 16)))
    sig = [s for s in sigalgs if not is_grease(s)]
    if sig:
        ext_text += "_" + ",".join(f"{s:04x}" for s in sig)
    c = _hash12(ext_text) if exts else "000000000000"
    return f"{a}_{b}_{c}"
