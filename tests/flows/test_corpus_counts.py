"""Every NetFlow/IPFIX/sFlow capture of the corpus yields the flow records tshark decodes (MANIFEST.tsv),
templates and data in separate captures decode in either import order (PAIRS.tsv), and bare export
payload files (.dat) import as flow files."""

from __future__ import annotations

import gzip
import re
import subprocess

import pytest
from flowcase import CORPUS, import_capture, import_file, manifest, pairs

from forensics.readers.flowfiles import sniff_flow_file
from forensics.store import Case

EXPORT_ROWS = [r for r in manifest()
               if re.search(r"netflow|ipfix|sflow", r["categories"]) and r["format"].startswith("pcap")]

# Exports found by content on ports tshark does not dissect by default: the tshark decode-as that
# shows them, added to the MANIFEST's count in the test (tshark is the oracle for those too).
EXTRA_DECODE = {"files/tcpdump/sflow_multiple_counter_30_pdus.pcap": ("udp.port==40000,cflow", "udp.srcport==40000")}


def tshark_cflow_records(path, decode_as: str, display: str) -> int:
    """Flow records tshark decodes with a decode-as rule (one cflow.srcaddr per record)."""
    out = subprocess.run(["tshark", "-r", str(path), "-d", decode_as, "-Y", f"cflow && {display}",
                          "-T", "fields", "-e", "cflow.srcaddr"], capture_output=True, text=True, check=True)
    return sum(len(line.split(",")) for line in out.stdout.splitlines() if line.strip())


def test_corpus_has_the_export_captures():
    assert len(EXPORT_ROWS) >= 35


@pytest.mark.parametrize("row", EXPORT_ROWS, ids=[r["path"].split("/", 1)[1] for r in EXPORT_ROWS])
def test_capture_yields_tshark_count(tmp_path, row):
    path = CORPUS / row["path"]
    expected = int(row["flow_records"])
    if row["path"] in EXTRA_DECODE:
        expected += tshark_cflow_records(path, *EXTRA_DECODE[row["path"]])
    with Case.open(tmp_path / "case.duckdb") as case:
        stats = import_capture(case, path)
        n = case.con.execute("SELECT count(*) FROM flows").fetchone()[0]
        stored = case.con.execute("SELECT flow_records FROM captures").fetchone()[0]
    assert stats["flow_records"] == n == stored
    if row["flow_records_cmp"] == "eq":
        assert n == expected
    else:
        assert n >= expected


PAIR_ROWS = pairs()
ALONE = {r["path"]: int(r["flow_records"]) for r in manifest() if r["flow_records"]}


@pytest.mark.parametrize("pair", PAIR_ROWS, ids=[p["data_file"].rsplit("/", 1)[1] for p in PAIR_ROWS])
def test_pair_template_first(tmp_path, pair):
    with Case.open(tmp_path / "case.duckdb") as case:
        import_capture(case, CORPUS / pair["template_file"])
        stats = import_capture(case, CORPUS / pair["data_file"])
        assert stats["pending_data_sets"] == 0
        total = case.con.execute("SELECT count(*) FROM flows").fetchone()[0]
    assert total == int(pair["flow_records"])


@pytest.mark.parametrize("pair", PAIR_ROWS, ids=[p["data_file"].rsplit("/", 1)[1] for p in PAIR_ROWS])
def test_pair_data_first_then_template(tmp_path, pair):
    with Case.open(tmp_path / "case.duckdb") as case:
        first = import_capture(case, CORPUS / pair["data_file"])
        assert first["flow_records"] == 0
        assert first["pending_data_sets"] >= 1
        pending = case.con.execute("SELECT count(*) FROM flow_pending_sets").fetchone()[0]
        assert pending == first["pending_data_sets"]
        import_capture(case, CORPUS / pair["template_file"])
        total = case.con.execute("SELECT count(*) FROM flows").fetchone()[0]
        # the data file's records, decoded now, belong to the data file (capture 1)
        from_data = case.con.execute("SELECT count(*) FROM flows WHERE capture_id = 1").fetchone()[0]
        counted = case.con.execute("SELECT flow_records FROM captures WHERE capture_id = 1").fetchone()[0]
        left = case.con.execute("SELECT count(*) FROM flow_pending_sets").fetchone()[0]
    assert total == int(pair["flow_records"])
    assert from_data == counted == int(pair["flow_records"]) - ALONE[pair["template_file"]]
    assert left == 0


