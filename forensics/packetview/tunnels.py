"""Tunnels as tcpdump prints them: GREv0, VXLAN, Geneve, PPPoE sessions carrying IP."""

from __future__ import annotations

from forensics.packetview.state import ViewState
from forensics.packetview.text import u16, u32

_TEB = 0x6558  # transparent Ethernet bridging


def _inner(st: ViewState, proto: int, data: bytes, length: int) -> str | None:
    """What a tunnel carries, by ethertype (Ethernet frames without their header unless -e, as tcpdump)."""
    from forensics.packetview.link import _ether, _network

    if proto == _TEB:
        return _ether(st, data, length)[0]
    return _network(st, proto, data, length)


def gre_print(st: ViewState, data: bytes, length: int) -> str:
    """'GREv0, key=0x28, seq 12, length 88: IP ...' (version 0; other versions are named)."""
    if len(data) < 4:
        return "GRE [|gre]"
    flags, proto = u16(data, 0), u16(data, 2)
    version = flags & 7
    if version != 0:
        return f"GREv{version} [not decoded]"
    out = "GREv0"
    off = 4
    if flags & 0xC000:
        out += f", off 0x{u16(data, off + 2):x}"
        off += 4
    if flags & 0x2000:
        out += f", key=0x{u32(data, off):x}"
        off += 4
    if flags & 0x1000:
        out += f", seq {u32(data, off)}"
        off += 4
    out += f", length {length}: "
    inner = _inner(st, proto, data[off:], length - off) if proto in (0x0800, 0x86DD, _TEB, 0x8847) else None
    return out + (inner if inner is not None else f"gre-proto-0x{proto:x}")


def vxlan_print(st: ViewState, data: bytes, length: int) -> str:
    """'VXLAN, flags [I] (0x08), vni 1111' and, on the next line, the Ethernet frame it carries."""
    if len(data) < 8:
        return "VXLAN [|vxlan]"
    flags = data[0]
    out = f"VXLAN, flags [{'I' if flags & 0x08 else '.'}] (0x{flags:02x}), vni {u32(data, 4) >> 8}\n"
    from forensics.packetview.link import _ether

    return out + _ether(st, data[8:], length - 8)[0]


def geneve_print(st: ViewState, data: bytes, length: int) -> str:
    """'Geneve, Flags [C], vni 0xa, options [8 bytes]: IP ...'."""
    if len(data) < 8:
        return "Geneve [|geneve]"
    if data[0] >> 6:
        return f"Geneve ERROR: unknown-version {data[0] >> 6}"
    flags, proto, vni, rsvd = data[1], u16(data, 2), u32(data, 4) >> 8, data[7]
    out = "Geneve, Flags [" + ("".join(c for b, c in ((0x80, "O"), (0x40, "C")) if flags & b) or "none") + "]"
    out += f", vni 0x{vni:x}" + (f", rsvd 0x{rsvd:x}" if rsvd else "")
    if st.eflag:
        from forensics.packetview.link import ETHERTYPES

        out += f", proto {ETHERTYPES.get(proto, 'unknown')} (0x{proto:04x})"
    opts = (data[0] & 0x3F) * 4
    if opts:
        out += f", options [{opts} bytes]"
    inner = _inner(st, proto, data[8 + opts:], length - 8 - opts)
    return out + ": " + (inner if inner is not None else f"geneve-proto-0x{proto:x}")


def pppoe_session(st: ViewState, data: bytes, length: int) -> str | None:
    """'PPPoE  [ses 0x2d] IP ...' for session frames carrying IPv4/IPv6; None for the rest (LCP, discovery)."""
    if len(data) < 8 or data[1] != 0:
        return None
    ses, ppp = u16(data, 2), u16(data, 6)
    from forensics.packetview.link import _network

    et = {0x0021: 0x0800, 0x0057: 0x86DD}.get(ppp)
    if et is None:
        return None
    inner = _network(st, et, data[8:], min(u16(data, 4), length - 6) - 2)
    return f"PPPoE  [ses 0x{ses:x}] " + (inner or "")
