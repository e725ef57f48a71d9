"""IGMP, and the MPLS label stack, as tcpdump prints them without -v."""

from __future__ import annotations

from forensics.packetview.text import ip4, u16, u32


def igmp_print(data: bytes, length: int) -> str:
    """'igmp query v2', 'igmp v2 report 239.1.1.1', 'igmp v3 report, 1 group record(s)' ..."""
    if len(data) < 8:
        return "igmp [|igmp]"
    typ = data[0]
    if typ == 0x11:
        out = "igmp query"
        if length >= 12:
            out += " v3"
            mrc = data[1]
            mrt = mrc if mrc < 128 else ((mrc & 0x0F) | 0x10) << (((mrc & 0x70) >> 4) + 3)
            if mrt != 100:
                out += f" [max resp time {mrt / 10:.1f}s]" if mrt % 10 else f" [max resp time {mrt // 10}s]"
            if u32(data, 4):
                out += f" [gaddr {ip4(data[4:8])}"
                nsrcs = u16(data, 10) if len(data) >= 12 else 0
                out += f", {nsrcs} source(s)]" if nsrcs else "]"
            return out
        if data[1]:
            out += " v2" + (f" [max resp time {data[1]}]" if data[1] != 100 else "")
        else:
            out += " v1"
        if u32(data, 4):
            out += f" [gaddr {ip4(data[4:8])}]"
        return out + (f" [len {length}]" if length != 8 else "")
    if typ == 0x12:
        return f"igmp v1 report {ip4(data[4:8])}" + (f" [len {length}]" if length != 8 else "")
    if typ == 0x16:
        return f"igmp v2 report {ip4(data[4:8])}"
    if typ == 0x17:
        return f"igmp leave {ip4(data[4:8])}"
    if typ == 0x22:
        return f"igmp v3 report, {u16(data, 6)} group record(s)"
    return f"igmp-{typ}"


_LABEL_NAMES = ["IPv4 explicit NULL", "router alert", "IPv6 explicit NULL", "implicit NULL"]


def mpls_labels(data: bytes, verbose: int = 0) -> tuple[str, int]:
    """('MPLS (label 18, tc 0, ttl 255) (label 16, tc 0, [S], ttl 255)', bytes of the stack); with -v each
    label after the first on its own line, reserved labels named."""
    out = "MPLS"
    off = 0
    while True:
        if off + 4 > len(data):
            return out + " [|mpls]", off
        entry = u32(data, off)
        label = entry >> 12
        out += ("\n\t" if off and verbose else " ") + f"(label {label}"
        if verbose and label < len(_LABEL_NAMES):
            out += f" ({_LABEL_NAMES[label]})"
        elif verbose and label < 16:
            out += " (unknown)"
        off += 4
        out += f", tc {(entry >> 9) & 7}" + (", [S]" if entry & 0x100 else "") + f", ttl {entry & 0xFF})"
        if entry & 0x100:
            return out, off
