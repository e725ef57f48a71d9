"""TCP as tcpdump prints it: flags, relative seq/ack per conversation, win, options, length, first app line."""

from __future__ import annotations

from forensics.packetview.cksum import transport_ok
from forensics.packetview.state import ViewState
from forensics.packetview.text import ip4, ip6, u16, u32
from forensics.packetview.txtproto import HTTP_COMMANDS, RTSP_COMMANDS, txtproto

# tcpdump's order and letters for TCP flags ('.' is ACK).
_TCP_FLAGS = [(1, "F"), (2, "S"), (4, "R"), (8, "P"), (16, "."), (32, "U"), (64, "E"), (128, "W")]
_OPTION_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 6: "echo", 7: "echoreply",
                 8: "TS", 11: "cc", 12: "ccnew", 13: "", 19: "md5", 20: "scps", 28: "uto", 29: "tcp-ao",
                 30: "mptcp", 34: "tfo", 253: "exp", 254: "exp"}
_M32 = 0xFFFFFFFF


def tcp_flags_text(flags: int | None) -> str:
    """tcpdump's flag string: 'S', 'S.', 'P.', 'none' ..."""
    if flags is None:
        return "?"
    text = "".join(ch for bit, ch in _TCP_FLAGS if flags & bit)
    return text or "none"


def _options(opts: bytes, hlen: int, rev: bool, thseq: int, thack: int) -> tuple[str, bool]:
    """(' options [mss 1460,sackOK,...]', complete): tcpdump's loop with its [bad opt] and truncation marks.

    opts: the captured option bytes (may be fewer than hlen, the option length the header gives)."""
    try:
        return _options_walk(opts, hlen, rev, thseq, thack)
    except _Cut as cut:
        return cut.text + " [|tcp]>", False


