"""forensics: offline pcap and flow-file forensics over a DuckDB case database.

The library is usable without the CLI::

    from forensics.store import Case
    from forensics.ingest import import_paths

    with Case.open("case.duckdb") as case:
        summary = import_paths(case, ["captures/"])
"""

__version__ = "0.1.0"
