"""DHCP (RFC 2131/2132) messages: BOOTP header and the options an analyst asks for.

`message_type` is option 53 (1 DISCOVER ... 8 INFORM, as tshark's dhcp.option.dhcp); a BOOTP message
without it has NULL. Addresses are the case's UHUGEINT (IPv4-mapped); 0.0.0.0 in ciaddr/yiaddr is NULL.
"""

from __future__ import annotations

from forensics.appdata.wire import Malformed, text, v4_mapped

MAGIC = b"\x63\x82\x53\x63"


def _addr(raw: bytes) -> int | None:
    return None if raw == b"\0\0\0\0" else v4_mapped(raw)


def parse(data: bytes) -> dict:
    """One DHCP message (UDP payload). Malformed when the magic is present but options are cut."""
    if len(data) < 240 or data[236:240] != MAGIC:
        raise Malformed("no DHCP magic cookie at byte 236")
    op, htype, hlen = data[0], data[1], data[2]
    row: dict = {
        "op": op, "xid": int.from_bytes(data[4:8], "big"),
        "client_ip": _addr(data[12:16]), "assigned_ip": _addr(data[16:20]),
        "client_mac": ":".join(f"{b:02x}" for b in data[28:28 + hlen]) if htype == 1 and hlen == 6 else None,
        "message_type": None, "requested_ip": None, "server_id": None, "lease_seconds": None,
        "hostname": None, "vendor_class": None, "client_id": None,
    }
    i = 240
    while i < len(data):
        code = data[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 2 > len(data) or i + 2 + data[i + 1] > len(data):
            raise Malformed(f"option {code} cut at byte {i}")
        n = data[i + 1]
        value = data[i + 2:i + 2 + n]
        i += 2 + n
        if code == 53 and n == 1:
            row["message_type"] = value[0]
        elif code == 50 and n == 4:
            row["requested_ip"] = v4_mapped(value)
        elif code == 54 and n == 4:
            row["server_id"] = v4_mapped(value)
        elif code == 51 and n == 4:
            row["lease_seconds"] = int.from_bytes(value, "big")
        elif code == 12:
            row["hostname"] = text(value)
        elif code == 60:
            row["vendor_class"] = text(value)
        elif code == 61:
            row["client_id"] = value.hex(":")
    return row
