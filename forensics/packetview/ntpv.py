"""NTP time messages at -v, as tcpdump 4.99's ntp_time_print (print-ntp.c, ntp.c) prints them."""

from __future__ import annotations

import datetime as dt
import struct

_LEAP = {0: "", 0x40: "+1s", 0x80: "-1s", 0xC0: "clock unsynchronized"}
_JAN_1970 = 2208988800  # seconds from 1900 to 1970
_FMAXINT = 4294967296.0


def _print_char(c: int) -> str:
    """tcpdump's fn_print_char: M- for the high bit, ^X for control characters."""
    out = ""
    if c & 0x80:
        out, c = "M-", c & 0x7F
    if c < 0x20 or c == 0x7F:
        return out + "^" + chr(c ^ 0x40)
    return out + chr(c)


def _sfix(value: int) -> str:
    """A 16.16 fixed-point number (root delay, dispersion) as '%u.%06u'."""
    return f"{value >> 16}.{int((value & 0xFFFF) / 65536.0 * 1000000.0):06d}"


def _time(seconds: int, fraction: int) -> str:
    out = f"{seconds}.{int(fraction / _FMAXINT * 1000000000.0):09d}"
    if seconds:
        when = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds - _JAN_1970)
        out += f" ({when:%Y-%m-%dT%H:%M:%S}Z)"
    return out


def _delta(old: tuple[int, int], new: tuple[int, int]) -> str:
    """new - old as tcpdump's p_ntp_delta computes it (32-bit integer parts, the fraction borrowed)."""
    (ou, ouf), (u, uf) = old, new
    if ou == 0 and ouf == 0:
        return _time(u, uf)
    i = (u - ou) & 0xFFFFFFFF
    if i >= 0x80000000:
        i -= 1 << 32
    if i > 0:
        sign, f = "+", (uf - ouf) & 0xFFFFFFFF
        if ouf > uf:
            i -= 1
    elif i < 0:
        sign, f = "-", (ouf - uf) & 0xFFFFFFFF
        if uf > ouf:
            i += 1
        i = -i
    elif uf > ouf:
        sign, f = "+", uf - ouf
    else:
        sign, f = "-", ouf - uf
    return f"{sign}{i & 0xFFFFFFFF}.{int(f / _FMAXINT * 1000000000.0):09d}"


def ntp_time_text(data: bytes, length: int) -> str:
    """The lines -v adds after 'NTPv4, Client, length 48' (data: at least the 48-byte header)."""
    stratum = data[1]
    poll, precision = struct.unpack("!bb", data[2:4])
    root_delay, root_disp, refid = struct.unpack("!III", data[4:16])
    stamps = [struct.unpack("!II", data[o:o + 8]) for o in (16, 24, 32, 40)]
    kind = {0: "unspecified", 1: "primary reference"}.get(
        stratum, "secondary reference" if 2 <= stratum <= 15 else "reserved")
    out = f", Stratum {stratum} ({kind}), poll {poll}"
    if -32 < poll < 32:
        out += f" ({1 << poll}s)" if poll >= 0 else f" (1/{1 << -poll}s)"
    out += f", precision {precision}\n\tRoot Delay: {_sfix(root_delay)}, Root dispersion: {_sfix(root_disp)}"
    out += ", Reference-ID: "
    if stratum == 0:
        out += "(unspec)"
    elif stratum == 1:
        out += "".join(_print_char(c) for c in data[12:16])
    elif stratum in (62, 63):
        out += ".".join(str(b) for b in data[12:16]) + (" INFO_QUERY" if stratum == 62 else " INFO_REPLY")
    else:
        out += f"0x{refid:08x}"
    ref, org, rec, xmt = stamps
    out += f"\n\t  Reference Timestamp:  {_time(*ref)}"
    out += f"\n\t  Originator Timestamp: {_time(*org)}"
    out += f"\n\t  Receive Timestamp:    {_time(*rec)}"
    out += f"\n\t  Transmit Timestamp:   {_time(*xmt)}"
    out += f"\n\t    Originator - Receive Timestamp:  {_delta(org, rec)}"
    out += f"\n\t    Originator - Transmit Timestamp: {_delta(org, xmt)}"
    extra = length - 48
    words = [struct.unpack("!I", data[o:o + 4])[0] for o in range(48, min(len(data), length) - 3, 4)]
    if extra == 4 and len(words) >= 1:
        out += f"\n\tKey id: {words[0]}"
    elif extra in (20, 24) and len(words) >= extra // 4:
        out += f"\n\tKey id: {words[0]}\n\tAuthentication: " + "".join(f"{w:08x}" for w in words[1:extra // 4])
    elif extra > 0:
        out += f"\n\t({extra} more bytes after the header)"
    return out


def ntp_control_text(data: bytes, length: int) -> str:
    """The lines -v adds after 'NTPv2, Control Message, length 12' (tcpdump's ntp_control_print)."""
    control = data[1]
    sequence, status, assoc, offset, count = struct.unpack("!HHHHH", data[2:12])
    status_text = f"{status:#x}" if status else "0"  # C's %#hx prints 0 without the 0x
    out = (f", {'Response' if control & 0x80 else 'Request'}, "
           f"{'Error' if control & 0x40 else 'OK'}, {'More' if control & 0x20 else 'Last'}, OpCode={control & 0x1F}"
           f"\n\tSequence={sequence}, Status={status_text}, Assoc.={assoc}, Offset={offset}, Count={count}")
    if 12 + count > length:
        return out + " (invalid)"
    if count:
        out += "\n\tTO-BE-DONE: data not interpreted"
    return out


def ntp_verbose_text(data: bytes, length: int) -> str:
    """What -v adds after 'NTPv4, Client, length 48': the leap indicator, then the fields of a time message
    (modes 0-5) or a control message (mode 6); nothing more for mode 7. ' (invalid)' when the message is
    shorter than its kind, ' [|ntp]' when the capture cut it."""
    leap, mode = data[0] & 0xC0, data[0] & 7
    out = f"\n\tLeap indicator: {_LEAP[leap]} ({leap})"
    need = 48 if mode <= 5 else 12 if mode == 6 else 0
    if need == 0:
        return out
    if length < need:
        return out + " (invalid)"
    if len(data) < need:
        return out + " [|ntp]"
    return out + (ntp_time_text(data, length) if mode <= 5 else ntp_control_text(data, length))
