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


_PPPOE_CODES = {0x09: "PADI", 0x07: "PADO", 0x19: "PADR", 0x65: "PADS", 0xA7: "PADT"}
_PPPOE_TAGS = {0: "EOL", 0x0101: "Service-Name", 0x0102: "AC-Name", 0x0103: "Host-Uniq", 0x0104: "AC-Cookie",
               0x0105: "Vendor-Specific", 0x0110: "Relay-Session-ID", 0x0120: "PPP-Max-Payload",
               0x0201: "Service-Name-Error", 0x0202: "AC-System-Error", 0x0203: "Generic-Error"}
_PPP_CONTROL = {0xC021: "LCP", 0x8021: "IPCP", 0x8057: "IP6CP", 0x80FD: "CCP"}
_CP_CODES = {1: "Conf-Request", 2: "Conf-Ack", 3: "Conf-Nack", 4: "Conf-Reject", 5: "Term-Request",
             6: "Term-Ack", 7: "Code-Reject", 8: "Prot-Reject", 9: "Echo-Request", 10: "Echo-Reply",
             11: "Discard-Req", 12: "Ident", 13: "Time-Remain", 14: "Reset-Req", 15: "Reset-Ack"}


def pppoe_print(st: ViewState, data: bytes, length: int) -> str | None:
    """'PPPoE PADI [Service-Name] [Host-Uniq 0x..]' (discovery), 'PPPoE  [ses 0x2d] IP ...' and
    'PPPoE  [ses 0x11] LCP, Echo-Request (0x09), id 4, length 14' (session); None for what is not ours."""
    if len(data) < 6:
        return None
    code, ses, plen = data[1], u16(data, 2), u16(data, 4)
    out = "PPPoE " + _PPPOE_CODES.get(code, "" if code == 0 else f"Unknown(0x{code:02x})")
    if ses:
        out += f" [ses 0x{ses:x}]"
    payload = data[6:6 + plen]
    if code:
        p = 0
        while p + 4 <= len(payload):
            tag, tlen = u16(payload, p), u16(payload, p + 2)
            value = payload[p + 4:p + 4 + tlen]
            name = _PPPOE_TAGS.get(tag, f"TAG-0x{tag:x}")
            if not tlen:
                out += f" [{name}]"
            else:
                text = "".join(chr(c) if 0x20 <= c < 0x7F else "." for c in value[:79])
                printable = sum(0x20 <= c < 0x7F for c in value[:79])
                out += f' [{name} "{text}"]' if printable > len(text) - printable else \
                    f" [{name} 0x{value.hex().upper()}]"
            p += 4 + tlen
            if tag == 0:
                break
        return out
    if len(payload) < 2:
        return None
    ppp = u16(payload, 0)
    from forensics.packetview.link import _network

    et = {0x0021: 0x0800, 0x0057: 0x86DD}.get(ppp)
    if et is not None:
        return out + " " + (_network(st, et, payload[2:], min(plen, length - 6) - 2) or "")
    if ppp in _PPP_CONTROL and len(payload) >= 6:
        cp_code, ident = payload[2], payload[3]
        return out + f" {_PPP_CONTROL[ppp]}, {_CP_CODES.get(cp_code, 'Unknown Opcode')} (0x{cp_code:02x}), " \
            f"id {ident}, length {plen}"
    return None


def sflow_print(data: bytes, length: int) -> str:
    """'sFlowv5, IPv4 agent 10.0.0.1, agent-id 2, length 1288'."""
    from forensics.packetview.text import ip4, ip6

    if len(data) < 8:
        return "sFlow [|SFLOW]"
    version, family = u32(data, 0), u32(data, 4)
    if version != 5:
        return f"sFlow version {version} packet not supported"
    if family == 1 and len(data) >= 16:
        return f"sFlowv5, IPv4 agent {ip4(data[8:12])}, agent-id {u32(data, 12)}, length {length}"
    if family == 2 and len(data) >= 28:
        return f"sFlowv5, IPv6 agent {ip6(data[8:24])}, agent-id {u32(data, 24)}, length {length}"
    return "sFlowv5 [|SFLOW]"
