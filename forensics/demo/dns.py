"""DNS names in the demo traffic, as wire-format qnames.

A DNS packet's PacketPlan.aux is `name_id << 48 | key`: the name id indexes DNS_NAMES, or is
ROGUE_NAME for the rogue queries, whose first label is LABEL_LEN base32 characters derived from key
(so a query and its response carry the same name, and tests can recompute it).
"""

from __future__ import annotations

import numpy as np

DNS_NAMES = [
    "www.example.com", "mail.example.com", "intranet.office.example", "files.office.example",
    "cdn.example.net", "static.example.net", "api.example.org", "login.example.org",
    "updates.example.com", "time.example.net", "docs.example.com", "chat.example.org",
    "video.example.net", "news.example.com", "search.example.com", "maps.example.org",
    "crm.example.com", "erp.office.example", "printer.office.example", "wiki.office.example",
]
ROGUE_NAME = len(DNS_NAMES)
ROGUE_ZONE = "sync.example-cdn.net"
LABEL_LEN = 32
_ALPHABET = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", np.uint8)
_KEY_MASK = np.uint64((1 << 48) - 1)


def wire_name(name: str) -> bytes:
    """'www.example.com' -> b'\\x03www\\x07example\\x03com\\x00'."""
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def qname_template(name_id: int) -> bytes:
    """Wire-format qname of a name id; the rogue one with a placeholder label (filled per packet)."""
    if name_id == ROGUE_NAME:
        return wire_name("x" * LABEL_LEN + "." + ROGUE_ZONE)
    return wire_name(DNS_NAMES[name_id])


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (wrapping uint64 arithmetic)."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def rogue_labels(aux: np.ndarray) -> np.ndarray:
    """(n, LABEL_LEN) uint8 characters of the rogue labels for aux values."""
    key = aux.astype(np.uint64) & _KEY_MASK
    out = np.empty((len(key), LABEL_LEN), np.uint8)
    for r in range(0, LABEL_LEN, 12):
        h = _mix(key + np.uint64(r + 1))
        for j in range(r, min(r + 12, LABEL_LEN)):
            out[:, j] = _ALPHABET[((h >> np.uint64(5 * (j - r))) & np.uint64(31)).astype(np.intp)]
    return out


def answer_address(aux: np.ndarray) -> np.ndarray:
    """The IPv4 address (uint32) a response gives for aux: 192.0.2.0/24 (documentation block)."""
    return (np.uint64(0xC0000200) | (_mix(aux) & np.uint64(0xFF))).astype(np.uint64)


def query_text(aux: int) -> str:
    """The name a DNS packet with this aux asks for (for ground truth and tests)."""
    name_id = aux >> 48
    if name_id != ROGUE_NAME:
        return DNS_NAMES[name_id]
    label = rogue_labels(np.array([aux], np.uint64))[0].tobytes().decode("ascii")
    return f"{label}.{ROGUE_ZONE}"
