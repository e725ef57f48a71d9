"""DNS as tcpdump prints it without -v: 'id+ [1au] A? name. (len)' and 'id*- 2/0/1 A 1.2.3.4, RRSIG (len)'."""

from __future__ import annotations

from forensics.packetview.text import Truncated, ip4, ip6, printn, u16

_OPS = ["", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8", " updateA", " updateD",
        " updateDA", " updateM", " updateMA", " zoneInit", " zoneRef"]
_RCODES = ["", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain", " YXRRSet", " NXRRSet",
           " NotAuth", " NotZone", " Resp11", " Resp12", " Resp13", " Resp14", " NoChange", " BadVers", "Resp17",
           " Resp18", " Resp19", " Resp20", "Resp21", " Resp22", " BadCookie"]
TYPES = {1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL",
         11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB", 19: "X25",
         20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP_PTR", 24: "SIG", 25: "KEY", 26: "PX", 27: "GPOS",
         28: "AAAA", 29: "LOC", 30: "NXT", 31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX",
         37: "CERT", 38: "A6", 39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP",
         45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 99: "SPF", 100: "UINFO", 101: "UID", 102: "GID",
         103: "UNSPEC", 104: "UNSPECA", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB",
         254: "MAILA", 255: "ANY", 256: "URI"}
_CLASSES = {1: "IN", 3: "CHAOS", 4: "HS", 255: "ANY"}
_EDNS_OPTS = {1: "LLQ", 2: "UL", 3: "NSID", 5: "DAU", 6: "DHU", 7: "N3U", 8: "ECS", 9: "EXPIRE", 10: "COOKIE",
              11: "KEEPALIVE", 12: "PADDING", 13: "CHAIN", 14: "KEY-TAG", 16: "CLIENT-TAG", 17: "SERVER-TAG"}


class _Msg:
    """A DNS message as captured; reads raise Truncated past the captured bytes."""

    def __init__(self, data: bytes) -> None:
        self.d = data

    def u8(self, off: int) -> int:
        if off >= len(self.d):
            raise Truncated("domain")
        return self.d[off]

    def u16(self, off: int) -> int:
        if off + 2 > len(self.d):
            raise Truncated("domain")
        return u16(self.d, off)

    def skip_name(self, off: int) -> int | None:
        i = self.u8(off)
        off += 1
        while i:
            kind = i & 0xC0
            if kind == 0xC0:
                return off + 1
            if kind == 0x40:
                if (i & 0x3F) != 0x01:
                    return None
                bitlen = self.u8(off) or 256
                off += 1 + (bitlen + 7) // 8
            elif kind == 0x80:
                return None
            else:
                off += i
            i = self.u8(off)
            off += 1
        return off

    def name(self, off: int) -> tuple[str, int]:
        """(text, offset after the name where it was) as fqdn_print writes it."""
        out = []
        max_off = off
        i = self.u8(off)
        off += 1
        rp = None if (i & 0xC0) == 0xC0 else off + (i if (i & 0xC0) == 0 else 0)
        compress = (i & 0xC0) == 0xC0
        if i == 0:
            return ".", off
        chars = 0
        while i:
            kind = i & 0xC0
            if kind == 0xC0:
                if not compress:
                    rp = off + 1
                    compress = True
                target = ((i << 8) | self.u8(off)) & 0x3FFF
                if target >= max_off:
                    raise _BadPtr("".join(out))
                max_off = target
                off = target
                i = self.u8(off)
                off += 1
                continue
            if kind != 0:
                raise _BadPtr("".join(out) + "<BAD LABEL TYPE>" if kind == 0x80 else "".join(out))
            label = self.d[off:off + i]
            if len(label) < i:
                out.append(printn(label))
                raise Truncated("domain")
            if chars + i <= 255:
                out.append(printn(label))
            elif chars < 255:
                out.append(printn(label[:255 - chars]))
            chars += i
            off += i
            if chars <= 255:
                out.append(".")
            chars += 1
            nxt = self.u8(off)
            off += 1
            if not compress:
                rp = off if rp is None else rp + nxt + 1
            i = nxt
        if chars > 255:
            out.append("<DOMAIN NAME TOO LONG>")
        return "".join(out), rp if rp is not None else off


class _BadPtr(Exception):
    pass


