"""One rule for every error: usage errors exit 2 with Typer's usage message; every other failure is one line
on stderr naming the file and place, exit 1 (partial) or 2 (fatal); never a traceback unless --debug."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap

import pytest

from tests import builders as b
from tests.conftest import CORPUS, ROOT
from tests.inprocess import cli

# a real capture of the corpus: 148,872 bytes, 2,011 packets (MANIFEST.tsv)
CAPTURE = CORPUS / "files" / "nDPI" / "synscan.pcap"


def run(*args, cwd=None, env=None, preexec_fn=None, stdin=None):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    if "FORENSICS_DEBUG" not in (env or {}):
        full_env.pop("FORENSICS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True, cwd=cwd,
                          env=full_env, preexec_fn=preexec_fn, stdin=stdin, timeout=120)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def one_line(proc, *expect: str) -> str:
    """The run printed exactly one line on stderr, holding every `expect`, and no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    got = lines(proc.stderr)
    assert len(got) == 1, proc.stderr
    for e in expect:
        assert e in got[0], (e, got[0])
    return got[0]


def write_capture(path, n=50):
    path.write_bytes(b.pcap_file([
        (1700000000.0 + i, b.eth(0x0800, b.ipv4("192.168.1.5", "10.9.8.7", 17, b.udp(5000 + i % 3, 53, b"q" * 80))))
        for i in range(n)]))
    return path


@pytest.fixture(scope="module")
def case_db(tmp_path_factory):
    d = tmp_path_factory.mktemp("case")
    cap = write_capture(d / "a.pcap", n=400)
    db = d / "c.duckdb"
    proc = cli("import", "--quiet", "--db", str(db), str(cap))
    assert proc.returncode == 0, proc.stderr
    return db


# --- usage errors: Typer's message, exit 2 -------------------------------------------------------------

@pytest.mark.parametrize("args, says", [
    (["--no-such-option"], "No such option"),
    (["import", "--no-such-option", "x"], "No such option"),
    (["frobnicate"], "No such command"),
    (["import"], "Missing argument"),
    (["import", "--idle-timeout", "soon", "x"], "Invalid value"),
    (["report"], "Missing argument"),
])
def test_usage_errors_exit_2_with_the_usage_message(args, says):
    # the real process for an option and a value, in-process (Typer's same standalone exit) for the others
    proc = run(*args) if says in ("No such option", "Invalid value") else cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Usage:" in proc.stderr and says in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_help_exits_0():
    proc = run("--help")
    assert proc.returncode == 0 and "import" in proc.stdout and "--debug" in proc.stdout


# --- bad output paths: one line, exit 2, before any work ------------------------------------------------

def test_output_naming_a_folder_is_refused_before_the_query(tmp_path):
    # the case does not exist: the -o check comes first, so the line names the output, not the database
    proc = run("report", "top_talkers", "--db", str(tmp_path / "none.duckdb"), "-F", "table", "-o", str(tmp_path))
    assert proc.returncode == 2
    one_line(proc, str(tmp_path), "names a folder")
    proc = run("carve", "--db", str(tmp_path / "none.duckdb"), "--filter", "udp", "-w", str(tmp_path))
    assert proc.returncode == 2
    one_line(proc, "-w names a folder")


def test_output_in_a_missing_folder_is_refused(tmp_path, case_db):
    out = tmp_path / "no" / "such" / "r.csv"
    proc = run("report", "top_talkers", "--db", str(case_db), "-F", "csv", "-o", str(out))
    assert proc.returncode == 2
    one_line(proc, str(out), "does not exist")
    proc = run("carve", "--db", str(case_db), "--filter", "udp", "-w", str(out))
    assert proc.returncode == 2
    one_line(proc, "does not exist")
    proc = run("demo", "--quiet", "--out", str(CAPTURE))  # a file where a folder is needed
    assert proc.returncode in (2,)
    assert "Traceback" not in proc.stderr


def test_output_where_no_file_can_be_created_is_refused(tmp_path):
    # /proc takes no new files, whoever runs the test (root included): the probe file finds out
    proc = run("report", "top_talkers", "--db", str(tmp_path / "none.duckdb"), "-F", "csv", "-o",
               "/proc/forensics-report.csv")
    assert proc.returncode == 2
    one_line(proc, "/proc/forensics-report.csv", "cannot create a file in /proc")


def test_dev_full_is_one_line_exit_2(case_db):
    proc = run("report", "top_talkers", "--db", str(case_db), "-F", "csv", "-o", "/dev/full")
    assert proc.returncode == 2
    one_line(proc, "/dev/full", "No space left on device")
    proc = run("carve", "--db", str(case_db), "--filter", "udp", "-w", "/dev/full")
    assert proc.returncode == 2
    one_line(proc, "/dev/full", "No space left on device")


def _small_file_limit():
    """In the child: files may not grow past 4 KiB (writes fail with EFBIG, as on a full disk)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 10, 4 << 10))


def test_a_write_failing_at_the_end_leaves_no_half_file(tmp_path, case_db):
    out = tmp_path / "r.html"
    out.write_text("the previous report\n")
    proc = run("report", "top_talkers", "--db", str(case_db), "-F", "html", "-o", str(out),
               preexec_fn=_small_file_limit)
    assert proc.returncode == 2
    one_line(proc, str(out), "File too large")
    assert out.read_text() == "the previous report\n"
    pcap = tmp_path / "ev.pcap"  # 400 packets of 136 bytes: more than 4 KiB
    proc = run("carve", "--db", str(case_db), "--filter", "udp", "-w", str(pcap), preexec_fn=_small_file_limit)
    assert proc.returncode == 2
    one_line(proc, str(pcap), "File too large")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temp file, no partial pcap
    # without the limit both are written whole (in-process: the real process's exit codes are above)
    assert cli("carve", "--db", str(case_db), "--filter", "udp", "-w", str(pcap)).returncode == 0
    assert pcap.stat().st_size == 24 + 400 * (16 + 14 + 20 + 8 + 80)


# --- internal errors --------------------------------------------------------------------------------------

_BOOM = textwrap.dedent("""
    import sys
    import forensics.store.info as info

    def boom(*args, **kwargs):
        raise ZeroDivisionError("a bug\\nwith a second line")

    info.case_info = boom
    from forensics.cli import main

    sys.argv = ["forensics", *sys.argv[1:]]
    main()
