"""Every strftime format the shipped SQL uses prints the same text on Spark (DATE_FORMAT with the pattern
forensics.spark.transpile makes of it) as on DuckDB, for times with and without fractions of a second; a
specifier with no Spark pattern is refused by name."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest

from forensics.resources import queries_dir
from forensics.spark.transpile import TranspileError, spark_datetime_pattern

TIMES = [dt.datetime(2016, 9, 6, 0, 0, 0), dt.datetime(2023, 11, 14, 22, 13, 5, 123456),
         dt.datetime(1999, 12, 31, 23, 59, 59, 7), dt.datetime(2024, 2, 29, 12, 1, 2, 500000)]


def _shipped_formats() -> list[str]:
    found = set()
    for path in queries_dir().rglob("*.sql"):
        found |= set(re.findall(r"strftime\([^,]+,\s*'([^']*)'\)", path.read_text(encoding="utf-8")))
    return sorted(found)


def test_the_shipped_sql_has_formats_to_compare():
    assert "%Y-%m-%dT%H:%M:%S.%fZ" in _shipped_formats()


@pytest.mark.parametrize("fmt", [*_shipped_formats(), "%d/%m/%y %I:%M %p", "%j %A %B %b %g", "100%% of %Y"])
def test_spark_prints_what_duckdb_prints(spark, fmt):
    con = duckdb.connect()
    duck = [con.execute("SELECT strftime($t::TIMESTAMP, $f)", {"t": t, "f": fmt}).fetchone()[0] for t in TIMES]
    pattern = spark_datetime_pattern(fmt)
    rows = spark.sql("SELECT date_format(CAST(t AS TIMESTAMP_NTZ), :p) AS s FROM VALUES "
                     + ", ".join(f"('{t.isoformat(sep=' ')}')" for t in TIMES) + " AS v(t)",
                     args={"p": pattern}).collect()
    assert [r.s for r in rows] == duck


def test_a_specifier_without_a_pattern_is_named():
    with pytest.raises(TranspileError, match="strftime %Q"):
        spark_datetime_pattern("%Y %Q")


def test_printf_numbers_print_on_spark_as_on_duckdb(spark):
    """printf's %f and %d take the DECIMALs Spark's sums and averages of integers are (Java's formatter refuses
    them: the misuse checks failed on Spark as soon as they alerted); the text is DuckDB's."""
    from forensics.spark.transpile import Transpiler, parse

    sql = ("SELECT printf('peak %.1f pps, %.0f bps in %d bins (%s), 100%%', p / 3, b, n, s) AS t "
           "FROM (SELECT CAST(7 AS HUGEINT) AS p, CAST(483.4 AS DECIMAL(10,1)) AS b, CAST(3 AS HUGEINT) AS n, "
           "'home' AS s)")  # (HUGEINT: DECIMAL(38,0) on Spark)
    duck = duckdb.connect().execute(sql).fetchone()[0]
    text, args = Transpiler().statement(parse(sql)[0], {}, lambda table: None)
    assert spark.sql(text, args=args or None).collect()[0].t == duck == "peak 2.3 pps, 483 bps in 3 bins (home), 100%"
