"""Case tables as Spark views, read from Parquet with addresses as (A_hi, A_lo) UINT64 pairs.

Today's case is one DuckDB file: a table a query needs is exported once with DuckDB's COPY into a cache folder
beside the case (`<case>.spark/<fingerprint>/<table>.parquet`, keyed by the case's data fingerprint, so a new
import makes a new folder and an unchanged case reuses it). Each UHUGEINT address column A is written as
`A_hi`, `A_lo` UBIGINT (Parquet UINT64; Spark reads DECIMAL(20,0)) -- the lake's convention (issue 17) -- and the
view turns the pair back into the 16-byte BINARY the Spark SQL compares (forensics.spark.macros).

When the case is a lake (Parquet parts in a hive layout), `parquet_paths` is the one place to change: return the
lake's parts for the table instead of exporting it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import duckdb

from forensics.store.runs import data_fingerprint

CACHE_SUFFIX = ".spark"
_U64 = 18446744073709551615


def cache_dir(con: duckdb.DuckDBPyConnection, case_path: str) -> Path:
    """The export folder of this case's current data: beside the case, or in the temp folder for :memory:
    or a case whose folder is not writable."""
    digest = hashlib.sha256(json.dumps(data_fingerprint(con), sort_keys=True, default=str).encode()).hexdigest()
    base = Path(str(case_path) + CACHE_SUFFIX)
    if case_path == ":memory:" or not os.access(base.parent if not base.exists() else base, os.W_OK):
        base = Path(tempfile.gettempdir()) / f"forensics{CACHE_SUFFIX}" / hashlib.sha256(
            str(case_path).encode()).hexdigest()[:16]
    return base / digest[:24]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f'DESCRIBE SELECT * FROM main."{table}"').fetchall()]


def export_table(con: duckdb.DuckDBPyConnection, table: str, folder: Path) -> tuple[Path, list[tuple[str, str]]]:
    """Write the case table (or view) to `folder/table.parquet` unless it is there; (path, DuckDB columns)."""
    columns = _columns(con, table)
    path = folder / f"{table}.parquet"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        select = []
        for name, kind in columns:
            q = '"' + name.replace('"', '""') + '"'
            if kind == "UHUGEINT":
                select += [f'CAST({q} >> 64 AS UBIGINT) AS "{name}_hi"',
                           f'CAST({q} & CAST({_U64} AS UHUGEINT) AS UBIGINT) AS "{name}_lo"']
            else:
                select.append(q)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        con.execute(f"COPY (SELECT {', '.join(select)} FROM main.\"{table}\") TO '{tmp}' (FORMAT PARQUET)")
        os.replace(tmp, path)  # whole or absent: a killed export leaves only a dot-file
    return path, columns


def parquet_paths(con: duckdb.DuckDBPyConnection, case_path: str, table: str) -> tuple[list[str], list]:
    """The Parquet file(s) holding a case table, and its DuckDB columns. Today: the export cache; with the lake:
    the lake's parts of the table (the one place to change)."""
    path, columns = export_table(con, table, cache_dir(con, case_path))
    return [str(path)], columns


def _binary(col: str) -> str:
    half = "unhex(lpad(conv(CAST(`{c}` AS STRING), 10, 16), 16, '0'))"
    return (f"CASE WHEN `{col}_hi` IS NULL THEN CAST(NULL AS BINARY) ELSE concat({half.format(c=col + '_hi')}, "
            f"{half.format(c=col + '_lo')}) END AS `{col}`")


def view_sql(columns: list[tuple[str, str]]) -> list[str]:
    """Spark select expressions over the Parquet columns giving the case table's columns: addresses as
    16-byte BINARY, UBIGINT counters as BIGINT, times as TIMESTAMP_NTZ (naive UTC, as in the case)."""
    out = []
    for name, kind in columns:
        if kind == "UHUGEINT":
            out.append(_binary(name))
        elif kind == "UBIGINT":
            out.append(f"CAST(`{name}` AS BIGINT) AS `{name}`")
        elif kind.startswith("TIMESTAMP"):
            out.append(f"CAST(`{name}` AS TIMESTAMP_NTZ) AS `{name}`")
        else:
            out.append(f"`{name}`")
    return out
