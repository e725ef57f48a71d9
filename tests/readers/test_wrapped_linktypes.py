"""Link types that wrap another frame: 802.11 behind a Prism (119) or AVS (163) header, and Apple's PKTAP (258)
around Ethernet, loopback or raw IP frames.

The captures are made here from corpus captures by putting each frame behind the wrapping header, as those
capture tools write them (Prism's msglen in the writer's byte order, AVS big-endian, PKTAP little-endian with its
108-byte header). Oracles: tshark's addresses, protocol and ports on the wrapped file, frame by frame, and the
same columns as the import of the original capture; the compiled decoder equals the per-packet one.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from forensics.ingest import import_paths
from forensics.readers.exact import decode_packet
from forensics.store import Case
from tests.conftest import CORPUS

pytestmark = pytest.mark.oracle

RADIOTAP = CORPUS / "files/zeek/radiotap.pcap"
ETHERNET = (CORPUS / "files/nDPI/dns_exfiltration.pcap", CORPUS / "files/zeek/ipv6-fragmented-dns.pcap")
LOOPBACK = CORPUS / "files/gopacket/test_loopback.pcap"
RAW = CORPUS / "files/nDPI/ocs.pcap"
COLUMNS = ("ip_version", "src_ip", "dst_ip", "ip_proto", "src_port", "dst_port", "malformed", "src_mac", "dst_mac")


def _records(path: Path) -> tuple[bytes, list[tuple[int, int, int, bytes]]]:
    """A little-endian pcap's header and its (seconds, microseconds, wire length, bytes) records."""
    data = path.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", path
    out, pos = [], 24
    while pos + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, pos)
        out.append((sec, usec, orig, data[pos + 16:pos + 16 + incl]))
        pos += 16 + incl
    return data[:24], out


def _write(path: Path, header: bytes, linktype: int, records: list[tuple[int, int, int, bytes]]) -> Path:
    head = bytearray(header)
    struct.pack_into("<I", head, 20, linktype)
    body = b"".join(struct.pack("<IIII", s, u, len(frame), wire) + frame for s, u, wire, frame in records)
    path.write_bytes(bytes(head) + body)
    return path


def _prism(big_endian: bool) -> bytes:
    """A Prism II header (144 bytes): msgcode, msglen, device name, ten items (did, status, len, data)."""
    order = ">" if big_endian else "<"
    head = bytearray(144)
    struct.pack_into(order + "II", head, 0, 0x44, 144)
    head[8:13] = b"wlan0"
    for i in range(10):
        struct.pack_into(order + "IHHI", head, 24 + 12 * i, 0x1044 + 0x1000 * i, 0, 4, i)
    return bytes(head)


def _avs() -> bytes:
    """An AVS capture header, version 1 (64 bytes, big-endian): magic, length, then the radio fields."""
    return struct.pack(">II", 0x80211001, 64) + bytes(range(56))


def _pktap(dlt: int, name: bytes = b"en0") -> bytes:
    """Apple's pktap_header (108 bytes, little-endian): length, type_next (1: a packet), DLT, interface name..."""
    head = bytearray(108)
    struct.pack_into("<III", head, 0, 108, 1, dlt)
    head[12:12 + len(name)] = name
    return bytes(head)


def _wrapped_802_11(tmp: Path) -> dict[str, tuple[Path, Path]]:
    header, records = _records(RADIOTAP)
    frames = [(s, u, w - (f[2] | f[3] << 8), f[f[2] | f[3] << 8:]) for s, u, w, f in records]  # radiotap off
    out = {}
    for name, linktype, lead in (("prism", 119, _prism(False)), ("prism-be", 119, _prism(True)),
                                 ("avs", 163, _avs()), ("prism-avs", 119, _avs())):
        wrapped = [(s, u, w + len(lead), lead + f) for s, u, w, f in frames]
        out[name] = (_write(tmp / f"{name}.pcap", header, linktype, wrapped), RADIOTAP)
    return out


def _wrapped_pktap(tmp: Path) -> dict[str, tuple[Path, Path]]:
    out = {}
    for name, src, dlt in (("pktap-ether", ETHERNET[0], 1), ("pktap-ether6", ETHERNET[1], 1),
                           ("pktap-null", LOOPBACK, 0), ("pktap-raw", RAW, 12)):
        header, records = _records(src)
        lead = _pktap(dlt)
        wrapped = [(s, u, w + len(lead), lead + f) for s, u, w, f in records]
        out[name] = (_write(tmp / f"{name}.pcap", header, 258, wrapped), src)
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wrapped")
    files = {**_wrapped_802_11(tmp), **_wrapped_pktap(tmp)}
    case = Case.open(tmp / "case")
    ids = {}  # by the capture id the import gives (a stored path may be resolved: the corpus is a symlink in CI)
    for path in sorted({p for pair in files.values() for p in pair}):
        (result,) = import_paths(case, [str(path)]).files
        ids[path] = result.capture_id
    yield case, {name: (ids[a], ids[b], a) for name, (a, b) in files.items()}
    case.close()


