"""`forensics packets -v -r FILE` on every NTP capture of the corpus equals `tcpdump -v -nn` whole, NTP fields
included: time messages (leap, stratum, poll, precision, root delay and dispersion, reference id, the four
time stamps and the two differences, key id and digest), control messages (mode 6), mode 7 (leap only),
messages shorter than their kind ('(invalid)')."""

from __future__ import annotations

import pytest

from tests.inprocess import cli
from tests.packetview.view_helpers import CORPUS, manifest, tcpdump_lines


def _ntp_captures() -> list[str]:
    return sorted({r["path"] for r in manifest() if "ntp" in r["path"].lower() or "fragmented-1" in r["path"]})


@pytest.mark.oracle
@pytest.mark.parametrize("flag", ["-v", "-vv"])
def test_ntp_verbose_equals_tcpdump(flag):
    paths = _ntp_captures()
    assert len(paths) >= 6
    fields = 0
    for path in paths:
        theirs = tcpdump_lines(CORPUS / path, flag, "udp port 123", count=100000)
        run = cli("packets", flag, "-r", str(CORPUS / path), "--filter", "udp port 123")
        assert run.returncode == 0, run.stderr
        ours = _entries(run.stdout)
        assert ours == theirs, path
        fields += sum("Leap indicator" in t for t in theirs)
    assert fields > 100


def _entries(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        if out and not line[:2].isdigit():
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out
