"""NTP (RFC 5905) header: version, mode, stratum, poll, reference id.

`reference_id` is the 32-bit field as a number; `reference_text` is it read as text where RFC 5905
says it is text (stratum 0: kiss code, stratum 1: clock source), else the IPv4 address it names for
stratum >= 2 (for IPv6 servers it is a hash, shown the same way, as tshark does). Modes 6 and 7
(control, private) carry no such header: version and mode only.
"""

from __future__ import annotations

from forensics.appdata.wire import Malformed


def parse(data: bytes) -> dict:
    """One NTP packet (UDP payload)."""
    if len(data) < 1:
        raise Malformed("empty")
    version, mode = (data[0] >> 3) & 7, data[0] & 7
    row: dict = {"leap": data[0] >> 6, "version": version, "mode": mode, "stratum": None, "poll": None,
                 "reference_id": None, "reference_text": None}
    if mode in (6, 7):
        return row
    if len(data) < 48:
        raise Malformed(f"{len(data)} bytes, the header has 48")
    stratum = data[1]
    ref = data[12:16]
    row.update(stratum=stratum, poll=data[2] - 256 if data[2] > 127 else data[2],
               reference_id=int.from_bytes(ref, "big"))
    if stratum <= 1:
        row["reference_text"] = ref.rstrip(b"\0").decode("latin-1")
    else:
        row["reference_text"] = ".".join(str(b) for b in ref)
    return row

