"""Normalised records: the contract between readers and the store.

A reader hands the store *packet batches*: a dict of equal-length numpy arrays, one per field of
PACKET_FIELDS. Nullable fields use -1 for "absent" (the store turns -1 into NULL). Addresses travel
as two uint64 halves (`src_hi`, `src_lo`), IPv4 already mapped to ::ffff:a.b.c.d.

Decoding semantics, shared by the fast (compiled) and the exact (dpkt) decoder; both must give the
same values for the same bytes:

- Link layer: Ethernet (1), with any stack of 802.1Q (0x8100), 802.1ad (0x88a8) and 0x9100 tags and
  MPLS unicast/multicast (0x8847/0x8848) labels; after the bottom-of-stack label the first nibble
  of the payload (4 or 6) selects IPv4/IPv6 (pseudowire control words are not decoded).
  Linux SLL (113, protocol at offset 14, header 16 bytes), SLL2 (276, protocol at offset 0, header
  20 bytes), raw IP (101, 228 IPv4, 229 IPv6, 12/14 on some systems: first nibble decides), BSD
  null/loopback (0 and 108, 4-byte family in either byte order: 2 = IPv4, 24/28/30 = IPv6),
  PPPoE session (ethertype 0x8864, PPP protocol 0x0021 IPv4, 0x0057 IPv6), Linux NFLOG (239: family 2
  IPv4 or 10 IPv6, the network layer in the payload TLV, type 9), pflog (117: after its header, a BSD
  family), Cisco HDLC (104: an ethertype after address and control; 0x8035 is SLARP there, not decoded),
  IEEE 802.11 (105), radiotap (127), PPI (192), Prism (119) and AVS (163, before 802.11): data frames in
  clear, through LLC/SNAP; Apple PKTAP (258: its Ethernet, loopback or raw IP frame);
  ERF (197: Ethernet, PPP or Cisco HDLC over POS, raw IPv4/IPv6 records, after extension headers).
  `vlan` is the outermost tag's id, `vlan_inner` the second; `mpls_label` the outermost label;
  `eth_type` the ethertype that names the network layer (0x0800/0x86dd for IP via MPLS too).
- IPv4: header length from IHL (options skipped), `ip_len` = total length field, `ttl`, `ip_id`,
  `frag_offset` = offset field * 8, `frag_flags` = (MF ? 1 : 0) | (DF ? 2 : 0). Ports, flags and ICMP
  fields only for the first fragment (offset 0).
- IPv6: `ip_len` = payload length + 40; extension headers followed: hop-by-hop (0), routing (43),
  destination options (60), fragment (44: sets ip_id, frag_offset, frag_flags bit 1 for M), AH (51,
  length (n+2)*4); ESP (50) and no-next-header (59) stop the walk with ip_proto = 50 / 59. `ip_proto`
  is the protocol after the chain.
- Transport: TCP (6), UDP (17), SCTP (132), UDP-Lite (136) give ports; TCP gives `tcp_flags` (low 8
  bits of byte 13, plus NS from byte 12 bit 0 as 256); ICMP (1) and ICMPv6 (58) give type and code.
  GRE and other protocols: ip_proto only (tunnels are not decapsulated).
- Cut by the snap length: every field whose bytes are present is kept; a field whose bytes are not
  present is -1. A packet whose headers stop short of what they announce is `malformed`... except
  when the cut is explained by caplen < wirelen (a snap-length cut is not damage).
- MAC addresses: Ethernet's destination and source (`dst_mac`, `src_mac`, each set when its 6 bytes are
  captured); Linux SLL and SLL2 give `src_mac` when their link-layer address length is 6.
- LLC/SNAP: on Ethernet (and after its tags) a type field <= 1500 is an 802.3 length; an 802.2 header
  AA AA 03 (SNAP) is followed by an OUI and the ethertype that continues the chain; other LLC frames
  (STP, NetBIOS, IPX) are not decoded. PPP (9, 50): an optional FF 03 address/control, then a 1- or
  2-byte protocol: 0x0021 IPv4, 0x0057 IPv6, 0x0281/0x0283 MPLS; others not decoded.
- ARP (0x0806) and RARP (0x8035): `arp_op` from the 8-byte fixed header; when the hardware and protocol
  lengths are 6 and 4, `arp_sha`, `arp_spa`, `arp_tha`, `arp_tpa` (each when its bytes are present).
  A packet cut before the end of the addresses announced is short.
- Not decoded (other link types, non-IP ethertypes): only the record fields (time, lengths,
  interface, link type, offset) and, for Ethernet, vlan/eth_type are set.
- The finer points (PPP protocol-field compression, when a cut field counts as present, IPv6
  fragment chains, minimum transport header sizes) are listed in forensics/readers/exact.py.
- Precise points (both decoders): `eth_type` is also set for raw IP and null/loopback packets
  (0x0800/0x86dd from the version nibble / family). "Short" = a header needs bytes past caplen; a
  short packet is malformed only when caplen >= wirelen. IPv4 total length (or IPv6 payload length
  + 40) past the captured end with caplen >= wirelen is malformed (fields present still kept); a
  version nibble that contradicts the ethertype is malformed (ip_version stays -1). A field is set
  only when all its bytes are present (tcp_flags needs bytes 12 and 13 of the TCP header; addresses
  need all 4/16 bytes: ip_version is set as soon as the version nibble is read). TCP data offset < 5
  or UDP length < 8 with the header present: malformed. IPv4 IHL < 5: malformed, nothing after TTL/
  proto/addresses decoded. For a cut IPv6 extension chain ip_proto is the last next-header value
  read. `payload_offset` (not stored; readers use it to find NetFlow/sFlow datagrams) is the offset
  from the start of the packet data of the UDP payload (or TCP payload), -1 when not reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# (name, numpy dtype). Order is the order of the store's INSERT.
PACKET_FIELDS: list[tuple[str, str]] = [
    ("frame", "uint32"),
    ("ts_us", "int64"),  # microseconds since the Unix epoch, UTC
    ("iface", "uint16"),
    ("linktype", "uint16"),
    ("file_offset", "uint64"),
    ("caplen", "uint32"),
    ("wirelen", "uint32"),
    ("vlan", "int32"),
    ("vlan_inner", "int32"),
    ("mpls_label", "int64"),
    ("eth_type", "int32"),
    ("ip_version", "int8"),  # 4, 6 or -1
    ("src_hi", "uint64"),
    ("src_lo", "uint64"),
    ("dst_hi", "uint64"),
    ("dst_lo", "uint64"),
    ("ip_proto", "int16"),
    ("ip_len", "int32"),
    ("ttl", "int16"),
    ("ip_id", "int64"),
    ("frag_offset", "int32"),
    ("frag_flags", "int16"),
    ("src_port", "int32"),
    ("dst_port", "int32"),
    ("tcp_flags", "int32"),
    ("icmp_type", "int16"),
    ("icmp_code", "int16"),
    ("malformed", "bool"),
    ("src_mac", "int64"),  # 48-bit MAC addresses as numbers; -1 when absent
    ("dst_mac", "int64"),
    ("arp_op", "int32"),  # ARP/RARP opcode
    ("arp_sha", "int64"),  # ARP sender / target hardware address (MAC)
    ("arp_spa", "int64"),  # ARP sender / target protocol address (IPv4, 32-bit, not mapped)
    ("arp_tha", "int64"),
    ("arp_tpa", "int64"),
]

PACKET_FIELD_NAMES = [name for name, _ in PACKET_FIELDS]

# Fields decoded from the packet bytes (everything but the record fields the reader knows).
DECODED_FIELDS = [
    n for n in PACKET_FIELD_NAMES
    if n not in ("frame", "ts_us", "iface", "linktype", "file_offset", "caplen", "wirelen")
]

PacketBatch = dict[str, np.ndarray]


def empty_batch(n: int) -> PacketBatch:
    """A batch of n rows with every nullable field absent (-1) and addresses zero."""
    batch: PacketBatch = {}
    for name, dtype in PACKET_FIELDS:
        if np.dtype(dtype).kind == "i":
            batch[name] = np.full(n, -1, dtype=dtype)
        else:
            batch[name] = np.zeros(n, dtype=dtype)
    return batch


# Flow records from exporters and flow files travel as dicts with these keys (any may be missing or
# None except first_ts_us, last_ts_us, packets, bytes). Addresses are Python ints in the mapped space
# (forensics.netaddr.ip_to_int). Times are microseconds since the epoch, UTC.
FLOW_RECORD_KEYS = [
    "source", "record_pos", "exporter_ip", "observation_domain", "first_ts_us", "last_ts_us",
    "ip_version", "src_ip", "dst_ip", "ip_proto", "src_port", "dst_port", "icmp_type", "icmp_code",
    "vlan", "in_if", "out_if", "src_as", "dst_as", "next_hop", "direction", "tos", "tcp_flags",
    "packets", "bytes", "sampling_rate",
]


@dataclass
class FlowColumns:
    """Flow records as columns: `values[name]` a numpy array per FLOW_RECORD_KEYS key (addresses as `name_hi` /
    `name_lo` uint64 halves of the mapped value), `valid[name]` a bool array where some rows are NULL; a key in
    neither is NULL on every row; `source` is the one source of every row (forensics.readers.flow_columns)."""

    rows: int
    source: str
    values: dict[str, np.ndarray] = field(default_factory=dict)
    valid: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.rows

    def put(self, key: str, values: np.ndarray, ok: np.ndarray | None = None) -> None:
        """Set column `key`; `ok` False marks its NULL rows (all True: none)."""
        self.values[key] = values
        if ok is not None and not ok.all():
            self.valid[key] = ok
