"""802.3 frames with LLC as tcpdump prints them without -e: spanning tree (plain LLC and Cisco PVST over
SNAP) and SNAP frames that carry an ethertype; None for the rest (named by the link printer)."""

from __future__ import annotations

from forensics.packetview.state import ViewState
from forensics.packetview.text import u16

_STP_VERSIONS = {0: "802.1d", 2: "802.1w", 3: "802.1s", 4: "802.1Q-2014 SPB"}
_STP_FLAGS = [(0x01, "Topology change"), (0x02, "Proposal"), (0x10, "Learn"), (0x20, "Forward"),
              (0x40, "Agreement"), (0x80, "Topology change ACK")]


def llc_print(st: ViewState, data: bytes, length: int) -> str | None:
    """The frame after the 802.3 header; `length` is the 802.3 length field."""
    if data[:3] == b"\x42\x42\x03":
        return stp_print(data[3:], length - 3)
    if data[:3] == b"\xaa\xaa\x03" and len(data) >= 8:
        oui, pid = data[3:6], u16(data, 6)
        if oui == b"\x00\x00\x0c" and pid == 0x010B:  # Cisco PVST
            return stp_print(data[8:], length - 8)
        if oui == b"\x00\x00\x00":
            from forensics.packetview.link import _network

            return _network(st, pid, data[8:], length - 8)
    return None


def stp_print(data: bytes, length: int) -> str | None:
    """'STP 802.1d, Config, Flags [none], bridge-id 8001.aa:bb:cc:00:03:00.8002, length 35'."""
    if len(data) < 4 or u16(data, 0) != 0:
        return None
    version, kind = data[2], data[3]
    out = "STP " + _STP_VERSIONS.get(version, f"Unknown STP protocol (0x{version:02x})")
    if version == 0 and kind == 0x80:
        return out + ", Topology Change"
    if version != 0 or kind != 0 or len(data) < 35:
        return None  # RSTP/MSTP details are tcpdump's
    flags = ", ".join(n for b, n in _STP_FLAGS if data[4] & b) or "none"
    bid = data[17:25]
    bridge = f"{bid[0]:02x}{bid[1]:02x}." + ":".join(f"{b:02x}" for b in bid[2:])
    return out + f", Config, Flags [{flags}], bridge-id {bridge}.{u16(data, 25):04x}, length {length}"
