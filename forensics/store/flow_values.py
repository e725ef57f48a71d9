"""The range of every flow-record value, checked once before a record reaches the store.

Exported flow records (NetFlow v5/v9, IPFIX, sFlow, flow files) carry values their exporter or a
damaged datagram chose: a flipped byte in flowStartMilliseconds, a 4-byte field where the template
names a 1-byte element. Each column of `flows` (queries/schema/tables.sql) holds a fixed range; a
record with a value outside it is not stored at all (its bytes are not what the template says, so
its other fields would be guesses) and is counted as invalid, with the first such record's position.

Times must fall in years 1..9999 (what a TIMESTAMP renders as ISO-8601 and Python can read back);
the scaled counters (packets * sampling_rate, bytes * sampling_rate) must fit in UBIGINT too.
"""

from __future__ import annotations

_U8, _U16, _U32, _U64, _U128 = 2**8 - 1, 2**16 - 1, 2**32 - 1, 2**64 - 1, 2**128 - 1
_I64 = (-(2**63), 2**63 - 1)
MIN_TS_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
MAX_TS_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z

# key of forensics.records.FLOW_RECORD_KEYS -> (lowest, highest) value its flows column holds.
RANGES: dict[str, tuple[int, int]] = {
    "record_pos": _I64, "observation_domain": (0, _U64),
    "first_ts_us": (MIN_TS_US, MAX_TS_US), "last_ts_us": (MIN_TS_US, MAX_TS_US),
    "ip_version": (0, _U8), "ip_proto": (0, _U8), "src_port": (0, _U16), "dst_port": (0, _U16),
    "icmp_type": (0, _U8), "icmp_code": (0, _U8), "vlan": (0, _U16), "in_if": (0, _U32), "out_if": (0, _U32),
    "src_as": (0, _U32), "dst_as": (0, _U32), "direction": (0, _U8), "tos": (0, _U8), "tcp_flags": (0, _U16),
    "packets": (0, _U64), "bytes": (0, _U64), "sampling_rate": (0, _U32),
    "exporter_ip": (0, _U128), "src_ip": (0, _U128), "dst_ip": (0, _U128), "next_hop": (0, _U128),
}
REQUIRED = ("first_ts_us", "last_ts_us", "packets", "bytes")


def flow_value_problem(rec: dict) -> tuple[str, str] | None:
    """None when every value of the record fits its column; else (column, what is wrong with it)."""
    for key in REQUIRED:
        if rec.get(key) is None:
            return key, "missing"
    for key, (lo, hi) in RANGES.items():
        v = rec.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
            return key, f"{v!r} is not an integer"
        if v < lo or v > hi:
            return key, f"{v} outside {lo}..{hi}"
    rate = rec.get("sampling_rate") or 1
    for key in ("packets", "bytes"):
        if rec[key] * rate > _U64:
            return key, f"{rec[key]} times sampling rate {rate} exceeds {_U64}"
    return None


def split_valid(records: list[dict]) -> tuple[list[dict], list[tuple[dict, str, str]]]:
    """(records that fit, [(record, column, problem)] for those that do not), order kept."""
    good: list[dict] = []
    bad: list[tuple[dict, str, str]] = []
    for rec in records:
        problem = flow_value_problem(rec)
        if problem is None:
            good.append(rec)
        else:
            bad.append((rec, *problem))
    return good, bad
