"""One transaction per file: an interrupted import leaves the case as it was; re-import is a no-op."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from forensics.ingest import ImportOptions, import_paths
from forensics.store import Case
from tests import builders as b


def small_pcap(tmp_path, name="a.pcap", n=20, port=80) -> str:
    path = tmp_path / name
    path.write_bytes(b.pcap_file([
        (1700000000.0 + i, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 6, b.tcp(40000, port, b.ACK))))
        for i in range(n)]))
    return str(path)


def big_pcap(tmp_path, n=1_500_000) -> str:
    path = tmp_path / "big.pcap"
    header = b.pcap_file([])
    frame = b.eth(0x0800, b.ipv4("10.9.0.1", "10.9.0.2", 17, b.udp(1, 2, b"z" * 30)))
    record = b.pcap_file([(1700000000.0, frame)])[24:]
    path.write_bytes(header + record * n)
    return str(path)


def _read_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("rchar"))
    except (OSError, StopIteration):
        return 0


def counts(con) -> tuple:
    return con.execute("SELECT (SELECT count(*) FROM captures), (SELECT count(*) FROM packets), "
                       "(SELECT count(*) FROM flows), (SELECT count(*) FROM interfaces)").fetchone()


def test_exception_mid_file_rolls_back(tmp_path):
    case = Case.open(tmp_path / "c.duckdb")
    import_paths(case, [small_pcap(tmp_path)])
    before = counts(case.con)

    class Boom:
        def file_started(self, path, size):
            pass

        def advanced(self, bytes_done, packets):
            raise KeyboardInterrupt

        def file_done(self, result):
            pass

    with pytest.raises(KeyboardInterrupt):
        import_paths(case, [small_pcap(tmp_path, "b.pcap", port=81)], progress=Boom())
    assert counts(case.con) == before
    case.close()


def test_sigint_during_import_leaves_previous_data(tmp_path):
    db = tmp_path / "c.duckdb"
    first = small_pcap(tmp_path)
    case = Case.open(db)
    import_paths(case, [first])
    before = counts(case.con)
    case.close()
    big = big_pcap(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "forensics", "import", "--quiet", "--db", str(db), big],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    deadline = time.time() + 60
    # the capture is being decoded (40 MB of its 100 MB read; its sha256 maps the file: no read() counted)
    while time.time() < deadline and proc.poll() is None and _read_bytes(proc.pid) < 40_000_000:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, err)
    assert b"rolled back" in err
    con = duckdb.connect(str(db), read_only=True)
    assert counts(con) == before
    con.close()


def test_reimport_is_a_noop_and_force_replaces(tmp_path):
    case = Case.open(tmp_path / "c.duckdb")
    path = small_pcap(tmp_path)
    first = import_paths(case, [path])
    before = counts(case.con)
    again = import_paths(case, [path])
    assert again.files[0].status == "duplicate"
    assert "already imported" in again.files[0].message
    assert again.exit_code == 0
    assert counts(case.con) == before
    # same content under another name is the same evidence
    copy = tmp_path / "copy.pcap"
    copy.write_bytes(open(path, "rb").read())
    assert import_paths(case, [str(copy)]).files[0].status == "duplicate"
    forced = import_paths(case, [path], ImportOptions(force=True))
    assert forced.files[0].status == "replaced"
    assert counts(case.con) == before
    assert forced.files[0].capture_id != first.files[0].capture_id
    case.close()


def test_killed_import_leaves_nothing_once_the_case_is_opened_again(tmp_path):
    db = tmp_path / "c.duckdb"
    case = Case.open(db)
    import_paths(case, [small_pcap(tmp_path)])
    before = counts(case.con)
    case.close()
    big = big_pcap(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "forensics", "import", "--quiet", "--db", str(db), big],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and _read_bytes(proc.pid) < 60_000_000:
        time.sleep(0.01)
    proc.kill()  # no handler runs: a crash
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    case = Case.open(db, read_only=True)  # any open purges the rows of the capture that never committed
    assert counts(case.con) == before
    case.close()
