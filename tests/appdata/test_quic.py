"""QUIC Initial SNI (forensics.appdata.quic) against tshark, which decrypts Initials itself: the corpus's one
QUIC capture (draft-29, PPP link) and generated QUIC v1 Initials whose ClientHello spans two packets, CRYPTO
frames out of order. We report the hello at the Initial where it starts (tshark: where it completes), as for
TLS over TCP."""

from __future__ import annotations

import hmac
import random
import shutil
import struct
import subprocess

import pytest
from builders import eth, ipv4, pcap_file, udp
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from forensics.appdata import Candidate, extract, quic, tls
from forensics.ingest import ImportOptions, import_paths
from tests.conftest import CORPUS

NAME = b"quic-split.example.org"


def _tshark(path, fields: list[str]) -> list[list[str]]:
    assert shutil.which("tshark"), "tshark is a test oracle: .ci/run installs it"
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "quic && tls.handshake.type == 1", "-T", "fields",
                          *[x for f in fields for x in ("-e", f)]], capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_corpus_quic_sni_equals_tshark(case):
    path = CORPUS / "files" / "nDPI/dlt_ppp.pcap"
    import_paths(case, [str(path)], ImportOptions(workers=1))
    theirs = _tshark(path, ["frame.number", "tls.handshake.extensions_server_name", "tls.handshake.ja3"])
    ours = case.con.execute("SELECT frame, sni, ja3_md5 FROM tls").fetchall()
    assert theirs and ours == [(int(f), sni, ja3) for f, sni, ja3 in theirs]
    assert case.con.execute("SELECT ja4[1] FROM tls").fetchone() == ("q",)


def _client_hello() -> bytes:
    sni = struct.pack("!HBH", len(NAME) + 3, 0, len(NAME)) + NAME
    alpn = struct.pack("!HB", 3, 2) + b"h3"
    exts = (struct.pack("!HH", 0, len(sni)) + sni + struct.pack("!HH", 16, len(alpn)) + alpn
            + struct.pack("!HHBH", 43, 3, 2, 0x0304) + struct.pack("!HH", 0x15, 700) + bytes(700))
    body = struct.pack("!H", 0x0303) + bytes(32) + b"\x00" + struct.pack("!HHH", 4, 0x1301, 0x1302) + b"\x01\x00" \
        + struct.pack("!H", len(exts)) + exts
    return b"\x01" + len(body).to_bytes(3, "big") + body


def _initial(dcid: bytes, pn: int, frames: bytes) -> bytes:
    """A protected QUIC v1 client Initial (RFC 9001 5), padded to 1200 bytes."""
    secret = quic._expand_label(hmac.new(quic.SALTS[1], dcid, "sha256").digest(), b"client in", 32)
    key, iv, hp = (quic._expand_label(secret, b"quic key", 16), quic._expand_label(secret, b"quic iv", 12),
                   quic._expand_label(secret, b"quic hp", 16))
    head_len = 1 + 4 + 1 + len(dcid) + 1 + 1 + 2 + 4
    plain = frames + bytes(1200 - head_len - len(frames) - 16)
    header = bytes([0xC3]) + struct.pack("!I", 1) + bytes([len(dcid)]) + dcid + b"\x00\x00" \
        + struct.pack("!H", 0x4000 | (4 + len(plain) + 16)) + struct.pack("!I", pn)
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big"), strict=True))
    sealed = AESGCM(key).encrypt(nonce, plain, header)
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()  # noqa: S305 - RFC 9001 header protection
    mask = enc.update(sealed[:16]) + enc.finalize()
    pn_at = len(header) - 4
    protected = bytes([header[0] ^ (mask[0] & 0x0F)]) + header[1:pn_at] + bytes(
        a ^ b for a, b in zip(header[pn_at:], mask[1:5], strict=True))
    return protected + sealed


def _crypto(offset: int, data: bytes) -> bytes:
    return b"\x06" + struct.pack("!IH", 0x80000000 | offset, 0x4000 | len(data)) + data


def test_split_v1_hello_joined_as_tshark_reads_it(case, tmp_path):
    hello = _client_hello()
    cut = 600
    dcid = bytes(range(1, 9))
    a, b = "10.0.0.1", "10.0.0.2"
    packets = [_initial(dcid, 0, _crypto(cut, hello[cut:])), _initial(dcid, 1, _crypto(0, hello[:cut]))]
    frames = [eth(0x0800, ipv4(a, b, 17, udp(50000, 443, p))) for p in packets]
    pcap = tmp_path / "quic.pcap"
    pcap.write_bytes(pcap_file([(1.0 + k / 10, f) for k, f in enumerate(frames)]))
    assert import_paths(case, [str(pcap)], ImportOptions(workers=1)).exit_code == 0
    assert case.con.execute("SELECT frame, sni, alpn FROM tls").fetchall() == [(1, NAME.decode(), ["h3"])]
    assert [row[1] for row in _tshark(pcap, ["frame.number", "tls.handshake.extensions_server_name"])] \
        == [NAME.decode()]
    with pytest.raises(tls.Cut):  # one half alone: cut, never a row
        quic.client_hello([packets[0]])
    assert case.con.execute("SELECT malformed FROM appdata_counts WHERE table_name = 'tls'").fetchone() == (0,)


def test_fuzzed_initials_never_raise():
    hello = _client_hello()
    packet = _initial(bytes(8), 0, _crypto(0, hello))
    rnd = random.Random(9001)
    rows = 0
    for _ in range(300):
        b = bytearray(packet)
        for _ in range(rnd.randint(1, 3)):
            b[rnd.randrange(64 if rnd.random() < 0.7 else len(b))] = rnd.randrange(256)
        got = extract([Candidate(1, 17, 50000, 443, bytes(b)[:rnd.choice([len(b), rnd.randrange(len(b))])])])
        rows += len(got.tables["tls"])
        assert sum(len(t) for t in got.tables.values()) + sum(got.malformed.values()) <= 1
    assert rows < 300  # damage to the protected bytes fails the AEAD tag: no row
