"""JA3 and JA4 of a ClientHello built from a published fingerprint record (a browser's hello as a public
TLS-fingerprint service reported it: ja4 t13d1516h2_8daaf6152771_d8a2da3f94cd, ja3 98487aa16281980e7d1120d399efb6a4,
with the raw lists in their original order, ja4_ro). GREASE values are added to check they are ignored."""

from __future__ import annotations

import struct

from forensics.appdata.tls import parse

CIPHERS = [0x0A0A] + [int(x, 16) for x in "1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035"
                      .split(",")]
EXTENSIONS = [0x1A1A] + [int(x, 16) for x in "002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,ff01,0023,0012,0005,"
                         "000d,001b".split(",")]
SIGALGS = [int(x, 16) for x in "0403,0804,0401,0503,0805,0501,0806,0601".split(",")]
GROUPS = [0x2A2A, 4588, 29, 23, 24]


def _u16list(values: list[int]) -> bytes:
    return struct.pack(f"!H{len(values)}H", 2 * len(values), *values)


def _body(ext: int) -> bytes:
    if ext == 0x0000:
        name = b"tls.browserleaks.com"
        return struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    if ext == 0x0010:
        return struct.pack("!HB", 3, 2) + b"h2"
    if ext == 0x002B:
        return bytes([4]) + struct.pack("!HH", 0x0304, 0x0303)
    if ext == 0x000A:
        return _u16list(GROUPS)
    if ext == 0x000B:
        return b"\x01\x00"
    if ext == 0x000D:
        return _u16list(SIGALGS)
    return b""


def _client_hello() -> bytes:
    exts = b"".join(struct.pack("!HH", e, len(_body(e))) + _body(e) for e in EXTENSIONS)
    body = struct.pack("!H", 0x0303) + bytes(32) + b"\x00" + _u16list(CIPHERS) + b"\x01\x00" \
        + struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def test_ja3_and_ja4_equal_the_published_values():
    row = parse(_client_hello())
    assert row["sni"] == "tls.browserleaks.com" and row["alpn"] == ["h2"]
    assert row["ja4"] == "t13d1516h2_8daaf6152771_d8a2da3f94cd"
    assert row["ja3_md5"] == "98487aa16281980e7d1120d399efb6a4"
