"""QUIC Initial packets from the client: the TLS ClientHello inside (RFC 9000/9001), for its SNI, ALPN and JA4.

A client's Initial packets are protected with keys anyone can derive from the packet itself (RFC 9001 5.2):
initial_secret = HKDF-Extract(version salt, Destination Connection ID), client secret = HKDF-Expand-Label(
initial_secret, "client in"), then the AEAD key, IV and header protection key ("quic key", "quic iv", "quic hp").
Header protection is removed with AES-128-ECB over a 16-byte sample, the payload opened with AES-128-GCM
(the `cryptography` package). CRYPTO frames are put back in offset order (clients may send them out of order,
and split a large ClientHello over several Initials: the next Initials of the 5-tuple are joined, up to
MAX_JOIN). The ClientHello then goes through forensics.appdata.tls with a 'q' JA4 prefix.

Versions read: 1 (RFC 9000) and draft-29 (0xff00001d), the same labels with their own salts. A server's
Initial (keyed on the client's original connection id, not in the packet) and any packet whose payload does
not open are not rows and not malformed (they need not be client Initials at all).
"""

from __future__ import annotations

import hashlib
import hmac

from forensics.appdata import tls
from forensics.appdata.wire import Malformed

PORT = 443
SALTS = {0x00000001: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
         0xFF00001D: bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899")}
MAX_JOIN = 3


def looks_like(data: bytes) -> bool:
    """A long-header Initial packet of a version read here, at least as long as its header and sample."""
    return len(data) >= 64 and data[0] & 0xF0 == 0xC0 and int.from_bytes(data[1:5], "big") in SALTS


def _expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    out, block, k = b"", b"", 1
    while len(out) < length:  # HKDF-Expand (RFC 5869) with SHA-256
        block = hmac.new(secret, block + info + bytes([k]), hashlib.sha256).digest()
        out += block
        k += 1
    return out[:length]


def _varint(data: bytes, i: int) -> tuple[int, int]:
    if i >= len(data):
        raise Malformed(f"variable-length integer cut at byte {i}")
    n = 1 << (data[i] >> 6)
    if i + n > len(data):
        raise Malformed(f"variable-length integer cut at byte {i}")
    return int.from_bytes(bytes([data[i] & 0x3F]) + data[i + 1:i + n], "big"), i + n


def crypto_frames(data: bytes) -> list[tuple[int, bytes]] | None:
    """(offset, data) of the CRYPTO frames in a client Initial; None when its payload does not open with the
    client's initial keys (a server Initial, or not QUIC)."""
    version = int.from_bytes(data[1:5], "big")
    i = 5
    dcid = data[i + 1:i + 1 + data[i]]
    i += 1 + data[i]
    if i >= len(data):
        raise Malformed("long header cut")
    i += 1 + data[i]
    token, i = _varint(data, i)
    length, pn_at = _varint(data, i + token)
    if pn_at + length > len(data) or length < 20 or pn_at + 20 > len(data):
        raise Malformed(f"Initial of {length} bytes, {len(data) - pn_at} present")
    # imported here, at the first Initial read: cryptography costs every import ~25-80 ms to load otherwise
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    initial = hmac.new(SALTS[version], dcid, hashlib.sha256).digest()
    secret = _expand_label(initial, b"client in", 32)
    key, iv, hp = (_expand_label(secret, b"quic key", 16), _expand_label(secret, b"quic iv", 12),
                   _expand_label(secret, b"quic hp", 16))
    encryptor = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()  # noqa: S305 - RFC 9001 5.4.3 uses AES-ECB
    mask = encryptor.update(data[pn_at + 4:pn_at + 20]) + encryptor.finalize()
    first = data[0] ^ (mask[0] & 0x0F)
    n = (first & 3) + 1
    pn = bytes(a ^ b for a, b in zip(data[pn_at:pn_at + n], mask[1:1 + n], strict=True))
    nonce = bytes(a ^ b for a, b in zip(iv, pn.rjust(12, b"\0"), strict=True))
    try:
        plain = AESGCM(key).decrypt(nonce, data[pn_at + n:pn_at + length], bytes([first]) + data[1:pn_at] + pn)
    except InvalidTag:
        return None
    frames, i = [], 0
    while i < len(plain):
        kind = plain[i]
        if kind in (0x00, 0x01):  # PADDING, PING
            i += 1
        elif kind == 0x06:  # CRYPTO
            offset, i = _varint(plain, i + 1)
            size, i = _varint(plain, i)
            frames.append((offset, plain[i:i + size]))
            i += size
        elif kind in (0x02, 0x03):  # ACK: largest, delay, range count, first range, ranges (and ECN counts)
            _, i = _varint(plain, i + 1)
            _, i = _varint(plain, i)
            count, i = _varint(plain, i)
            _, i = _varint(plain, i)
            for _ in range(2 * count + (3 if kind == 0x03 else 0)):
                _, i = _varint(plain, i)
        else:
            break  # CONNECTION_CLOSE or anything else an Initial may hold: the CRYPTO frames came first
    return frames


def client_hello(packets: list[bytes]) -> dict | None:
    """The ClientHello carried by a client's first Initial packets (in order), as tls.parse's row with a QUIC JA4;
    None when the first does not open. tls.Cut when the hello runs past the CRYPTO data of all of them."""
    pieces: dict[int, bytes] = {}
    for k, packet in enumerate(packets):
        frames = crypto_frames(packet) if looks_like(packet) else None
        if frames is None:
            if k == 0:
                return None
            continue
        for offset, chunk in frames:
            pieces.setdefault(offset, chunk)
        stream, at = b"", 0
        while at in pieces:
            stream += pieces[at]
            at = len(stream)
        if len(stream) >= 4 and stream[0] == 1 and len(stream) >= 4 + int.from_bytes(stream[1:4], "big"):
            hello = stream[:4 + int.from_bytes(stream[1:4], "big")]
            row = tls.parse(b"\x16\x03\x01" + len(hello).to_bytes(2, "big") + hello)
            row["ja4"] = "q" + row["ja4"][1:] if row["ja4"] else None
            return row
    raise tls.Cut("ClientHello continues past the Initials read")
