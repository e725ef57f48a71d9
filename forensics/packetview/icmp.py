"""ICMP (IPv4) as tcpdump prints it without -v: 'ICMP echo request, id 1, seq 2, length 64' and friends."""

from __future__ import annotations

from forensics.packetview.state import ViewState
from forensics.packetview.text import ip4, u16, u32

_UNREACH = {5: "%s unreachable - source route failed", 6: "%s unreachable - unknown network",
            7: "%s unreachable - unknown host", 8: "%s unreachable - source host isolated",
            9: "net %s unreachable - admin prohibited", 10: "host %s unreachable - admin prohibited",
            11: "net %s unreachable - tos prohibited", 12: "host %s unreachable - tos prohibited",
            13: "host %s unreachable - admin prohibited filter", 14: "host %s unreachable - host precedence violation",
            15: "host %s unreachable - precedence cutoff"}
_SIMPLE = {4: "source quench", 9: "router advertisement", 10: "router solicitation", 17: "address mask request"}
_REDIRECT = {0: "net", 1: "host", 2: "tos host net", 3: "tos host"}


def icmp_print(data: bytes, length: int, st: ViewState | None = None) -> str:
    """Text after 'a > b: ' for an ICMP message of `length` bytes; -v adds the quoted datagram of an error."""
    if len(data) < 2:
        return "ICMP [|icmp]"
    typ, code = data[0], data[1]
    try:
        text = _body(data, typ, code)
    except IndexError:
        return "ICMP [|icmp]"
    out = f"ICMP {text}, length {length}"
    if st is not None and st.vflag and typ in (3, 4, 5, 11, 12) and len(data) >= 28:
        from forensics.packetview.ip import ip4_print

        inner = data[8:]
        out += "\n\t" + ip4_print(st, inner, u16(inner, 2))
    return out


def _inner(data: bytes) -> tuple[bytes, int, bytes]:
    """(inner dst address, inner protocol, inner transport bytes) of an error's quoted datagram."""
    ip = data[8:]
    hl = (ip[0] & 15) * 4
    return ip[16:20], ip[9], ip[hl:]


def _body(data: bytes, typ: int, code: int) -> str:
    if typ in (0, 8):
        return f"echo {'reply' if typ == 0 else 'request'}, id {u16(data, 4)}, seq {u16(data, 6)}"
    if typ == 3:
        dst, proto, tr = _inner(data)
        if code == 0:
            return f"net {ip4(dst)} unreachable"
        if code == 1:
            return f"host {ip4(dst)} unreachable"
        if code == 2:
            return f"{ip4(dst)} protocol {proto} unreachable"
        if code == 3:
            dport = u16(tr, 2)
            if proto == 6:
                return f"{ip4(dst)} tcp port {dport} unreachable"
            if proto == 17:
                return f"{ip4(dst)} udp port {dport} unreachable"
            return f"{ip4(dst)} protocol {proto} port {dport} unreachable"
        if code == 4:
            mtu = u16(data, 6)
            return f"{ip4(dst)} unreachable - need to frag (mtu {mtu})" if mtu else \
                f"{ip4(dst)} unreachable - need to frag"
        fmt = _UNREACH.get(code)
        return fmt % ip4(dst) if fmt else f"{ip4(dst)} unreachable - #{code}"
    if typ == 5:
        dst, _proto, _tr = _inner(data)
        kind = _REDIRECT.get(code)
        if kind is None:
            return f"redirect {ip4(dst)} to {ip4(data[4:8])}"
        return f"redirect {ip4(dst)} to {kind} {ip4(data[4:8])}"
    if typ == 11:
        return {0: "time exceeded in-transit", 1: "ip reassembly time exceeded"}.get(code, f"time exceeded-#{code}")
    if typ == 12:
        return f"parameter problem - octet {data[4]}" if code == 0 else f"parameter problem code {code}"
    if typ == 13:
        return f"time stamp query id {u16(data, 4)} seq {u16(data, 6)}"
    if typ == 14:
        return f"time stamp reply id {u16(data, 4)} seq {u16(data, 6)}: org {_ms(u32(data, 8))}, " \
               f"recv {_ms(u32(data, 12))}, xmit {_ms(u32(data, 16))}"
    if typ == 18:
        return f"address mask is 0x{u32(data, 4):08x}"
    if typ in _SIMPLE:
        return _SIMPLE[typ]
    return f"type-#{typ}"


def _ms(ms: int) -> str:
    secs, frac = divmod(ms, 1000)
    h, rest = divmod(secs, 3600)
    return f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}.{frac:03d}"
