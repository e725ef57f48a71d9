"""TCP segments are dropped before parsing when no segment of their connection direction starts like a TLS
record or an HTTP head (appdata_pass._candidates); a ClientHello cut by its segment still gets the next
segment of its direction joined, though that one starts with a byte no parser starts with. tshark (which
reassembles the stream) is the oracle for the SNI and the frame it reports the hello at."""

from __future__ import annotations

import shutil
import struct
import subprocess

from builders import eth, ipv4, pcap_file, tcp

from forensics.ingest import ImportOptions, import_paths

NAME = b"split-hello.example.org"


def _hello() -> bytes:
    sni = struct.pack("!HBH", len(NAME) + 3, 0, len(NAME)) + NAME
    exts = struct.pack("!HH", 0, len(sni)) + sni + struct.pack("!HH", 0x0015, 300) + bytes(300)  # padding
    body = struct.pack("!H", 0x0303) + bytes(32) + b"\x00" + struct.pack("!HHH", 4, 0x1301, 0x1302) + b"\x01\x00" \
        + struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def test_cut_hello_joined_and_other_directions_dropped(case, tmp_path):
    hello = _hello()
    cut = len(hello) - 200  # the second part starts inside the padding: a zero byte
    assert hello[cut] == 0
    a, b = "10.0.0.1", "10.0.0.2"
    frames = [
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 8443, 0x02, seq=0, src=a, dst=b))),
        eth(0x0800, ipv4(b, a, 6, tcp(8443, 40000, 0x12, seq=0, ack=1, src=b, dst=a))),
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 8443, 0x10, hello[:cut], seq=1, ack=1, src=a, dst=b))),
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 8443, 0x18, hello[cut:], seq=1 + cut, ack=1, src=a, dst=b))),
    ]
    for k in range(3):  # a connection whose segments no parser reads: binary payloads
        payload = bytes([0x00, k]) + bytes(120)
        frames.append(eth(0x0800, ipv4("10.0.0.3", b, 6, tcp(41000, 9000, 0x18, payload, seq=1 + 122 * k,
                                                               src="10.0.0.3", dst=b))))
    pcap = tmp_path / "split.pcap"
    pcap.write_bytes(pcap_file([(1.0 + k / 10, f) for k, f in enumerate(frames)]))
    assert import_paths(case, [str(pcap)], ImportOptions(workers=1)).exit_code == 0
    rows = case.con.execute("SELECT frame, sni FROM tls").fetchall()
    assert rows == [(3, NAME.decode())]
    assert case.con.execute("SELECT count(*) FROM http").fetchone()[0] == 0
    assert shutil.which("tshark"), "tshark is a test oracle: .ci/run installs it"
    out = subprocess.run(["tshark", "-r", str(pcap), "-o", "tcp.desegment_tcp_streams:TRUE", "-d",
                          "tcp.port==8443,tls", "-T", "fields", "-e", "tls.handshake.extensions_server_name"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert [s for s in out if s] == [NAME.decode()]  # tshark reads it at the segment that completes it (frame 4)
