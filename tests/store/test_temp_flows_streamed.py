"""A lake's publish writes the import's exported flows (its temp flows table) batch by batch
(forensics/store/lake.py, Stage._stage_temp_flows): the same parts and rows as the whole table at once, whatever the
batch size. Batches of a few rows make every (capture, day) run cross batch edges, and a capture of NetFlow packets
merges its exported flows with the flows built from its packets in one part."""

from __future__ import annotations

import pytest

from forensics.ingest import import_paths
from forensics.store import Case, lake
from tests.conftest import CORPUS
from tests.reports.test_flow_rollup import netflow_pcap

FILES = ["graylog-netflow/netflow5.pcap", "pmacct/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources__traffic-00.pcap",
         "akvorado/netflow__data+templates.pcap", "scapy/ipfix.pcap"]


def _lake(folder, monkeypatch, batch: int, extra: list[str]) -> tuple[list, list]:
    monkeypatch.setattr(lake, "TEMP_FLOW_BATCH", batch)
    with Case.open(folder) as case:
        summary = import_paths(case, [str(CORPUS / "files" / f) for f in FILES] + extra)
        assert {f.status for f in summary.files} <= {"imported", "partial"}
        parts = case.con.execute("SELECT table_name, capture_id, day, rows, min_ts, max_ts FROM lake_parts "
                                 "WHERE table_name = 'flows' ORDER BY ALL").fetchall()
        flows = case.con.execute("SELECT * FROM flows ORDER BY capture_id, flow_id").fetchall()
    return parts, flows


@pytest.mark.parametrize("batch", [1, 7])
def test_batches_give_the_parts_and_rows_of_one_write(tmp_path, monkeypatch, batch):
    # + NetFlow datagrams exported 10 minutes after a midnight: its flows start on two days (two parts)
    night = tmp_path / "midnight.pcap"
    netflow_pcap(night, 20, base=1_700_006_400 - 1_800)  # exported from 00:20 on, starts from 23:40
    whole = _lake(tmp_path / "whole", monkeypatch, 1 << 30, [str(night)])
    streamed = _lake(tmp_path / "streamed", monkeypatch, batch, [str(night)])
    # each part holds one capture's flows of one UTC day, all of them listed
    assert all(lo.date() == day == hi.date() for _, _, day, _, lo, hi in whole[0])
    assert sum(r[3] for r in whole[0]) == len(whole[1])
    days = {(cid, day) for _, cid, day, *_ in whole[0]}
    assert len(days) > len({cid for cid, _ in days})  # a capture's flows in two days' parts
    assert whole[0] and len(whole[1]) > 40
    sources = {row[1] for row in whole[1]}  # (flow_id, source, ...)
    assert "pcap" in sources and len(sources) > 1  # flows built from packets and exported ones, merged per part
    assert streamed == whole
