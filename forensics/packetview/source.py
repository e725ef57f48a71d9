"""`packets -r FILE`: a capture read straight from disk through a case that lives in memory.

    with transient_case(Path("x.pcap")) as (case, summary):
        ...                     # the same queries and view as a case on disk
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forensics.errors import UsageError
from forensics.ingest import ImportOptions, ImportProgress, ImportSummary, import_paths
from forensics.store import Case


@contextmanager
def transient_case(path: Path, progress: ImportProgress | None = None) -> Iterator[tuple[Case, ImportSummary]]:
    """Import one capture into an in-memory case (the normal ingest library) and yield it; nothing on disk."""
    if not path.is_file():
        raise UsageError(f"-r {path}: no such file; give a pcap or pcapng (plain or compressed: gzip, zstd, lz4, "
                         "bzip2, xz)")
    case = Case.open(":memory:")
    try:
        summary = import_paths(case, [str(path)], ImportOptions(workers=1), progress)
        result = summary.files[0]
        if result.status == "rejected":
            raise UsageError(f"-r {result.message or path}")
        yield case, summary
    finally:
        case.close()
