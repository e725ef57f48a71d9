"""Case tables as Spark views, read from Parquet with addresses as (A_hi, A_lo) UINT64 pairs.

Today's case is one DuckDB file: a table a query needs is exported once with DuckDB's COPY into a cache folder
beside the case (`<case>.spark/<fingerprint>/<table>.parquet`, keyed by the case's data fingerprint, so a new
import makes a new folder and an unchanged case reuses it). Each UHUGEINT address column A is written as
`A_hi`, `A_lo` UBIGINT (Parquet UINT64; Spark reads DECIMAL(20,0)) -- the lake's convention (issue 17) -- and the
view turns the pair back into the 16-byte BINARY the Spark SQL compares (forensics.spark.macros).

A lake case (a folder; docs/lake.md) already keeps packets and flows as Parquet parts in that convention: Spark
reads the parts `lake_parts` lists (the committed ones: a part renamed into place by an import not yet committed,
or left by a killed one, is not read), with `capture_id` from the hive folder names (basePath
`<case>/<table>/`), and nothing is exported; only the catalog's small tables (captures, interfaces ...) go through
the export cache. The same views then give identical rows on both layouts.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import duckdb

from forensics.spark.session import conf_set
from forensics.store.lake import is_lake
from forensics.store.lake_layout import EMPTY_PART, TABLES
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


def lake_base(case_path: str, table: str) -> Path | None:
    """The folder of a lake case's Parquet parts of `table` (the hive base path), or None when the table is
    exported (a single-file case, or a catalog table of a lake)."""
    if table in TABLES and is_lake(case_path):
        return Path(case_path).resolve() / table
    return None


def parquet_paths(con: duckdb.DuckDBPyConnection, case_path: str, table: str) -> tuple[list[str], list]:
    """The Parquet file(s) holding a case table, and its DuckDB columns: on a lake, the parts of packets or flows
    that lake_parts lists (the empty part when there is none: a read never comes up empty); otherwise the
    export cache."""
    base = lake_base(case_path, table)
    if base is None:
        path, columns = export_table(con, table, cache_dir(con, case_path))
        return [str(path)], columns
    rels = [r[0] for r in con.execute("SELECT path FROM lake_parts WHERE table_name = $t ORDER BY path",
                                      {"t": table}).fetchall()]
    files = [str(base.parent / rel) for rel in rels] or [str(base / EMPTY_PART)]
    return files, _columns(con, table)


def read_table(spark: object, con: duckdb.DuckDBPyConnection, case_path: str, table: str) -> object:
    """The case table as a Spark DataFrame with the case's columns (view_sql). A lake's parts are read with their
    hive base path, so capture_id comes from the folder names as in DuckDB's views (an INTEGER there, cast
    here whatever Spark's partition type inference says)."""
    paths, columns = parquet_paths(con, case_path, table)
    base = lake_base(case_path, table)
    if base is None:
        return project_view(spark, spark.read.parquet(*paths), columns)
    # compacted small captures (forensics/store/lake_compact.py) live under shared/<table>/day=D/ with capture_id a
    # column of the file; the others under <table>/capture_id=N/day=D/: two datasets, one union
    shared_base = base.parent / "shared" / table
    shared = [p for p in paths if Path(p).is_relative_to(shared_base)]
    own = [p for p in paths if p not in set(shared)] or ([] if shared else [str(base / EMPTY_PART)])
    frames = []
    for root, files in ((base, own), (shared_base, shared)):
        if files:
            frame = spark.read.option("basePath", str(root)).parquet(*files)
            frames.append(project_view(spark, frame.withColumn("capture_id", frame["capture_id"].cast("int")), columns))
    out = frames[0]
    for more in frames[1:]:
        out = out.unionByName(more)
    return out


# An address half as Spark reads it (UINT64 -> DECIMAL(20,0)) reinterpreted as the signed BIGINT with the same 64
# bits, whose CAST AS BINARY is the half's 8 bytes big-endian: no string per row. Measured on 10 M lake flows,
# local[1], one address (hi and lo) hashed, JIT warm: 5.2 s CPU, against 15.3 s for the decimal -> string ->
# conv -> unhex it replaces (bench/README.md, "Spark").
_SIGNED = ("CAST(CASE WHEN `{c}` >= 9223372036854775808 THEN `{c}` - 18446744073709551616 ELSE `{c}` END "
           "AS BIGINT)")


def _binary(col: str) -> str:
    hi, lo = _SIGNED.format(c=col + "_hi"), _SIGNED.format(c=col + "_lo")
    return (f"CASE WHEN `{col}_hi` IS NULL THEN CAST(NULL AS BINARY) "
            f"ELSE concat(CAST({hi} AS BINARY), CAST({lo} AS BINARY)) END AS `{col}`")


def project_view(spark: object, frame: object, columns: list[tuple[str, str]]) -> object:
    """frame.selectExpr(view_sql(columns)), analysed with ANSI mode off: Spark 4.3 refuses CAST(BIGINT AS BINARY)
    under ANSI (4.0-4.2 took it), and that cast is how an address half becomes its 8 bytes without a string per
    row. The DataFrame keeps the analysed cast, so the session's setting is put back at once and every report
    query still runs under the user's ANSI mode."""
    with conf_set(spark, "spark.sql.ansi.enabled", "false"):
        return frame.selectExpr(*view_sql(columns))


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
