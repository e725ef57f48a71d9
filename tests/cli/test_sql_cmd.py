"""`forensics sql`: SQL on the case, read-only, with the report macros and config tables loaded.

The expected values come from the frames the test builds (hosts, packet counts, byte sizes) and from the
config the test writes, never from the tool.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import builders as b
from tests.inprocess import cli

ROOT = Path(__file__).resolve().parents[2]
T0 = 1700000000.0
# (src, dst, packets, udp payload size): what the capture holds, per host pair
TRAFFIC = [("192.168.1.5", "8.8.8.8", 7, 30), ("192.168.1.6", "1.1.1.1", 3, 100), ("203.0.113.9", "192.168.1.5", 4, 10)]


def forensics(*args, stdin=None, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True, input=stdin,
                          env=env, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlcase")
    frames = []
    for n, (src, dst, count, size) in enumerate(TRAFFIC):
        for i in range(count):
            frames.append((T0 + n * 10 + i, b.eth(0x0800, b.ipv4(src, dst, 17, b.udp(5000 + n, 53, b"q" * size)))))
    (folder / "a.pcap").write_bytes(b.pcap_file(frames))
    # home is only 192.168.1.5/32 in this case, so is_home must follow the config, not the built-in ranges
    (folder / "forensics.toml").write_text('[home]\nnetworks = ["192.168.1.5/32"]\n[subnetworks]\nlab = "1.1.1.0/24"\n')
    path = folder / "case.duckdb"
    assert cli("import", "--quiet", "--db", str(path), str(folder / "a.pcap")).returncode == 0
    return path


PER_SOURCE = ("SELECT ip_text(src_ip) AS src, count(*) AS packets, sum(ip_len) AS ip_bytes, bool_or(is_home(src_ip)) "
              "AS home FROM packets GROUP BY src_ip ORDER BY src")


def expected_per_source():
    want = {}
    for src, _, count, size in TRAFFIC:
        want[src] = (count, count * (20 + 8 + size), src == "192.168.1.5")
    return want


def test_json_rows_with_report_macros_and_config(db):
    run = cli("sql", "--db", str(db), "--json", PER_SOURCE)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert {r["src"]: (r["packets"], r["ip_bytes"], r["home"]) for r in rows} == expected_per_source()


def test_table_is_printed_when_piped_and_csv_parses(db):
    run = forensics("sql", "--db", str(db), PER_SOURCE)  # stdout is a pipe here: still a table
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["src", "packets", "ip_bytes", "home"]
    assert set(lines[1]) <= {"-", " "} and lines[-1] == f"({len(TRAFFIC)} rows)"
    table = {ln.split()[0]: ln.split()[1:] for ln in lines[2:-1]}
    assert {k: (int(v[0]), int(v[1]), v[2] == "true") for k, v in table.items()} == expected_per_source()
    out = cli("sql", "--db", str(db), "--csv", PER_SOURCE)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {r["src"]: (int(r["packets"]), int(r["ip_bytes"]), r["home"] == "true") for r in rows} == \
        expected_per_source()


def test_sql_from_a_file_and_from_stdin(db, tmp_path):
    query = "SELECT count(*) AS n FROM _nets WHERE kind = 'subnetwork' AND in_net(ipv4('1.1.1.7'), kind, name)"
    (tmp_path / "q.sql").write_text("-- a comment\n" + query + ";\n")
    from_file = cli("sql", "--db", str(db), "--json", "-f", str(tmp_path / "q.sql"))
    from_stdin = forensics("sql", "--db", str(db), "--json", stdin=query)
    assert json.loads(from_file.stdout) == json.loads(from_stdin.stdout) == [{"n": 1}]
    several = forensics("sql", "--db", str(db), "--json", stdin="CREATE TEMP TABLE t AS SELECT 41 AS x; "
                                                                "SELECT x + 1 AS y FROM t")
    assert json.loads(several.stdout) == [{"y": 42}]  # TEMP tables work; the last statement's rows print


def test_timestamps_are_iso_utc_with_z(db):
    run = cli("sql", "--db", str(db), "--json", "SELECT min(ts) AS t FROM packets")
    assert json.loads(run.stdout) == [{"t": "2023-11-14T22:13:20Z"}]  # T0 = 1700000000 s


@pytest.mark.parametrize("statement, fragment", [
    ("DELETE FROM flows", "read-only"),
    ("CREATE TABLE x AS SELECT 1", "read-only"),
    ("COPY flows TO '{tmp}/out.csv'", "disabled"),
    ("ATTACH '{tmp}/other.duckdb' AS o", "disabled"),
    ("SELEC 1", "Parser Error"),
    ("SELECT no_such_column FROM flows", "no_such_column"),
    ("SELECT 1; SELECT 'x'::INTEGER", "statement 2 of 2"),
])
def test_writes_and_bad_sql_are_one_line_exit_2(db, tmp_path, statement, fragment):
    before = flow_count(db)
    args = ("sql", "--db", str(db), statement.format(tmp=tmp_path))
    if fragment in ("read-only", "Parser Error"):  # the real process: its exit code and its one stderr line
        run = forensics(*args)
        assert run.returncode == 2
        stderr = run.stderr
    else:  # in-process: the error the process turns into that line and exit code (forensics.cli.main)
        from forensics.errors import ForensicsError

        with pytest.raises(ForensicsError) as err:
            cli(*args)
        assert err.value.exit_code == 2
        stderr = f"forensics: {err.value}\n"
    assert stderr.startswith("forensics: sql: ") and len(stderr.strip().splitlines()) == 1, stderr
    assert fragment in stderr and "Traceback" not in stderr
    assert not list(tmp_path.iterdir())  # nothing written beside the case
    assert flow_count(db) == before > 0


def flow_count(db):
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM flows").fetchone()[0]
    finally:
        con.close()


def test_sql_file_must_be_a_regular_file(db):
    run = forensics("sql", "--db", str(db), "-f", "/dev/zero")
    assert run.returncode == 2 and run.stderr.strip() == \
        "forensics: sql -f: /dev/zero is a character device, not a regular file; name a regular file"


def test_no_sql_given_is_a_usage_error(db):
    run = subprocess.run([sys.executable, "-m", "forensics", "sql", "--db", str(db)], capture_output=True,
                         text=True, stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 2 and "no statement" in run.stderr


def test_closed_pipe_ends_quietly(db):
    script = (f"{sys.executable} -m forensics sql --db {db} 'SELECT * FROM range(200000)' | head -2; "
              "echo ${PIPESTATUS[0]} >&2")
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.stdout.splitlines()[0].strip() == "range"
    assert run.stderr.strip() == "0"
