"""tcpdump-style text for packets: one summary line per packet and -x / -X / -A dumps.

Formats rows it is given (dicts with the packets-table columns, addresses as ints); reads nothing.

    2024-03-01 12:00:00.123456 IP 10.0.0.1.49152 > 10.0.0.2.445: Flags [S], length 74

The time is the full UTC date and time (tcpdump -tttt style). `length` is the frame's length on the
wire (tcpdump prints the transport payload length there; the case stores frame and IP lengths).
Addresses are never resolved to names.
"""

from __future__ import annotations

import datetime as dt

from forensics.netaddr import int_to_ip

# tcpdump's order and letters for TCP flags ('.' is ACK).
_TCP_FLAGS = [(1, "F"), (2, "S"), (4, "R"), (8, "P"), (16, "."), (32, "U"), (64, "E"), (128, "W")]
_ETHERTYPES = {0x0806: "ARP", 0x8035: "RARP", 0x88CC: "LLDP", 0x888E: "EAPOL", 0x8863: "PPPoE-D",
               0x8864: "PPPoE-S", 0x88A8: "802.1ad", 0x8847: "MPLS", 0x9000: "Loopback"}
_PROTOS = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 47: "GRE", 50: "ESP", 51: "AH", 58: "ICMP6", 89: "OSPF",
           103: "PIM", 112: "VRRP", 132: "SCTP", 136: "UDPLite"}

ROW_COLUMNS = ["capture_id", "frame", "ts", "iface", "linktype", "caplen", "wirelen", "vlan", "vlan_inner",
               "mpls_label", "eth_type", "ip_version", "src_ip", "dst_ip", "ip_proto", "ip_len", "ttl", "ip_id",
               "frag_offset", "frag_flags", "src_port", "dst_port", "tcp_flags", "icmp_type", "icmp_code",
               "malformed"]


def tcp_flags_text(flags: int | None) -> str:
    """tcpdump's flag string: 'S', 'S.', 'P.', 'none' ..."""
    if flags is None:
        return "?"
    text = "".join(ch for bit, ch in _TCP_FLAGS if flags & bit)
    return text or "none"


def _ts_text(ts: dt.datetime | str) -> str:
    if isinstance(ts, dt.datetime):
        return ts.strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(ts)


def _endpoint(addr: int | None, port: int | None) -> str:
    text = "?" if addr is None else int_to_ip(int(addr))
    return text if port is None else f"{text}.{port}"


def summary_line(row: dict, verbose: bool = False) -> str:
    """One tcpdump-style line for a packet row."""
    parts = [_ts_text(row["ts"])]
    tags = []
    if row.get("vlan") is not None:
        tags.append(f"vlan {row['vlan']}" + (f" vlan {row['vlan_inner']}" if row.get("vlan_inner") is not None
                                             else ""))
    if row.get("mpls_label") is not None:
        tags.append(f"MPLS label {row['mpls_label']}")
    if tags:
        parts.append(", ".join(tags) + ",")
    version = row.get("ip_version")
    wirelen = row.get("wirelen")
    if version in (4, 6):
        parts.append("IP" if version == 4 else "IP6")
        proto = row.get("ip_proto")
        src = _endpoint(row.get("src_ip"), row.get("src_port"))
        dst = _endpoint(row.get("dst_ip"), row.get("dst_port"))
        if proto == 6:
            what = f"Flags [{tcp_flags_text(row.get('tcp_flags'))}]"
        elif proto in (1, 58):
            what = f"{_PROTOS[proto]} type {row.get('icmp_type')} code {row.get('icmp_code')}"
            if row.get("icmp_type") is None:
                what = _PROTOS[proto]
        elif proto is None:
            what = "ip-proto-?"
        else:
            what = _PROTOS.get(proto, f"ip-proto-{proto}")
        if row.get("frag_offset"):
            what += f" (frag offset {row['frag_offset']})"
        parts.append(f"{src} > {dst}: {what}, length {wirelen}")
    else:
        eth_type = row.get("eth_type")
        if eth_type is not None:
            parts.append(f"{_ETHERTYPES.get(eth_type, f'ethertype 0x{eth_type:04x}')}, length {wirelen}")
        else:
            parts.append(f"linktype {row.get('linktype')}, length {wirelen}")
    if row.get("malformed"):
        parts.append("[malformed]")
    if verbose:
        parts.append(_verbose_tail(row))
    return " ".join(parts)


def _verbose_tail(row: dict) -> str:
    bits = [f"capture {row.get('capture_id')} frame {row.get('frame')}", f"iface {row.get('iface')}",
            f"caplen {row.get('caplen')}"]
    if row.get("ip_version") in (4, 6):
        bits.append(f"ttl {row.get('ttl')}")
        if row.get("ip_id") is not None:
            bits.append(f"id {row['ip_id']}")
        if row.get("ip_len") is not None:
            bits.append(f"ip length {row['ip_len']}")
        flags = row.get("frag_flags") or 0
        if flags:
            bits.append("flags [" + ",".join(n for b, n in ((2, "DF"), (1, "MF")) if flags & b) + "]")
    return "(" + ", ".join(bits) + ")"


def hex_lines(data: bytes, ascii_column: bool = False) -> list[str]:
    """tcpdump -x (hex) or -X (hex and ASCII) lines: 16 bytes per line in 2-byte groups."""
    out = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        groups = " ".join(chunk[i:i + 2].hex() for i in range(0, len(chunk), 2))
        if ascii_column:
            text = "".join(chr(b) if 0x21 <= b < 0x7F else "." for b in chunk)  # tcpdump: graphic only
            out.append(f"\t0x{off:04x}:  {groups:<39}  {text}")
        else:
            out.append(f"\t0x{off:04x}:  {groups}")
    return out


def ascii_text(data: bytes) -> str:
    """tcpdump -A: printable bytes as they are, newlines and tabs kept, everything else '.'."""
    return "".join(chr(b) if 0x20 <= b < 0x7F or b in (9, 10) else "." for b in data)


def dump_lines(data: bytes, mode: str) -> list[str]:
    """The dump for mode 'x' (hex), 'X' (hex + ASCII) or 'A' (ASCII)."""
    if mode == "x":
        return hex_lines(data)
    if mode == "X":
        return hex_lines(data, ascii_column=True)
    if mode == "A":
        return ascii_text(data).split("\n")
    raise ValueError(f"unknown dump mode {mode!r}")


def json_row(row: dict) -> dict:
    """A packet row as JSON-ready values (addresses as text, time as ISO 8601)."""
    out = {}
    for key, value in row.items():
        if key in ("src_ip", "dst_ip") and value is not None:
            out[key] = int_to_ip(int(value))
        elif isinstance(value, dt.datetime):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out
