"""A report written in DuckDB SQL runs on Spark with the same answer, or fails naming its file and line."""

from __future__ import annotations

import pytest

from forensics.config import load_config
from forensics.errors import DefinitionError
from forensics.reports import run_report
from forensics.spark import spark_report
from forensics.store import Case

HEADER = """-- name: {name}
-- title: {name}
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- dimensions: src_ip
-- measures: value
-- unit: bytes
"""

MINE = HEADER + """WITH t AS (
    SELECT src_ip, time_bin(first_ts, $bin_secs) AS bin, bytes FROM flows
    WHERE first_ts >= $from_ts AND first_ts < $to_ts AND ip_in(src_ip, ipv4('10.0.0.0'), ipv4('10.0.255.255'))
), top AS (
    SELECT src_ip, sum(bytes) AS total FROM t GROUP BY ALL ORDER BY total DESC, src_ip LIMIT 5
)
SELECT row_number() OVER (ORDER BY total DESC, src_ip) AS rank, ip_text(src_ip) AS src_ip, NULL AS bin,
       CAST(total AS DOUBLE) AS value
FROM top
"""

UNKNOWN = HEADER + """SELECT 1 AS rank, 'x' AS src_ip, NULL AS bin,
       jaro_winkler_similarity('duck', 'spark') * $bin_secs AS value
FROM flows
WHERE first_ts >= $from_ts AND first_ts < $to_ts
LIMIT 1
"""


def test_user_report_runs_on_spark(spark, flow_case, tmp_path):
    (tmp_path / "mine.sql").write_text(MINE.format(name="mine"))
    config = load_config(None, str(flow_case))
    with Case.open(flow_case, read_only=True) as case:
        duck = run_report(case, "mine", {}, config=config, queries_dirs=(tmp_path,))
        on_spark = spark_report(case, "mine", {}, config=config, queries_dirs=(tmp_path,), spark=spark)
    items = duck.sections[0].items
    assert len(items) == 5 and all(i.names[0].startswith("10.0.") for i in items)
    assert [(i.names, i.values) for i in items] == [(i.names, i.values) for i in on_spark.sections[0].items]


def test_untranspilable_names_file_and_line(spark, flow_case, tmp_path):
    path = tmp_path / "odd.sql"
    path.write_text(UNKNOWN.format(name="odd"))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "jaro_winkler" in text)
    config = load_config(None, str(flow_case))
    with Case.open(flow_case, read_only=True) as case:
        run_report(case, "odd", {}, config=config, queries_dirs=(tmp_path,))  # DuckDB has the function
        with pytest.raises(DefinitionError) as err:
            spark_report(case, "odd", {}, config=config, queries_dirs=(tmp_path,), spark=spark)
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert "winkler_similarity" in str(err.value).lower()  # sqlglot spells it jarowinkler_similarity