def _rr(m: _Msg, off: int, mdns: bool = False, verbose: int = 0) -> tuple[str, int | None]:
    """(' A 1.2.3.4', offset of the next record) as ns_rprint writes it (-v: the owner name first)."""
    lead = ""
    if verbose:
        lead = " " + _name_or_partial(m, off, " ")
    off = m.skip_name(off)
    if off is None or off + 10 > len(m.d):
        return lead, None
    typ, raw_cls = m.u16(off), m.u16(off + 2)
    cls = raw_cls & 0x7FFF if mdns else raw_cls
    out = lead
    if cls != 1 and typ != 41:
        out += " " + _CLASSES.get(cls, f"(Class {cls})")
    if mdns and raw_cls & 0x8000:
        out += " (Cache flush)"
    opt_flags = m.u16(off + 6) if typ == 41 else 0
    rdlen = m.u16(off + 8)
    cp = off + 10
    rp = cp + rdlen
    out += " " + TYPES.get(typ, f"Type{typ}")
    if rp > len(m.d):
        raise _Partial(out)
    if typ == 1:
        out += " " + ip4(m.d[cp:cp + 4])
    elif typ in (2, 5, 12, 39):
        out += " " + _name_or_partial(m, cp, out + " ")
    elif typ == 6 and verbose:
        out += " " + _name_or_partial(m, cp, out + " ")
        cp2 = m.skip_name(cp)
        out += " " + _name_or_partial(m, cp2, out + " ")
        cp3 = m.skip_name(cp2)
        out += "".join(f" {int.from_bytes(m.d[cp3 + 4 * k:cp3 + 4 * k + 4], 'big')}" for k in range(5))
    elif typ == 15:
        out += " " + _name_or_partial(m, cp + 2, out + " ") + f" {m.u16(cp)}"
    elif typ == 16:
        while cp < rp:
            n = m.u8(cp)
            out += ' "' + printn(m.d[cp + 1:cp + 1 + n]) + '"'
            cp += 1 + n
    elif typ == 33:
        out += " " + _name_or_partial(m, cp + 6, out + " ") + f":{m.u16(cp + 4)} {m.u16(cp)} {m.u16(cp + 2)}"
    elif typ == 28:
        out += " " + ip6(m.d[cp:cp + 16])
    elif typ == 41:
        out += f" UDPsize={cls}" + (" DO" if opt_flags & 0x8000 else "")
        if cp < rp:
            parts = []
            while cp < rp:
                code, dlen = m.u16(cp), m.u16(cp + 2)
                text = _EDNS_OPTS.get(code, f"Opt{code}")
                data = m.d[cp + 4:cp + 4 + dlen]
                if dlen:
                    text += " " + _edns_value(code, data)
                parts.append(text)
                cp += 4 + dlen
            out += " [" + ",".join(parts) + "]"
    elif typ == 256:
        out += f" {m.u16(cp)} {m.u16(cp + 2)} " + printn(m.d[cp + 4:rp])
    elif typ == 104:
        out += printn(m.d[cp:rp])
    return out, rp


