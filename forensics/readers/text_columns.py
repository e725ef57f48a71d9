"""Text fields as columns, for the readers that parse a run of lines at a time (zeek_columns, eve_columns,
nfdump_csv_columns): addresses (textflows.parse_addr, dotted quads as arrays, the rest once per distinct
text), decimal digits, values mapped once per distinct text, and a delimited run read as text columns."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from forensics.netaddr import V4_MAPPED
from forensics.readers.textflows import parse_addr
from forensics.records import FlowColumns

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# what ipaddress reads as IPv4 (no leading zeros, no spaces), matched by Arrow's RE2
DOTTED = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"
_MASK64 = (1 << 64) - 1


def parse_addresses(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hi, lo, valid): the halves of parse_addr(x) for each x of `text` (uint64), valid False where it is None
    (NULL, empty, '-' or unreadable)."""
    encoded = pc.dictionary_encode(text)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    words = encoded.dictionary
    u_hi = np.zeros(len(words) + 1, np.uint64)
    u_lo = np.zeros(len(words) + 1, np.uint64)
    u_ok = np.zeros(len(words) + 1, bool)
    dotted = np.asarray(pc.match_substring_regex(words, DOTTED).to_numpy(zero_copy_only=False), bool)
    if dotted.any():
        quads = pc.list_flatten(pc.split_pattern(words.filter(pa.array(dotted)), ".")).cast(pa.uint64())
        q = quads.to_numpy().reshape(-1, 4)
        u_lo[:-1][dotted] = (q[:, 0] << np.uint64(24) | q[:, 1] << np.uint64(16) | q[:, 2] << np.uint64(8)
                             | q[:, 3]) | np.uint64(V4_MAPPED)
        u_ok[:-1][dotted] = True
    for i in np.flatnonzero(~dotted).tolist():
        value = parse_addr(words[i].as_py())
        if value is not None:
            u_hi[i], u_lo[i], u_ok[i] = value >> 64, value & _MASK64, True
    at = np.asarray(encoded.indices.fill_null(len(words)).to_numpy(zero_copy_only=False), np.int64)
    return u_hi[at], u_lo[at], u_ok[at]


_DIGITS = r"^[0-9]{1,18}$"


def digits(text: pa.Array | None, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(values, valid) of textflows._int over text columns ("" and "-" NULL, a missing column all NULL); None
    when some text is not plain decimal digits (what _int reads another way, or refuses)."""
    if text is None:
        return np.zeros(n, np.int64), np.zeros(n, bool)
    text = pc.if_else(pc.is_in(text, value_set=pa.array(["", "-"])), pa.scalar(None, pa.string()), text)
    if pc.any(pc.invert(pc.match_substring_regex(text, _DIGITS))).as_py():
        return None
    ok = ~np.asarray(text.is_null().to_numpy(zero_copy_only=False), bool)
    return np.asarray(text.fill_null("0").cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64), ok


def integers(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(values, valid) of an integer column (NULL: 0, not valid)."""
    ok = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), bool)
    return np.asarray(column.fill_null(0).to_numpy(zero_copy_only=False), np.int64), ok


def mapped(text: pa.Array | None, n: int, convert: Callable[[str], int | None]) -> tuple[np.ndarray, np.ndarray]:
    """(convert(x), valid) for each x of `text`, once per distinct text; valid False where x is NULL or convert
    gives None (a missing column: all not valid)."""
    if text is None:
        return np.zeros(n, np.int64), np.zeros(n, bool)
    encoded = pc.dictionary_encode(text)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    numbers = [convert(w) for w in encoded.dictionary.to_pylist()]
    u_value = np.array([0 if x is None else x for x in numbers] + [0], np.int64)
    u_ok = np.array([x is not None for x in numbers] + [False])
    at = np.asarray(encoded.indices.fill_null(len(numbers)).to_numpy(zero_copy_only=False), np.int64)
    return u_value[at], u_ok[at]


def delimited(run: bytes | memoryview, names: list[str], delimiter: str, wanted: set[str] | None = None,
              ) -> pa.Table | None:
    """A run of delimited lines (no quoting) as text columns named `names` (only those in `wanted`); None when a
    line has another number of fields, or a line is empty (the caller counts one row a line)."""
    bad = [0]

    def count_bad(row: object) -> str:
        bad[0] += 1
        return "skip"

    try:
        table = pcsv.read_csv(
            pa.py_buffer(run), read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 20),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, quote_char=False, ignore_empty_lines=False,
                                            invalid_row_handler=count_bad),
            convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in names}, strings_can_be_null=False,
                                                include_columns=[c for c in names if wanted is None or c in wanted]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return None if bad[0] else table


def ip_versions(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """textflows.addr_version over address halves: 4 for an IPv4-mapped address, else 6."""
    return np.where((hi == 0) & (lo >> np.uint64(32) == 0xFFFF), 4, 6)


def two_way(second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For connections that give one record each, and a reverse one where `second`: (the connection of each
    record, whether it is the reverse one), in order (each connection's first record, then its reverse)."""
    per = 1 + second.astype(np.int64)
    row = np.repeat(np.arange(len(second)), per)
    reverse = np.zeros(len(row), bool)
    reverse[(np.cumsum(per) - per)[second] + 1] = True
    return row, reverse


def put_endpoints(cols: FlowColumns, a: tuple[np.ndarray, np.ndarray, np.ndarray],
                  b: tuple[np.ndarray, np.ndarray, np.ndarray], row: np.ndarray, reverse: np.ndarray) -> None:
    """src_ip, dst_ip and ip_version of two_way's records: a -> b, or b -> a on a reverse record; a and b are
    parse_addresses' (hi, lo, valid) per connection."""
    for key, fwd, back in (("src_ip", a, b), ("dst_ip", b, a)):
        cols.values[key + "_hi"] = np.where(reverse, back[0][row], fwd[0][row]).astype(np.uint64)
        cols.values[key + "_lo"] = np.where(reverse, back[1][row], fwd[1][row]).astype(np.uint64)
        ok = np.where(reverse, back[2][row], fwd[2][row])
        if not ok.all():
            cols.valid[key] = ok
    cols.put("ip_version", ip_versions(cols.values["src_ip_hi"], cols.values["src_ip_lo"]),
             cols.valid.get("src_ip"))


__all__ = ["DOTTED", "delimited", "digits", "integers", "ip_versions", "mapped", "parse_addresses", "put_endpoints",
           "two_way"]
