"""Apache Spark engine: the shipped and user report/check SQL (DuckDB dialect) run on a Spark session.

    from forensics.spark import spark_report, spark_checks
    result = spark_report(case, "wannacry", {"period": "daily"})   # a ReportResult, rendered as usual

Only this package imports pyspark and sqlglot (an optional install: `pip install 'forensics[spark]'`).
"""

from forensics.spark.engine import spark_checks, spark_report

__all__ = ["spark_checks", "spark_report"]
