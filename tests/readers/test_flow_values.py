"""Exported flow values their columns cannot hold: the record is left out and counted, with its position;
the other records of the file are stored, and nothing raises."""

from __future__ import annotations

import struct

import duckdb
import pytest

from forensics.ingest import import_paths
from forensics.store.flow_table import flow_record_table
from forensics.store.flow_values import RANGES, flow_value_problem
from tests import builders as b

T0 = 1_700_000_000


def ipfix(sets: list[bytes], domain: int = 3) -> bytes:
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), T0, 1, domain) + body


def v9(sets: list[bytes]) -> bytes:
    return struct.pack("!HHIIII", 9, 1, 100_000, T0, 1, 7) + b"".join(sets)


def flowset(set_id: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("!HH", set_id, 4 + len(body)) + body


def template(tid: int, fields: list[tuple[int, int]]) -> bytes:
    return struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", t, n) for t, n in fields)


def capture(tmp_path, datagrams: list[bytes]):
    frames = [(T0 + i, b.eth(0x0800, b.ipv4("192.0.2.1", "198.51.100.9", 17, b.udp(40000, 2055, d))))
              for i, d in enumerate(datagrams)]
    path = tmp_path / "exports.pcap"
    path.write_bytes(b.pcap_file(frames))
    return path


# IPFIX: sourceIPv4Address, destinationIPv4Address, protocolIdentifier, packetDeltaCount, octetDeltaCount,
# flowStartMilliseconds, flowEndMilliseconds
IPFIX_FIELDS = [(8, 4), (12, 4), (4, 1), (2, 8), (1, 8), (152, 8), (153, 8)]


def ipfix_rec(start_ms: int, end_ms: int, proto: int = 6) -> bytes:
    return bytes([10, 0, 0, 1, 10, 0, 0, 2, proto]) + struct.pack("!QQQQ", 3, 300, start_ms, end_ms)


def test_ipfix_time_beyond_any_timestamp(case, tmp_path):
    """flowStartMilliseconds with a flipped top byte: microseconds past 2**63 (OverflowError before)."""
    good = ipfix_rec(T0 * 1000, T0 * 1000 + 500)
    bad = ipfix_rec(0xFF00_0000_0000_0000 | (T0 * 1000), T0 * 1000 + 500)
    path = capture(tmp_path, [ipfix([flowset(2, template(300, IPFIX_FIELDS))]),
                              ipfix([flowset(300, good + bad + good)]), ipfix([flowset(300, bad)])])
    summary = import_paths(case, [str(path)])
    (r,) = summary.files
    assert r.status == "imported" and summary.exit_code == 0
    assert r.flow_records == 2
    invalid = r.details["flow_exports"]["invalid"]
    (reason,) = invalid
    assert invalid[reason] == 2
    assert reason.startswith("first_ts_us out of range (first: record 2,")  # frame 2 holds the first bad one
    assert case.con.execute("SELECT count(*), min(epoch_ms(first_ts)) FROM flows WHERE source = 'ipfix'"
                            ).fetchone() == (2, T0 * 1000)


def test_v9_field_longer_than_its_column(case, tmp_path):
    """A template giving protocol 4 bytes: 343,933,358 cannot be an IP protocol (ConversionException before)."""
    fields = [(8, 4), (12, 4), (4, 4), (2, 4), (1, 4), (22, 4), (21, 4)]
    rec_ok = bytes([10, 0, 0, 1, 10, 0, 0, 2]) + struct.pack("!IIIII", 17, 1, 60, 90_000, 95_000)
    rec_bad = bytes([10, 0, 0, 1, 10, 0, 0, 2]) + struct.pack("!IIIII", 343_933_358, 1, 60, 90_000, 95_000)
    path = capture(tmp_path, [v9([flowset(0, template(260, fields)), flowset(260, rec_ok + rec_bad)])])
    summary = import_paths(case, [str(path)])
    (r,) = summary.files
    assert r.status == "imported" and r.flow_records == 1
    (reason,) = r.details["flow_exports"]["invalid"]
    assert "ip_proto out of range" in reason and "343933358" in reason and "record 1" in reason
    assert case.con.execute("SELECT ip_proto FROM flows WHERE source = 'netflow_v9'").fetchall() == [(17,)]


def _record(**values) -> dict:
    rec = {"source": "ipfix", "record_pos": 1, "first_ts_us": T0 * 10**6, "last_ts_us": T0 * 10**6,
           "packets": 1, "bytes": 40}
    rec.update(values)
    return rec


@pytest.mark.parametrize("column", sorted(RANGES))
def test_each_range_is_its_columns(case, column):
    """The highest and lowest value of each range go into the flows table; one beyond is left out."""
    from forensics.store import CaptureMeta

    lo, hi = RANGES[column]
    with case.importing(CaptureMeta("/x.pcap", "0" * 64, 1, "pcap")) as writer:
        writer.append_flow_records([_record(**{column: lo}), _record(**{column: hi})])
        assert writer.counts.flow_records == 2 and not writer.invalid_flows
        writer.append_flow_records([_record(**{column: lo - 1}), _record(**{column: hi + 1}), _record()])
        assert writer.counts.flow_records == 3
        assert sum(writer.invalid_flows.values()) == 2
    # and the boundaries are the column's: DuckDB refuses one beyond them
    col = {"first_ts_us": "first_ts", "last_ts_us": "last_ts"}.get(column, column)
    ctype = case.con.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = 'flows' AND column_name = $c",
                             {"c": col}).fetchone()[0]
    if ctype != "TIMESTAMP":
        for beyond in (lo - 1, hi + 1):
            with pytest.raises(duckdb.Error):
                case.con.execute(f"SELECT {beyond}::HUGEINT::{ctype}").fetchall()


def test_scaled_counts_must_fit():
    rec = _record(packets=2**63, sampling_rate=2)
    assert flow_value_problem(rec)[0] == "packets"
    table, bad = flow_record_table([rec, _record(packets=2**63, sampling_rate=1)])
    assert len(table) == 1 and len(bad) == 1


def test_missing_or_not_integer():
    assert flow_value_problem(_record(packets=None)) == ("packets", "missing")
    assert flow_value_problem(_record(src_port="80"))[0] == "src_port"
    table, bad = flow_record_table([_record(src_port="80"), _record(src_port=80)])
    assert len(table) == 1 and bad[0][1] == "src_port"


def test_flow_ids_unique_when_held_records_join_an_earlier_capture(case, tmp_path, monkeypatch):
    """Data sets held from file A decoded while importing file B are stored under A; B's own records
    appended after them (several flushes) must not reuse their flow_ids."""
    import forensics.ingest.flow_exports as fe

    monkeypatch.setattr(fe, "CHUNK", 2)
    recs = b"".join(ipfix_rec(T0 * 1000 + i, T0 * 1000 + i + 1) for i in range(3))
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    first = capture(a_dir, [ipfix([flowset(300, recs)])])  # data before any template
    second = capture(b_dir, [ipfix([flowset(2, template(300, IPFIX_FIELDS)), flowset(300, recs)])]
                     + [ipfix([flowset(300, recs)])] * 3)
    import_paths(case, [str(first)])
    import_paths(case, [str(second)])
    total, distinct = case.con.execute("SELECT count(*), count(DISTINCT flow_id) FROM flows WHERE source = 'ipfix'"
                                       ).fetchone()
    assert total == 15 and distinct == total
