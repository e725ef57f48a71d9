"""The Spark session: local[*] by default, --spark-master URL, or what SPARK_* / spark-defaults.conf say.

pyspark (and a Java runtime) are an optional install: without them `--engine spark` says in one line what to
install and exits 2.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forensics.errors import UsageError

LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
# Fixed cost of a local session (no --spark-master, or a local one): no web UI (its server and listeners start
# with every session), no console progress bars (the CLI shows its own progress), adaptive
# execution (it coalesces a small query's shuffle partitions to a few tasks).
LOCAL_DEFAULTS = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                  "spark.sql.adaptive.enabled": "true", "spark.sql.adaptive.coalescePartitions.enabled": "true"}

# The heap of a local session's JVM (driver and executor in one), unless the user sets one (SPARK_DRIVER_MEMORY,
# PYSPARK_SUBMIT_ARGS, spark-defaults.conf): Spark's 1 GB default makes a report's aggregation on near-unique
# keys spill. Measured on 10 M lake flows, local[1], scan + GROUP BY (src, dst, dst_port): 91.5 CPU s with 1 GB,
# 43.3 with 4 GB (bench/README.md, "Spark"). Half the machine's memory at most.
LOCAL_HEAP_BYTES = 4 << 30

# HotSpot leaves a method of more than 8,000 bytes of bytecode interpreted; Spark's whole-stage code for a report's
# scan (the address view, the time bins, is_home / is_special as byte-range tests, a broadcast join) is one such
# method. Measured on 10 M lake flows, local[2], WannaCry's CTE `matched`: 43.8 CPU s interpreted, 19.9 compiled
# (the report 100.4 -> 77.2; bench/README.md, "Spark"). The driver JVM is the executor in local mode.
JIT_HUGE_METHODS = "-XX:-DontCompileHugeMethods"

INSTALL_HINT = ("install it with `pip install 'forensics[spark]'` and a Java 17 runtime "
                "(e.g. `apt-get install openjdk-17-jre-headless`)")


def spark_session(master: str | None = None, *, quiet: bool | None = None) -> object:
    """A SparkSession for the engine (the running one when there is one). The session time zone is UTC: case
    times are naive UTC, and TIMESTAMP and TIMESTAMP_NTZ then hold the same wall time."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError(f"--engine spark needs pyspark: {INSTALL_HINT}") from None
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise UsageError(f"--engine spark needs a Java runtime (no `java` on PATH, no JAVA_HOME): {INSTALL_HINT}")
    builder = SparkSession.builder.appName("forensics")
    if master:
        builder = builder.master(master)
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    if not master or master.startswith("local"):
        for key, value in LOCAL_DEFAULTS.items():
            builder = builder.config(key, value)
        heap = _local_heap()
        if heap:
            builder = builder.config("spark.driver.memory", heap)
    if quiet is False:
        builder = builder.config("spark.ui.showConsoleProgress", "true")
    if not os.environ.get("PYSPARK_SUBMIT_ARGS") and LOG_CONFIG.exists():
        # errors only on stderr: applied by spark-submit when it starts the driver JVM (the first session)
        builder = builder.config("spark.driver.extraJavaOptions",
                                 f"-Dlog4j2.configurationFile=file:{LOG_CONFIG} {JIT_HUGE_METHODS}")
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: Java missing or broken, a bad master URL
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"Spark did not start ({first}); check --spark-master and the Java runtime, or "
                         f"{INSTALL_HINT}") from None
    session.sparkContext.setLogLevel("ERROR")
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.legacy.sizeOfNull", "false")  # size(NULL) is NULL, as DuckDB's array_length
    if session.sparkContext.master.startswith("local") and not _configured(session, "spark.sql.shuffle.partitions"):
        # Spark's default of 200 shuffle partitions is for clusters: a report's query has tens of shuffles, and
        # on local[2] their 200-task stages cost minutes on the 40,000-packet demo case; one per core (adaptive
        # execution coalesces them further on small inputs)
        session.conf.set("spark.sql.shuffle.partitions", str(session.sparkContext.defaultParallelism))
    return session


def _local_heap() -> str | None:
    """spark.driver.memory for a local session ("4g", less on a small machine), or None when the user set it."""
    if os.environ.get("SPARK_DRIVER_MEMORY") or os.environ.get("PYSPARK_SUBMIT_ARGS"):
        return None
    for folder in (os.environ.get("SPARK_CONF_DIR"), os.path.join(os.environ.get("SPARK_HOME", ""), "conf")):
        defaults = Path(folder or "") / "spark-defaults.conf"
        if folder and defaults.is_file() and "spark.driver.memory" in defaults.read_text(errors="replace"):
            return None
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        physical = 2 * LOCAL_HEAP_BYTES
    return f"{max(1 << 30, min(LOCAL_HEAP_BYTES, physical // 2)) >> 20}m"


def _configured(session: object, key: str) -> bool:
    """Whether the user set `key` (spark-defaults.conf, PYSPARK_SUBMIT_ARGS, the builder)."""
    return session.sparkContext.getConf().contains(key)


@contextmanager
def conf_set(spark: object, key: str, value: str) -> Iterator[None]:
    """The session's SQL setting `key` at `value` for the block, then as it was (unset if it was not set)."""
    conf = spark.conf
    before = conf.get(key, None)
    conf.set(key, value)
    try:
        yield
    finally:
        if before is None:
            conf.unset(key)
        else:
            conf.set(key, before)
