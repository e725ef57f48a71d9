"""ICMPv6 as tcpdump prints it without -v, neighbour discovery and MLD included."""

from __future__ import annotations

from forensics.packetview.cksum import inet_sum, pseudo_sum
from forensics.packetview.state import ViewState
from forensics.packetview.text import ip6, u16

TYPES = {1: "destination unreachable", 2: "packet too big", 3: "time exceeded in-transit", 4: "parameter problem",
         128: "echo request", 129: "echo reply", 130: "multicast listener query", 131: "multicast listener report",
         132: "multicast listener done", 133: "router solicitation", 134: "router advertisement",
         135: "neighbor solicitation", 136: "neighbor advertisement", 137: "redirect", 138: "router renumbering",
         139: "who-are-you request", 140: "who-are-you reply", 141: "inverse neighbor solicitation",
         142: "inverse neighbor advertisement", 143: "multicast listener report v2",
         144: "ha discovery request", 145: "ha discovery reply", 146: "mobile router solicitation",
         147: "mobile router advertisement", 151: "multicast router advertisement",
         152: "multicast router solicitation", 153: "multicast router termination", 155: "RPL"}
_UNREACH = {0: "unreachable route", 1: "unreachable prohibited", 2: "beyond scope", 3: "unreachable address",
            4: "unreachable port", 5: "source address failed policy", 6: "reject route to destination"}


def icmp6_print(st: ViewState, data: bytes, length: int, src: bytes, dst: bytes) -> str:
    """Text after 'a > b: ' for an ICMPv6 message of `length` bytes."""
    out = ""
    if st.vflag and len(data) >= length:
        total = inet_sum(data[:length], pseudo_sum(src, dst, 58, length))
        out += "[icmp6 sum ok] " if total == 0xFFFF else f"[bad icmp6 cksum 0x{u16(data, 2):04x}!] "
    if len(data) < 2:
        return out + "ICMP6 [|icmp6]"
    typ, code = data[0], data[1]
    out += "ICMP6, " + TYPES.get(typ, f"unknown icmp6 type ({typ})")
    if st.vflag and typ in _LENGTH_FIRST:
        out += f", length {length}"
    try:
        out += _detail(data, typ, code)
        if st.vflag and typ in (133, 135, 136):
            if typ == 136:
                flags = data[4]
                names = [n for b, n in ((0x80, "router"), (0x40, "solicited"), (0x20, "override")) if flags & b]
                out += f", Flags [{', '.join(names) or 'none'}]"
            out += _nd_options(data[8 if typ == 133 else 24:length], st.vflag)
    except (IndexError, ValueError):
        return out + " [|icmp6]"
    return out if st.vflag else out + f", length {length}"


# tcpdump -v prints the length right after the type name for these (and no length for the other types).
_LENGTH_FIRST = (133, 134, 135, 136, 137, 145, 147)
_ND_OPTIONS = {1: "source link-address", 2: "destination link-address", 3: "prefix info", 4: "redirected header",
               5: "mtu", 25: "rdnss", 31: "dnssl"}


def _nd_options(opts: bytes, verbose: int) -> str:
    """-v's neighbour discovery options: link-layer addresses and MTU (others by name and length only)."""
    from forensics.packetview.text import mac

    out = ""
    while len(opts) >= 2:
        typ, units = opts[0], opts[1]
        if units == 0:
            return out + " [|icmp6]"
        body = opts[2:units * 8]
        out += f"\n\t  {_ND_OPTIONS.get(typ, 'unknown')} option ({typ}), length {units * 8} ({units}): "
        if typ in (1, 2):
            out += mac(body[:6]) if units == 1 else ":".join(f"{b:02x}" for b in body)
        elif typ == 5:
            out += f" {int.from_bytes(body[2:6], 'big')}"
        if verbose > 1:  # -vv: tcpdump adds the option's bytes in hex
            from forensics.packetview.dump import hex_lines

            out += "".join("\n\t    " + line[1:] for line in hex_lines(body))
        opts = opts[units * 8:]
    return out


def _detail(data: bytes, typ: int, code: int) -> str:
    if typ in (128, 129):
        return f", id {u16(data, 4)}, seq {u16(data, 6)}"
    if typ == 135:
        return f", who has {ip6(data[8:24])}"
    if typ == 136:
        return f", tgt is {ip6(data[8:24])}"
    if typ == 137:
        return f", {ip6(data[24:40])} to {ip6(data[8:24])}"
    if typ == 143:
        return f", {u16(data, 6)} group record(s)"
    if typ in (130, 131, 132):
        if typ == 130 and len(data) >= 28:
            return ""
        return ""
    if typ == 1:
        inner = data[8:]
        odst = ip6(inner[24:40])
        if code in (0, 1, 3):
            return f", {_UNREACH[code]} {odst}" if False else f" {odst}"
        if code == 2:
            return f" {odst}, source address {ip6(inner[8:24])}"
        if code == 4:
            proto = inner[6]
            dport = u16(inner, 42)
            if proto == 6:
                return f", {odst} tcp port {dport}"
            if proto == 17:
                return f", {odst} udp port {dport}"
            return f", {odst} protocol {proto} port {dport} unreachable"
        return ", " + _UNREACH.get(code, f"unknown unreach code ({code})")
    if typ == 2:
        return f", mtu {int.from_bytes(data[4:8], 'big')}"
    if typ == 3:
        return " for " + ip6(data[8 + 24:8 + 40]) if code == 0 else ""
    if typ == 4:
        return f", {'erroneous - octet' if code == 0 else 'next header - octet' if code == 1 else 'option - octet'}" \
               f" {int.from_bytes(data[4:8], 'big')}"
    return ""