def _edns_value(code: int, data: bytes) -> str:
    if code == 8 and len(data) >= 4:
        family, src_len, scope = u16(data, 0), data[2], data[3]
        bits = 32 if family == 1 else 128 if family == 2 else 0
        if bits and len(data) - 4 <= bits // 8 and src_len <= bits and scope <= bits \
                and (src_len + 7) // 8 == len(data) - 4:
            padded = data[4:] + bytes(bits // 8 - (len(data) - 4))
            return f"{ip4(padded) if bits == 32 else ip6(padded)}/{src_len}/{scope}"
        return "(invalid)"
    if code == 10:
        if len(data) < 8 or 8 < len(data) < 16 or len(data) > 40:
            return "(invalid)"
        return data[:8].hex() + (" " + data[8:].hex() if len(data) > 8 else "")
    if code == 11:
        return f"{u16(data, 0) / 10.0:.1f} sec" if len(data) == 2 else "(invalid)"
    if code == 12:
        return f"({len(data)})"
    return data.hex()


class _Partial(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _name_or_partial(m: _Msg, off: int, before: str) -> str:
    try:
        return m.name(off)[0]
    except Truncated:
        raise _Partial(before) from None
    except _BadPtr as exc:
        raise _Partial(before + str(exc.args[0] if exc.args else "") + "<BAD PTR>") from None


def domain_print(data: bytes, length: int, over_tcp: bool = False, mdns: bool = False, verbose: int = 0) -> str:
    """The DNS text tcpdump appends after 'a.p > b.q: ' (UDP) or after ', length N' (TCP, with its space)."""
    lead = ""
    if over_tcp:
        if length < 2:
            return f" [DNS over TCP: length {length} < 2] (invalid)"
        length -= 2
        if len(data) < 2:
            return " [|domain]"
        if u16(data, 0) != length:
            return f" [prefix length({u16(data, 0)}) != length({length})] (invalid)"
        data = data[2:]
        lead = " "
    if length < 12:
        return lead + f"domain [length {length} < 12] (invalid)"
    m = _Msg(data)
    out: list[str] = [lead]
    try:
        _message(m, length, out, mdns, verbose)
    except Truncated:
        out.append(" [|domain]")
    except _Partial as part:
        out.append(part.text + " [|domain]")
    return "".join(out)


def _message(m: _Msg, length: int, out: list[str], mdns: bool, verbose: int) -> None:
    flags = m.u16(2)
    qd, an, ns, ar = m.u16(4), m.u16(6), m.u16(8), m.u16(10)
    rcode = flags & 0xF
    try:
        cp = 12
        for _ in range(qd):
            cp = m.skip_name(cp) + 4
        for _ in range(an + ns):
            cp = m.skip_name(cp) + 8
            cp += 2 + m.u16(cp)
        for _ in range(ar):
            cp = m.skip_name(cp)
            if m.u16(cp) == 41:
                rcode |= m.u8(cp + 4) << 4
                break
            cp += 8
            cp += 2 + m.u16(cp)
    except (Truncated, TypeError):
        pass
    opcode = (flags >> 11) & 0xF
    ident = m.u16(0)
    if flags & 0x8000:
        rtext = _RCODES[rcode] if rcode < len(_RCODES) else f" Resp{rcode & 0xFFF}"
        out.append(f"{ident}{_OPS[opcode]}{rtext}{'*' if flags & 0x0400 else ''}{'' if flags & 0x0080 else '-'}"
                   f"{'|' if flags & 0x0200 else ''}{'$' if flags & 0x0020 else ''}")
        if qd != 1:
            out.append(f" [{qd}q]")
        cp = 12
        for k in range(qd):
            if verbose > 1:
                out.append("," if k else "")
                out.append(" q:")
                cp = _question(m, cp, out, mdns)
                continue
            cp = m.skip_name(cp)
            if cp is None:
                raise Truncated("domain")
            cp += 4
        out.append(f" {an}/{ns}/{ar}")
        first = True
        cp = _section(m, cp, an, "", out, mdns, verbose)
        if verbose > 1:
            cp = _section(m, cp, ns, " ns:", out, mdns, verbose)
            _section(m, cp, ar, " ar:", out, mdns, verbose)
    else:
        out.append(f"{ident}{_OPS[opcode]}{'+' if flags & 0x0100 else ''}{'%' if flags & 0x0010 else ''}")
        if flags & 0x6CF:
            out.append(f" [b2&3=0x{flags:x}]")
        if opcode == 1:
            if qd:
                out.append(f" [{qd}q]")
            if an != 1:
                out.append(f" [{an}a]")
        else:
            if an:
                out.append(f" [{an}a]")
            if qd != 1:
                out.append(f" [{qd}q]")
        if ns:
            out.append(f" [{ns}n]")
        if ar:
            out.append(f" [{ar}au]")
        cp = 12
        first = True
        while qd:
            if not first and cp >= len(m.d):
                break
            cp = _question(m, cp, out, mdns)
            qd -= 1
            first = False
        if qd:
            raise Truncated("domain")
        if verbose > 1:
            cp = _section(m, cp, an, "", out, mdns, verbose)
            cp = _section(m, cp, ns, " ns:", out, mdns, verbose)
            _section(m, cp, ar, " ar:", out, mdns, verbose)
    out.append(f" ({length})")


def _section(m: _Msg, cp: int, count: int, label: str, out: list[str], mdns: bool, verbose: int) -> int:
    """Records of one section, comma separated, after `label` (tcpdump prints it only when records follow)."""
    if not count:
        return cp
    if label:
        if cp >= len(m.d):
            raise Truncated("domain")
        out.append(label)
    first = True
    while count:
        if not first:
            if cp >= len(m.d):
                break
            out.append(",")
        text, cp = _rr(m, cp, mdns, verbose)
        out.append(text)
        if cp is None:
            raise Truncated("domain")
        count -= 1
        first = False
    if count:
        raise Truncated("domain")
    return cp


def _question(m: _Msg, cp: int, out: list[str], mdns: bool) -> int:
    end = m.skip_name(cp)
    if end is None or end + 4 > len(m.d):
        raise Truncated("domain")
    typ, cls = m.u16(end), m.u16(end + 2)
    text = " " + TYPES.get(typ, f"Type{typ}")
    klass = cls & 0x7FFF if mdns else cls
    if klass != 1:
        text += " " + _CLASSES.get(klass, f"(Class {klass})")
    if mdns:
        text += " (QU)" if cls & 0x8000 else " (QM)"
    out.append(text + "? ")
    try:
        name, _ = m.name(cp)
    except _BadPtr as exc:
        raise _Partial((exc.args[0] if exc.args else "") + "<BAD PTR>") from None
    out.append(name)
    return end + 4