def _rows(case: Case, cid: int) -> list[tuple]:
    return case.con.execute(f"SELECT frame, {', '.join(COLUMNS)} FROM packets WHERE capture_id = $c ORDER BY frame",
                            {"c": cid}).fetchall()


def _tshark(path: Path) -> list[tuple]:
    exe = shutil.which("tshark")
    assert exe, "tshark is required for the oracle tests (Debian package tshark)"
    fields = ["frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto", "ipv6.nxt", "tcp.srcport",
              "udp.srcport", "tcp.dstport", "udp.dstport"]
    cmd = [exe, "-n", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-r", str(path), "-T", "fields",
           "-E", "occurrence=f", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        v = dict(zip(fields, line.split("\t"), strict=False))
        rows.append((int(v["frame.number"]), v["ip.src"] or v["ipv6.src"] or None, v["ip.dst"] or v["ipv6.dst"] or None,
                     v["tcp.srcport"] or v["udp.srcport"] or None, v["tcp.dstport"] or v["udp.dstport"] or None))
    return rows


def _ours(case: Case, cid: int) -> list[tuple]:
    return case.con.execute(
        "SELECT frame, ip_text(src_ip), ip_text(dst_ip), CAST(src_port AS VARCHAR), CAST(dst_port AS VARCHAR) "
        "FROM packets WHERE capture_id = $c ORDER BY frame", {"c": cid}).fetchall()


@pytest.mark.parametrize("name", ["prism", "prism-be", "avs", "prism-avs", "pktap-ether", "pktap-ether6",
                                  "pktap-null", "pktap-raw"])
def test_wrapped_frames_decode_as_tshark_and_the_original(made, name):
    case, files = made
    wrapped, original, path = files[name]
    ours = _rows(case, wrapped)
    assert ours and ours == _rows(case, original)
    assert any(r[2] for r in ours)  # addresses decoded, not a capture of undecoded frames
    assert _ours(case, wrapped) == _tshark(path)
    if name.startswith("pktap-ether"):
        assert all(r[8] is not None for r in ours)  # the inner Ethernet frame's MACs


def test_fast_decoder_equals_the_per_packet_one(made):
    case, files = made
    names = ["vlan", "eth_type", "ip_version", "ip_proto", "ip_len", "ttl", "src_port", "dst_port", "tcp_flags",
             "malformed", "src_mac", "dst_mac"]
    for linktype_name, (wrapped, _, path) in files.items():
        header, records = _records(path)
        linktype = struct.unpack_from("<I", header, 20)[0]
        stored = case.con.execute(
            f"SELECT {', '.join(names)} FROM packets WHERE capture_id = $c ORDER BY frame", {"c": wrapped}).fetchall()
        for (_, _, wire, frame), row in zip(records, stored, strict=True):
            d = decode_packet(linktype, frame, wire)
            want = tuple(None if (d[n] == -1 and n != "malformed") else d[n] for n in names)
            got = tuple(bool(v) if n == "malformed" else int.from_bytes(v, "big") if isinstance(v, bytes) else v
                        for n, v in zip(names, row, strict=True))  # (MACs are stored as 6 bytes)
            assert got == want, (linktype_name, row)


def test_damaged_headers(tmp_path):
    """A Prism/AVS/PKTAP header whose length is too small is malformed; one cut by the snap length is short."""
    small = struct.pack("<II", 0x44, 4) + bytes(40)  # Prism msglen 4
    assert decode_packet(119, small, len(small))["malformed"]
    assert decode_packet(163, struct.pack(">II", 0x80211001, 2) + bytes(40), 48)["malformed"]
    pk = bytearray(_pktap(1))
    struct.pack_into("<I", pk, 0, 40)  # pth_length under 108
    assert decode_packet(258, bytes(pk) + bytes(60), 168)["malformed"]
    cut = _pktap(1) + bytes(6)  # the Ethernet header cut short, the frame longer on the wire
    d = decode_packet(258, cut, len(cut) + 100)
    assert not d["malformed"] and d["eth_type"] == -1
    whole = _pktap(1) + bytes(6)  # ... and as long as the wire: a frame too short to hold its header
    assert decode_packet(258, whole, len(whole))["malformed"]
