"""`forensics import` begins numba's one-time set-up on a thread of its own (forensics.jit.warm_up) while the case
opens: it happens once, leaves numba able to run the decoder, and FORENSICS_JIT_WARM=0 turns it off. Each case runs
in a fresh interpreter: numba's set-up is once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import CORPUS

PROBE = """
import json, threading
import forensics.jit as jit
jit.warm_up()
first = jit._warming
jit.warm_up()
second = jit._warming
if first is not None:
    first.join()
print(json.dumps({"started": first is not None, "once": first is second,
                  "loaded": len(jit._first_kernel.signatures),
                  "threads": [t.name for t in threading.enumerate() if t.name == "forensics-jit-warm"]}))
"""


def _probe(env_value: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "FORENSICS_JIT_WARM"}
    if env_value is not None:
        env["FORENSICS_JIT_WARM"] = env_value
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def test_warm_up_loads_numba_once_on_its_own_thread():
    got = _probe(None)
    assert got == {"started": True, "once": True, "loaded": 1, "threads": []}


def test_warm_up_off():
    assert _probe("0") == {"started": False, "once": True, "loaded": 0, "threads": []}


def test_import_with_the_warm_up_stores_the_capture(tmp_path):
    """The CLI import (which warms) gives the packets and flows of the one without it."""
    capture = str(CORPUS / "files/zeek/smb__smb1.pcap")
    results = {}
    for value in ("1", "0"):
        env = {**os.environ, "FORENSICS_JIT_WARM": value}
        out = subprocess.run([sys.executable, "-m", "forensics", "import", "--json", "--db",
                              str(tmp_path / f"case{value}"), capture], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        f = json.loads(out.stdout)["files"][0]
        results[value] = (f["status"], f["packets"], f["flows"])
    assert results["1"] == results["0"]
    assert results["1"][1] == 36
