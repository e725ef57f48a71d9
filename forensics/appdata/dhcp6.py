"""DHCPv6 (RFC 8415) messages: type, transaction id, client and server DUIDs, addresses and prefixes handed out,
client FQDN (RFC 4704) and vendor class.

A relay message (RELAY-FORW 12, RELAY-REPL 13) is read through its Relay Message options down to the client's
or server's message (at most MAX_HOPS deep): `message_type` and the rest are that message's, `relay_hops` says
how many relay headers wrapped it. DUIDs are hex as tshark's dhcpv6.duid.bytes; `client_mac` is the link-layer
address inside a DUID-LLT or DUID-LL of hardware type 1 (Ethernet). Addresses are the case's UHUGEINT.
"""

from __future__ import annotations

from forensics.appdata.wire import Malformed, text, u16

PORTS = (546, 547)
MAX_HOPS = 8  # RFC 8415 HOP_COUNT_LIMIT is 8


def _options(data: bytes, i: int, end: int) -> list[tuple[int, int, int]]:
    """(code, first, end) of each option in data[i:end]; Malformed when one runs past end."""
    out = []
    while i < end:
        if i + 4 > end:
            raise Malformed(f"option header cut at byte {i}")
        code, n = u16(data, i), u16(data, i + 2)
        if i + 4 + n > end:
            raise Malformed(f"option {code} of {n} bytes runs past the message at byte {i}")
        out.append((code, i + 4, i + 4 + n))
        i += 4 + n
    return out


def _mac(duid: bytes) -> str | None:
    kind = int.from_bytes(duid[:2], "big") if len(duid) >= 4 else 0
    hw = int.from_bytes(duid[2:4], "big") if len(duid) >= 4 else 0
    addr = duid[8:] if kind == 1 else duid[4:] if kind == 3 else b""
    return addr.hex(":") if hw == 1 and len(addr) == 6 else None


def _fqdn(raw: bytes) -> str | None:
    """Option 39's domain name (after its flags byte): DNS labels, dotted, no trailing dot."""
    labels, i = [], 1
    while i < len(raw) and raw[i]:
        labels.append(raw[i + 1:i + 1 + raw[i]])
        i += 1 + raw[i]
    return text(b".".join(labels)) if labels else None


def parse(data: bytes) -> dict:
    """One DHCPv6 message (UDP payload)."""
    if len(data) < 4:
        raise Malformed("shorter than the 4-byte header")
    hops = 0
    while data[0] in (12, 13):  # relay: find the relayed message
        if hops == MAX_HOPS:
            raise Malformed(f"more than {MAX_HOPS} relay headers")
        if len(data) < 34:
            raise Malformed("relay header cut")
        inner = [data[a:b] for code, a, b in _options(data, 34, len(data)) if code == 9]
        if not inner or len(inner[0]) < 4:
            raise Malformed("relay message without a relayed message")
        data, hops = inner[0], hops + 1
    row: dict = {"message_type": data[0], "xid": int.from_bytes(data[1:4], "big"), "relay_hops": hops,
                 "client_duid": None, "server_duid": None, "client_mac": None, "addresses": [], "prefixes": [],
                 "fqdn": None, "vendor_class": None}
    for code, a, b in _options(data, 4, len(data)):
        value = data[a:b]
        if code == 1:
            row["client_duid"] = value.hex()
            row["client_mac"] = _mac(value)
        elif code == 2:
            row["server_duid"] = value.hex()
        elif code in (3, 4, 25):  # IA_NA, IA_TA, IA_PD: their own options after 12 (IA_TA: 4) bytes
            skip = 4 if code == 4 else 12
            for sub, sa, sb in _options(data, a + skip, b) if b - a >= skip else []:
                if sub == 5 and sb - sa >= 24:
                    row["addresses"].append(int.from_bytes(data[sa:sa + 16], "big"))
                elif sub == 26 and sb - sa >= 25:
                    row["prefixes"].append({"address": int.from_bytes(data[sa + 9:sa + 25], "big"),
                                            "length": data[sa + 8]})
        elif code == 39 and len(value) >= 1:
            row["fqdn"] = _fqdn(value)
        elif code == 16 and len(value) >= 6:
            n = int.from_bytes(value[4:6], "big")
            row["vendor_class"] = text(value[6:6 + n])
    return row
