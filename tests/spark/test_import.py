"""`forensics import --engine spark`: one Spark task per file gives the lake a local import gives (row counts
and a hash of every table and view); a single-file case is refused in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forensics.errors import UsageError
from forensics.ingest import ImportOptions, import_paths
from forensics.spark.import_job import spark_import_paths
from forensics.store import Case
from tests.conftest import CORPUS, ROOT
from tests.table_hashes import table_hashes

FILES = [CORPUS / "files/zeek/http__iso-download.pcap.gz", CORPUS / "files/graylog-netflow/netflow9.pcap",
         CORPUS / "files/gopacket/le__test006.pcapng"]


def test_spark_import_gives_the_local_lake(spark, tmp_path):
    damaged = tmp_path / "damaged.pcap"
    damaged.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(range(7, 200)))  # rejected whole: the next ids shift
    files = [str(damaged), *map(str, FILES)]
    with Case.open(tmp_path / "local") as case:
        local = import_paths(case, files, ImportOptions(jobs=1))
    with Case.open(tmp_path / "spark") as case:
        on_spark = spark_import_paths(case, files, ImportOptions(), spark=spark)
    assert [(f.status, f.capture_id, f.packets, f.flows, f.flow_records, f.message) for f in on_spark.files] == \
        [(f.status, f.capture_id, f.packets, f.flows, f.flow_records, f.message) for f in local.files]
    assert on_spark.exit_code == local.exit_code == 1
    a, b = table_hashes(tmp_path / "local"), table_hashes(tmp_path / "spark")
    assert a == b
    assert a["packets"][0] > 250 and a["flows"][0] > 20
    assert not any((tmp_path / "spark" / "_staging").iterdir())


def test_single_file_case_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_LAYOUT", "file")  # new cases are lakes by default
    with Case.open(tmp_path / "case.duckdb") as case:
        assert case.lake_root is None
        with pytest.raises(UsageError, match="lake case .* only; convert this one first"):
            spark_import_paths(case, [str(FILES[0])], ImportOptions())
    env = {k: v for k, v in os.environ.items() if k != "FORENSICS_LAYOUT"} | {"PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "forensics", "import", str(FILES[0]), "--db",
                          str(tmp_path / "case.duckdb"), "--engine", "spark"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"forensics: {tmp_path / 'case.duckdb'}: --engine spark imports into a lake case (a folder) only; "
        f"convert this one first: forensics convert --db {tmp_path / 'case.duckdb'}"]