class _Cut(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _options_walk(opts: bytes, hlen: int, rev: bool, thseq: int, thack: int) -> tuple[str, bool]:
    out = " options ["
    sep = ""
    i = 0

    def bad() -> tuple[str, bool]:
        return out + "[bad opt]" + ("]" if sep else ""), False

    while hlen > 0:
        out += sep
        if i >= len(opts):
            raise _Cut(out)
        opt = opts[i]
        i += 1
        if opt in (0, 1):
            length = 1
        else:
            if i >= len(opts):
                raise _Cut(out)
            length = opts[i]
            i += 1
            if length < 2 or length > hlen:
                return bad()
            hlen -= 1
        hlen -= 1
        out += _OPTION_NAMES.get(opt, f"unknown-{opt}")
        body = opts[i:]
        if opt == 2:
            datalen = 2
            if datalen > hlen:
                return bad()
            if len(body) < datalen:
                raise _Cut(out)
            out += f" {u16(body, 0)}"
        elif opt == 3:
            datalen = 1
            if datalen > hlen:
                return bad()
            if len(body) < datalen:
                raise _Cut(out)
            out += f" {body[0]}"
        elif opt == 5:
            datalen = length - 2
            if datalen % 8:
                out += " invalid sack"
            else:
                out += f" {datalen // 8} "
                base = thseq if rev else thack
                for k in range(0, datalen, 8):
                    if k + 8 > hlen:
                        return bad()
                    if len(body) < k + 8:
                        raise _Cut(out)
                    out += f"{{{(u32(body, k) - base) & _M32}:{(u32(body, k + 4) - base) & _M32}}}"
        elif opt in (6, 7, 11, 12, 13):
            datalen = 4
            if datalen > hlen:
                return bad()
            if len(body) < datalen:
                raise _Cut(out)
            out += f" {u32(body, 0)}"
        elif opt == 8:
            datalen = 8
            if datalen > hlen:
                return bad()
            if len(body) < datalen:
                raise _Cut(out)
            out += f" val {u32(body, 0)} ecr {u32(body, 4)}"
        elif opt in (0, 1, 4):
            datalen = 0
        else:
            datalen = length - 2
            if datalen > hlen:
                return bad()
            if len(body) < datalen:
                raise _Cut(out)
            if datalen:
                out += " 0x" + body[:datalen].hex()
        i += datalen
        hlen -= datalen
        if datalen + 1 + (0 if opt in (0, 1) else 1) != length:
            out += f"[len {length}]"
        sep = ","
        if opt == 0:
            break
    return out + "]", True


def _app(sport: int, dport: int, payload: bytes, length: int, verbose: int) -> str:
    ports = (sport, dport)
    if 80 in ports or 8080 in ports:
        return ": " + txtproto(payload, length, "http", HTTP_COMMANDS, True, verbose)
    if 554 in ports or 8554 in ports:
        return ": " + txtproto(payload, length, "rtsp", RTSP_COMMANDS, True, verbose)
    if 21 in ports:
        return ": " + txtproto(payload, length, "ftp", None, False, verbose)
    if 25 in ports:
        return ": " + txtproto(payload, length, "smtp", None, False, verbose)
    if 53 in ports:
        from forensics.packetview.dns import domain_print

        return domain_print(payload, length, over_tcp=True, verbose=verbose)
    return ""


def tcp_print(st: ViewState, seg: bytes, length: int, src: bytes, dst: bytes, direct: bool,
              fragmented: bool = False) -> str:
    """The text after 'IP ' for a TCP segment of `length` bytes (seg: the captured bytes from the TCP header)."""
    if len(seg) < 4:
        return " [|tcp]"
    sport, dport = u16(seg, 0), u16(seg, 2)
    atext = ip4 if len(src) == 4 else ip6
    head = f"{atext(src)}.{sport} > {atext(dst)}.{dport}: " if direct else f"{sport} > {dport}: "
    if len(seg) < 20:
        return head + "[|tcp]"
    hlen = (seg[12] >> 4) * 4
    if hlen < 20:
        return head + f" tcp {length - hlen} [bad hdr length {hlen} - too short, < 20]"
    seq, ack, flags, win, urp = u32(seg, 4), u32(seg, 8), seg[13], u16(seg, 14), u16(seg, 18)
    out = [head, f"Flags [{tcp_flags_text(flags)}]"]
    rev, thseq, thack = False, 0, 0
    if flags & 0x10:
        rev = src > dst or (src == dst and sport > dport)
        key = (dst, src, dport, sport) if rev else (src, dst, sport, dport)
        known = st.tcp_seq.get(key)
        if known is None or flags & 0x02:
            known = (seq, (ack - 1) & _M32) if not rev else ((ack - 1) & _M32, seq)
            st.tcp_seq[key] = known
        else:
            if rev:
                seq, ack = (seq - known[1]) & _M32, (ack - known[0]) & _M32
            else:
                seq, ack = (seq - known[0]) & _M32, (ack - known[1]) & _M32
        thseq, thack = known
    if hlen > length:
        out.append(f" [bad hdr length {hlen} - too long, > {length}]")
        return "".join(out)
    if st.vflag and not fragmented and len(seg) >= length:
        ok, should = transport_ok(src, dst, 6, seg[:length])
        out.append(f", cksum 0x{u16(seg, 16):04x}" + (" (correct)" if ok else f" (incorrect -> 0x{should:04x})"))
    paylen = length - hlen
    if st.vflag > 1 or paylen > 0 or flags & 0x07:
        out.append(f", seq {seq}" + (f":{(seq + paylen) & _M32}" if paylen > 0 else ""))
    if flags & 0x10:
        out.append(f", ack {ack}")
    out.append(f", win {win}")
    if flags & 0x20:
        out.append(f", urg {urp}")
    if hlen > 20:
        opts, complete = _options(seg[20:hlen], hlen - 20, rev, thseq, thack)
        out.append("," + opts)
        if not complete:
            return "".join(out)
    out.append(f", length {paylen}")
    if paylen > 0:
        out.append(_app(sport, dport, seg[hlen:], paylen, st.vflag))
    return "".join(out)