""")


def _boom(*args, env=None):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    if "FORENSICS_DEBUG" not in (env or {}):
        full_env.pop("FORENSICS_DEBUG", None)
    return subprocess.run([sys.executable, "-c", _BOOM, *args], capture_output=True, text=True, env=full_env,
                          timeout=120)


def test_an_unexpected_exception_is_one_line_exit_2(case_db):
    proc = _boom("info", "--db", str(case_db))
    assert proc.returncode == 2
    line = one_line(proc, "forensics: internal error: ZeroDivisionError: a bug")
    assert line.endswith("(run with --debug or FORENSICS_DEBUG=1 for the traceback)")


def test_debug_shows_the_traceback(case_db):
    for proc in (_boom("--debug", "info", "--db", str(case_db)),
                 _boom("info", "--db", str(case_db), env={"FORENSICS_DEBUG": "1"})):
        assert proc.returncode == 2
        assert "Traceback (most recent call last)" in proc.stderr
        assert "in boom" in proc.stderr
        assert lines(proc.stderr)[-1].startswith("forensics: internal error: ZeroDivisionError")


def test_a_forensics_error_stays_one_line_and_debug_adds_its_traceback(tmp_path):
    proc = run("info", "--db", str(tmp_path / "none.duckdb"))
    assert proc.returncode == 2
    one_line(proc, "none.duckdb", "no case database")
    proc = run("--debug", "info", "--db", str(tmp_path / "none.duckdb"))
    assert proc.returncode == 2 and "Traceback" in proc.stderr


# --- inputs: missing, special files, damaged ----------------------------------------------------------------

def test_missing_file_is_one_line_exit_1_and_the_rest_is_imported(tmp_path):
    good = write_capture(tmp_path / "good.pcap")
    proc = run("import", "--quiet", "--db", str(tmp_path / "c.duckdb"), str(tmp_path / "gone.pcap"), str(good))
    assert proc.returncode == 1
    one_line(proc, f"{tmp_path / 'gone.pcap'}: no such file or folder")


def test_special_files_given_as_input_say_what_they_are(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    good = write_capture(tmp_path / "good.pcap")
    db = tmp_path / "c.duckdb"
    proc = run("import", "--quiet", "--db", str(db), str(fifo), "/dev/zero", "/dev/urandom", str(good))
    assert proc.returncode == 1  # rejected ones, the rest kept
    assert "Traceback" not in proc.stderr
    got = lines(proc.stderr)
    assert len(got) == 3, proc.stderr
    assert got[0].startswith(f"forensics: {fifo}: a named pipe (FIFO)")
    assert got[1].startswith("forensics: /dev/zero: a character device")
    assert got[2].startswith("forensics: /dev/urandom: a character device")
    info = cli("info", "--json", "--db", str(db))
    assert '"packets": 50' in info.stdout


def test_special_entries_inside_a_folder_are_reported_and_counted(tmp_path):
    caps = tmp_path / "caps"
    (caps / "sub").mkdir(parents=True)
    write_capture(caps / "sub" / "good.pcap")
    os.mkfifo(caps / "pipe")
    (caps / "dangling").symlink_to(tmp_path / "nowhere.pcap")
    (caps / "loop1").symlink_to(caps / "loop2")
    (caps / "loop2").symlink_to(caps / "loop1")
    (caps / "sub" / "up").symlink_to(caps)  # a folder loop
    (caps / "alias").symlink_to(caps / "sub")  # the same folder again: walked once, nothing to say
    proc = run("import", "--json", "--db", str(tmp_path / "c.duckdb"), str(caps))
    assert proc.returncode == 1
    doc = __import__("json").loads(proc.stdout)
    rejected = {f["path"]: f["message"] for f in doc["files"] if f["status"] == "rejected"}
    assert sorted(rejected) == sorted(str(caps / n) for n in ("pipe", "dangling", "loop1", "loop2", "sub/up"))
    assert "named pipe" in rejected[str(caps / "pipe")]
    assert "dangling symbolic link" in rejected[str(caps / "dangling")]
    assert "symbolic link loop" in rejected[str(caps / "loop1")]
    assert "symbolic link loop" in rejected[str(caps / "sub" / "up")]
    assert doc["totals"]["rejected"] == 5 and doc["totals"]["imported"] == 1
    assert doc["totals"]["packets"] == 50
    text = run("import", "--db", str(tmp_path / "c2.duckdb"), str(caps))
    assert text.returncode == 1 and len(lines(text.stderr)) == 5 and "Traceback" not in text.stderr


def test_a_damaged_capture_is_one_line_with_file_and_offset_exit_1(tmp_path):
    data = CAPTURE.read_bytes()
    cut = tmp_path / "half.pcap"
    cut.write_bytes(data[: len(data) // 2])
    proc = run("import", "--quiet", "--db", str(tmp_path / "c.duckdb"), str(cut))
    assert proc.returncode == 1
    line = one_line(proc, str(cut), "byte offset")
    offset = int(line.split("byte offset ")[1].split(":")[0])
    assert 24 <= offset <= len(data) // 2
