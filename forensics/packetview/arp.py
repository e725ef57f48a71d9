"""ARP and RARP as tcpdump prints them: 'Request who-has A tell B', 'Reply A is-at MAC'."""

from __future__ import annotations

from forensics.packetview.state import ViewState
from forensics.packetview.text import ip4, mac, u16

_OPS = {1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply", 8: "Inverse Request",
        9: "Inverse Reply", 10: "NACK Reply"}
_HRD = {1: "Ethernet", 6: "IEEE 802", 15: "Frame Relay", 16: "ATM", 24: "IEEE 1394", 32: "InfiniBand"}
_PRO = {0x0800: "IPv4", 0x86DD: "IPv6"}


def arp_print(st: ViewState, data: bytes, length: int) -> str:
    """Text for an ARP/RARP packet of `length` bytes (after the link header)."""
    out = "" if st.eflag else "ARP, "
    if len(data) < 8:
        return out + "[|ARP]"
    hrd, pro, hln, pln, op = u16(data, 0), u16(data, 2), data[4], data[5], u16(data, 6)
    if pro not in (0x0800, 0x1000) or pln != 4 or hln == 0:
        return out + f"{_HRD.get(hrd, f'Unknown Hardware ({hrd})')}, "\
            f"{_PRO.get(pro, f'Unknown Protocol (0x{pro:04x})')}, len {length}"  # rare: as tcpdump, roughly
    sha = data[8:8 + hln]
    spa = data[8 + hln:12 + hln]
    tha = data[12 + hln:12 + 2 * hln]
    tpa = data[12 + 2 * hln:16 + 2 * hln]
    if len(tpa) < 4:
        return out + "[|ARP]"
    if st.vflag:
        out += f"{_HRD.get(hrd, f'Unknown Hardware ({hrd})')} (len {hln}), {_PRO.get(pro, 'Unknown')} (len {pln}), "
    out += _OPS.get(op, f"Unknown ({op})") + " "
    if op == 1:
        out += f"who-has {ip4(tpa)}" + (f" ({mac(tha)})" if any(tha) else "") + f" tell {ip4(spa)}"
    elif op == 2:
        out += f"{ip4(spa)} is-at {mac(sha)}"
    elif op == 3:
        out += f"who-is {mac(tha)} tell {mac(sha)}"
    elif op == 4:
        out += f"{mac(tha)} at {ip4(tpa)}"
    elif op == 8:
        out += f"who-is {mac(tha)} tell {mac(sha)}"
    elif op == 9:
        out += f"{mac(sha)} at {ip4(spa)}"
    return out + f", length {length}"
