"""Which flow-file format a file holds, from its first bytes (never from its name)."""

from __future__ import annotations

import gzip
import json
import zlib

from forensics.readers.netflow import export_header_ok, plausible_export

NFCAPD_MAGIC = b"\x0c\xa5"  # nfdump file header magic 0xA50C, little-endian, then layout version 1 or 2

FLOW_FILE_FORMATS = ("netflow-raw", "nfcapd", "nfdump-csv", "zeek-tsv", "zeek-json", "suricata-eve")


def _first_export_ok(head: bytes) -> bool:
    """The first of the bare export payloads a file starts with is plausible (more may follow)."""
    version, second = int.from_bytes(head[0:2], "big"), int.from_bytes(head[2:4], "big")
    if version == 5:
        return plausible_export(head[:24 + 48 * second])
    if version == 10:
        return plausible_export(head[:second]) if second <= len(head) else export_header_ok(head)
    return export_header_ok(head)


def sniff_flow_file(path: str, head: bytes) -> str | None:
    """'netflow-raw', 'nfcapd', 'nfdump-csv', 'zeek-tsv', 'zeek-json', 'suricata-eve' or None.

    `head` is the file's first bytes (a few KiB); gzip-compressed heads are looked into.
    """
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(31).decompress(head, 65536)
        except (zlib.error, gzip.BadGzipFile):
            return None
    if head[:2] == NFCAPD_MAGIC and head[2:4] in (b"\x01\x00", b"\x02\x00"):
        return "nfcapd"
    if head[:2] in (b"\x00\x05", b"\x00\x09", b"\x00\x0a") and _first_export_ok(head):
        return "netflow-raw"
    text = head.decode("utf-8", "replace")
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    if first.startswith("#separator"):
        return "zeek-tsv"
    if first.startswith("ts,te,td,sa,da"):
        return "nfdump-csv"
    if first.startswith("{"):
        try:
            obj = json.loads(first)
        except ValueError:
            return None
        if not isinstance(obj, dict):
            return None
        if "event_type" in obj:
            return "suricata-eve"
        if "id.orig_h" in obj or ("uid" in obj and "ts" in obj):
            return "zeek-json"
    return None