def test_pair_decodes_same_records_in_both_orders(tmp_path):
    pair = next(p for p in PAIR_ROWS if int(p["flow_records"]) > 0)
    cols = "src_ip, dst_ip, src_port, dst_port, ip_proto, icmp_type, icmp_code, packets, bytes, first_ts, last_ts"
    results = []
    for order in ((pair["template_file"], pair["data_file"]), (pair["data_file"], pair["template_file"])):
        with Case.open(tmp_path / f"case{len(results)}.duckdb") as case:
            for f in order:
                import_capture(case, CORPUS / f)
            where = f"capture_id = {1 if order[0] == pair['data_file'] else 2}"
            results.append(case.con.execute(f"SELECT {cols} FROM flows WHERE {where} ORDER BY ALL").fetchall())
    assert results[0] == results[1] and results[0]


# ---- bare export payloads (.dat) ----

RAW_ROWS = [r for r in manifest() if "raw-datagram" in r["categories"]]


def _group_expected(row) -> int:
    """Flow records of the datagram's group, from tshark's summary in the MANIFEST description."""
    m = re.search(r"(\d+) data records decoded, templates \d+ \+ options templates (\d+)", row["flow_records_tshark"])
    assert m and m.group(2) == "0", row["flow_records_tshark"]
    return int(m.group(1))


def test_raw_files_are_sniffed():
    for row in RAW_ROWS:
        path = CORPUS / row["path"]
        assert sniff_flow_file(str(path), path.read_bytes()[:4096]) == "netflow-raw", row["path"]


@pytest.mark.parametrize("data_first", [False, True])
def test_raw_groups_import(tmp_path, data_first):
    groups: dict[str, list] = {}
    for row in RAW_ROWS:
        groups.setdefault(re.search(r'group ""?(\w+)', row["flow_records_tshark"]).group(1), []).append(row)
    assert len(groups) == 3
    for name, rows in groups.items():
        rows = sorted(rows, key=lambda r: ("_data" in r["path"]) != data_first)
        with Case.open(tmp_path / f"{name}{data_first}.duckdb") as case:
            for row in rows:
                import_file(case, CORPUS / row["path"], "netflow-raw")
            n = case.con.execute("SELECT count(*) FROM flows").fetchone()[0]
            exporters = case.con.execute("SELECT count(*) FROM flows WHERE exporter_ip IS NOT NULL").fetchone()[0]
        assert n == _group_expected(rows[0]), name
        assert exporters == 0


def test_raw_payloads_laid_end_to_end_gzipped(tmp_path):
    """v5 and IPFIX payloads carry their length: several in one (gzip) file split and import."""
    names = ["netflow5_test_juniper_mx80.dat", "ipfix_test_mikrotik_tpl.dat", "ipfix_test_mikrotik_data258.dat"]
    rows = {r["path"].rsplit("/", 1)[1]: r for r in RAW_ROWS}
    expected = _group_expected(rows[names[0]]) + _group_expected(rows[names[1]])
    path = tmp_path / "exports.dat.gz"
    path.write_bytes(gzip.compress(b"".join((CORPUS / "files/logstash-netflow" / n).read_bytes() for n in names)))
    assert sniff_flow_file(str(path), path.read_bytes()[:4096]) == "netflow-raw"
    with Case.open(tmp_path / "case.duckdb") as case:
        stats = import_file(case, path, "netflow-raw")
        assert stats["invalid"] == {} and stats["flow_records"] == expected
        sources = case.con.execute("SELECT source, count(*) FROM flows GROUP BY ALL ORDER BY ALL").fetchall()
    assert sources == [("ipfix", _group_expected(rows[names[1]])), ("netflow_v5", _group_expected(rows[names[0]]))]


SFLOW_ROWS = [r for r in EXPORT_ROWS if "sflow" in r["categories"]]


@pytest.mark.parametrize("row", SFLOW_ROWS, ids=[r["path"].split("/", 1)[1] for r in SFLOW_ROWS])
def test_sflow_counter_samples_equal_tshark(tmp_path, row):
    """Counter samples land in sflow_counters: as many samples as tshark's NumSamples summary names."""
    kinds = {k: int(n) for k, n in re.findall(r"((?:expanded )?(?:counters|flow) sample) (\d+)",
                                              row["flow_records_tshark"])}
    assert kinds
    expected = kinds.get("counters sample", 0) + kinds.get("expanded counters sample", 0)
    with Case.open(tmp_path / "case.duckdb") as case:
        import_capture(case, CORPUS / row["path"])
        samples = case.con.execute(
            "SELECT count(DISTINCT (record_pos, sample_sequence, source_id_type, source_id_index)) "
            "FROM sflow_counters").fetchone()[0]
    assert samples == expected
