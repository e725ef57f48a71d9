"""Compile the import path's numba functions into their cache (`cache=True`, __pycache__) before the test
workers start: a fresh checkout has no cache, and each worker (and each `python -m forensics` a test runs
meanwhile) would compile the same functions again, ~35 s of CPU for the pcap path and as much for pcapng.
tests/conftest.py runs `python -m tests.numba_warm pcap` and `... pcapng` side by side (two processes: numba
compiles under the GIL) in the controller of an xdist run, while the workers collect. Checks nothing: the tests
that import these files do."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "files"
# decode_pcap, the flow meter, app-data selection and payload spans, the DNS/NTP fast path, first-payload prefixes
PCAPS = ["tcpdump/dhcpv6-ia-na.pcap", "zeek/dns-edns-ecs.pcap", "zeek/ntp__ntp.pcap", "zeek/smtp.pcap"]
PCAPNG = "nDPI/alexa-app.pcapng"  # decode_pcapng


def _direct() -> tuple:
    """The functions no small import reaches, called as their callers do (same argument types): carve's
    layer_offsets (~18 s CPU to compile), the growth of the flow meter's and the app-data selector's tables."""
    import numpy as np

    from forensics.appdata import select
    from forensics.ingest import flowmeter
    from forensics.readers.fastdecode import layer_offsets

    def carve() -> None:
        one = np.array([1], np.int64)
        layer_offsets(np.frombuffer(bytes(60), np.uint8), np.zeros(1, np.int64), one * 60, one * 60, one)

    def grow() -> None:
        flowmeter._rehash(np.zeros(8, np.int64), np.zeros((8, flowmeter._TW), np.int64), 16)
        select._rehash(np.zeros(8, np.uint64), np.zeros(8, np.uint8), np.zeros(16, np.uint64),
                       np.zeros(16, np.uint8))

    return carve, grow


def main(kind: str) -> None:
    if kind == "pcapng":
        from forensics.readers.capture import CaptureReader
        from forensics.readers.sniff import sniff

        path = str(CORPUS / PCAPNG)
        size = os.path.getsize(path)
        for _chunk in CaptureReader(path, sniff(path, size), size).chunks():
            pass
        _direct()[0]()
        return
    from forensics.ingest import ImportOptions, import_paths
    from forensics.store import Case

    with tempfile.TemporaryDirectory() as tmp, Case.open(Path(tmp) / "warm.duckdb") as case:
        import_paths(case, [str(CORPUS / p) for p in PCAPS], ImportOptions(workers=1))
    _direct()[1]()


if __name__ == "__main__":
    main(sys.argv[1])
