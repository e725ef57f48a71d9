"""The real server: `forensics serve` (uvicorn) on 127.0.0.1 and a port the system picks, one request over
TCP, then stopped with SIGTERM, all in bounded time. A non-loopback address is refused with one line."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        assert left > 0, f"no start-up line within {timeout} s: {line!r}"
        ready, _, _ = select.select([proc.stderr], [], [], left)
        if ready:
            ch = os.read(proc.stderr.fileno(), 1)
            assert ch, f"the server exited: {line!r}"
            line += ch
    return line.decode()


def test_real_server_answers_one_path_and_stops(case_path, validate):
    proc = subprocess.Popen([sys.executable, "-m", "forensics", "serve", "--db", str(case_path), "--host",
                             "127.0.0.1", "--port", "0", "--quiet"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, env=ENV, cwd=ROOT)
    try:
        line = _read_line(proc, 60)
        assert "read-only" in line and "loopback only" in line
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and not url.startswith("http://127.0.0.1:0/")
        r = httpx.get(url + "api/report/internet/originasn", timeout=30,
                      params={"request": json.dumps({"report_datetime": {"defined_by": "daily",
                                                                         "end_time": "2016-09-06 14:00"},
                                                     "unit": "bps", "display_data": "yes"})})
        assert r.status_code == 200
        assert validate(r.json())["response"]["result"]["data"]["report"] == "Internet>Breakdown>Origin ASN"
    finally:
        proc.terminate()
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert code == 0


def test_a_non_loopback_address_is_refused_with_one_line(case_path):
    proc = subprocess.run([sys.executable, "-m", "forensics", "serve", "--db", str(case_path), "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=60, env=ENV, cwd=ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--host 0.0.0.0" in lines[0] and "loopback" in lines[0]


def test_loopback_names():
    from forensics.serve import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org", ""))
