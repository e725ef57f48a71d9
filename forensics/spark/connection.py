"""SparkConnection: the DuckDB connection's execute/fetch interface, running each statement on Spark.

The report and check runners (forensics.reports.runner, forensics.checks.runner) drive a connection: they
create the config TEMP tables and macros, restrict the flows, bin the packets, run the definition's SQL and
write alerts. Given a SparkConnection they run unchanged, so the window, scope, binning, shaping and notes are
the same code on both engines. Each statement is parsed with sqlglot (DuckDB dialect) and:
  CREATE MACRO             registers the macro (expanded into later statements; forensics.spark.macros first)
  CREATE TABLE/VIEW, INSERT, DROP on TEMP names   a Spark DataFrame registered as a temp view (tables cached)
  SELECT                   transpiled (forensics.spark.transpile) and run by spark.sql with bound arguments
  the case's own tables    read from the lake's parts or exported to Parquet on first use
                           (forensics.spark.source) and read as views
and what writes the case (alerts, transactions, sequences, information_schema) goes to the DuckDB connection.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time
from collections.abc import Iterable
from decimal import Decimal

import duckdb
from sqlglot import exp

from forensics.errors import DefinitionError, ForensicsError
from forensics.spark.macros import AS_OF_BEFORE_4, AS_PREFIXES_ARRAY, AS_PREFIXES_VAR
from forensics.spark.session import conf_set
from forensics.spark.source import read_table
from forensics.spark.transpile import TranspileError, Transpiler, address_bytes, line_of, parse, spark_macro

# each statement's (and materialized CTE's) wall and CPU time on stderr; "plan": with its executed physical plan
_TRACE = os.environ.get("FORENSICS_SPARK_TRACE", "")
_SET_VARIABLE = re.compile(r"^\s*(SET|RESET)\s+VARIABLE\s+(\w+)\s*(?:=\s*(.+?))?\s*;?\s*$", re.I | re.S)
# Statements touching these stay on DuckDB (the case's catalog and what the runners write).
DUCK_TABLES = {"alerts", "report_runs", "report_run_values", "schema_version"}
DUCK_FUNCTIONS = {"nextval", "currval", "current_database"}
# Up to this many rows, Python rows put into an empty TEMP table are the table as they are (a local relation in
# the plans that read it); more are computed once and kept by the executors (SparkConnection.executemany).
LOCAL_ROWS = 10_000
_SPARK_TYPES = {"VARCHAR": "STRING", "TEXT": "STRING", "UHUGEINT": "BINARY", "HUGEINT": "DECIMAL(38,0)",
                "UTINYINT": "SMALLINT", "USMALLINT": "INT", "UINTEGER": "BIGINT", "UBIGINT": "BIGINT",
                "TINYINT": "TINYINT", "SMALLINT": "SMALLINT", "INTEGER": "INT", "BIGINT": "BIGINT",
                "DOUBLE": "DOUBLE", "FLOAT": "FLOAT", "BOOLEAN": "BOOLEAN", "TIMESTAMP": "TIMESTAMP_NTZ",
                "BLOB": "BINARY", "DATE": "DATE"}


class SparkConnection:
    """A DuckDB-connection look-alike over a SparkSession and the case's DuckDB connection."""

    def __init__(self, duck: duckdb.DuckDBPyConnection, case_path: str, spark: object) -> None:
        self.duck = duck
        self.case_path = case_path
        self.spark = spark
        self.transpiler = Transpiler()
        self.temps: dict[str, str] = {}        # TEMP name -> Spark view
        self.cases: dict[str, str] = {}        # case table -> Spark view
        self.ddl: dict[str, list[tuple[str, str]]] = {}  # TEMP table made by DDL -> its DuckDB columns
        self._empty: set[str] = set()  # TEMP tables made by DDL that no row has gone into yet
        self.sources: dict[str, tuple[str, int]] = {}    # SQL text -> (file, line of its first line)
        self._description: list[tuple] | None = None
        self._rows: list[tuple] = []
        self._duck_cursor: duckdb.DuckDBPyConnection | None = None
        self._serial = 0
        self._views: list[tuple[str, object]] = []  # every temp view made, to drop (and uncache) on close
        self._ctes: list[str] = []  # materialized CTEs, visible as temps while their statement runs
        # A SELECT's rows by (Spark SQL, arguments). Every view it can name is fixed for the connection's life: a
        # case table's view is made once (the lake parts listed then), a TEMP table or CTE gets a new view name at
        # each CREATE/INSERT. The runners ask the flows' spans (forensics.reports.traffic.flow_spans: a scan of
        # every flow on Spark, DuckDB answers it from column statistics) three times per report.
        self._answers: dict[tuple[str, str], tuple[list[tuple] | None, tuple]] = {}
        self._jvm_pid: int | None = None  # the local JVM, for FORENSICS_SPARK_TRACE's CPU figures
        self._broadcast_bytes: int | None = None  # spark.sql.autoBroadcastJoinThreshold (_small)
        self._variables: set[str] = set()  # Spark session variables set for as_of (_as_prefixes_variable)
        if int(str(spark.version).split(".")[0]) < 4:  # no session variables before Spark 4.0
            self.transpiler.macros["as_of"] = spark_macro(*AS_OF_BEFORE_4)

    # ---- where the SQL came from (errors name file:line) ------------------------------------------------
    def name_source(self, sql: str, path: str, first_line: int = 1) -> None:
        """Errors in `sql` are reported as `path:line` (first_line: the file line of the text's first line)."""
        self.sources[sql] = (str(path), first_line)

    def _error(self, sql: str, what: str, line: int | None) -> ForensicsError:
        path, first = self.sources.get(sql, ("<sql>", 1))
        return DefinitionError(path, None if line is None else first + line - 1, f"on Spark: {what}")

    # ---- the DuckDB connection interface the runners use ------------------------------------------------
    def execute(self, sql: str, params: dict | list | None = None) -> SparkConnection:
        self._duck_cursor = None
        variable = _SET_VARIABLE.match(sql)
        if variable:  # DuckDB session variables: kept for getvariable() in transpiled SQL
            name, value = variable.group(2).lower(), variable.group(3)
            if variable.group(1).upper() == "RESET":
                self.transpiler.variables.pop(name, None)
            else:
                value = value.strip()
                self.transpiler.variables[name] = (dict(params or {}).get(value[1:]) if value.startswith("$")
                                                   else value.strip("'"))
            return self
        try:
            trees = parse(sql)
        except TranspileError as exc:
            raise self._error(sql, exc.what, exc.line) from None
        if len(trees) == 1 and self._on_duck(trees[0]):
            self._duck_cursor = self.duck.execute(sql, params) if params is not None else self.duck.execute(sql)
            return self
        self._description, self._rows = None, []
        for tree in trees:
            for name in self._ctes:
                self.temps.pop(name, None)
            self._ctes.clear()
            started, cpu0 = time.perf_counter(), self._cpu() if _TRACE else 0.0
            try:
                self._statement(tree, dict(params or {}), sql)
                for name in self._ctes:
                    self.temps.pop(name, None)
                self._ctes.clear()
                if _TRACE:
                    self._trace(started, cpu0, tree.sql())
            except TranspileError as exc:
                raise self._error(sql, exc.what, exc.line if exc.line else _locate(sql, exc.what)) from None
        return self

    def executemany(self, sql: str, rows: Iterable[list]) -> None:
        tree = parse(sql)[0]
        if not isinstance(tree, exp.Insert):
            raise self._error(sql, "executemany runs INSERT ... VALUES only", None)
        name = tree.this.name.lower() if isinstance(tree.this, exp.Table) else tree.this.this.name.lower()
        columns = self.ddl.get(name)
        if columns is None:
            self._duck_cursor = None
            self.duck.executemany(sql, rows)
            return
        given = [c for c in columns if not c[0].endswith("size_")]
        sizes = [(i, [n for n, _ in given].index(n[:-5] + "lo"), [n for n, _ in given].index(n[:-5] + "hi"))
                 for i, (n, _) in enumerate(columns) if n.endswith("size_")]
        data = []
        for row in rows:
            values = [_value(v, kind) for v, (_, kind) in zip(row, given, strict=True)]
            for _, lo, hi in sizes:
                values.append(None if row[lo] is None or row[hi] is None else float(int(row[hi]) - int(row[lo])))
            data.append(tuple(values))
        new = self._frame(columns, data)
        if name in self._empty and len(data) <= LOCAL_ROWS:
            # the table's first rows, a few: the frame of them as it is (its rows travel in the plans that read
            # it), no Spark job to compute and keep them. A report's context holds seven such tables (the config's
            # networks, applications, AS prefixes, interfaces, filters, retention, export spans); computing each
            # cost ~0.2 s (60 computations in 3 reports on local[2]: 13.75 s).
            self._empty.discard(name)
            self._register(name, new, cache=False, small=True)
            return
        self._empty.discard(name)
        old = self.spark.table(self.temps[name])
        self._register(name, old.unionByName(new), cache=True)

    @property
    def description(self) -> list[tuple] | None:
        """The columns of the last result (DuckDB's, when the statement ran there)."""
        return self._duck_cursor.description if self._duck_cursor is not None else self._description

    def fetchall(self) -> list[tuple]:
        if self._duck_cursor is not None:
            return self._duck_cursor.fetchall()
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple | None:
        if self._duck_cursor is not None:
            return self._duck_cursor.fetchone()
        return self._rows.pop(0) if self._rows else None

    def extract_statements(self, sql: str) -> list:
        return self.duck.extract_statements(sql)

    def register(self, name: str, value: object) -> None:
        self.duck.register(name, value)

    def unregister(self, name: str) -> None:
        self.duck.unregister(name)

    # ---- FORENSICS_SPARK_TRACE: each statement's (and materialized CTE's) wall and CPU time on stderr --------
    def _cpu(self) -> float:
        """CPU seconds of this process and, on a local master, the JVM's (its task threads run the queries)."""
        used = time.process_time()
        if self._jvm_pid is None:
            try:
                self._jvm_pid = (int(self.spark._jvm.java.lang.ProcessHandle.current().pid())
                                 if self.spark.sparkContext.master.startswith("local") else 0)
            except Exception:  # no JVM handle (a remote session): this process's CPU only
                self._jvm_pid = 0
        if self._jvm_pid:
            try:
                with open(f"/proc/{self._jvm_pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                pass
        return used

    def _trace(self, started: float, cpu0: float, text: str, frame: object = None) -> None:
        line = " ".join(text.split())[:110]
        print(f"spark {time.perf_counter() - started:7.2f} s {self._cpu() - cpu0:7.2f} s CPU  {line}",
              file=sys.stderr, flush=True)
        if _TRACE == "plan" and frame is not None:
            print(frame._jdf.queryExecution().executedPlan().toString(), file=sys.stderr, flush=True)

    # ---- statements -----------------------------------------------------------------------------------
    def _on_duck(self, tree: exp.Expression) -> bool:
        if isinstance(tree, (exp.Transaction, exp.Commit, exp.Rollback, exp.Delete, exp.Update)):
            return True
        for table in tree.find_all(exp.Table):
            if table.db.lower() == "information_schema" or table.name.lower() in DUCK_TABLES:
                return True
            function = table.this if isinstance(table.this, exp.Anonymous) else None
            if function is not None and str(function.this).lower().startswith(("duckdb_", "pragma_")):
                return True  # DuckDB's catalog functions: asked of the case's catalog
        return any((_name(f) or "") in DUCK_FUNCTIONS for f in tree.find_all(exp.Func))

    def _statement(self, tree: exp.Expression, params: dict, sql: str) -> None:
        if isinstance(tree, (exp.Set, exp.Command)):
            return  # SET enable_progress_bar / enable_external_access: DuckDB settings
        if isinstance(tree, exp.Create):
            kind = (tree.args.get("kind") or "").upper()
            if kind in ("MACRO", "FUNCTION"):
                self.transpiler.define(tree)
                return
            name = tree.this.this.name.lower() if isinstance(tree.this, exp.Schema) else tree.this.name.lower()
            if isinstance(tree.this, exp.Schema):  # CREATE TABLE t (col TYPE, ...)
                columns = [(c.name, _duck_type(c.args["kind"])) for c in tree.this.expressions]
                columns = _with_sizes(columns)
                self.ddl[name] = columns
                self._register(name, self._frame(columns, []), cache=False, small=True)
                self._empty.add(name)
                return
            frame = self._query(tree.expression, params)
            self.ddl.pop(name, None)
            self._empty.discard(name)
            self._register(name, frame, cache=kind == "TABLE")
            return
        if isinstance(tree, exp.Insert):
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            name = target.name.lower()
            if name not in self.temps:
                raise TranspileError(f"INSERT INTO {name}: only TEMP tables are written on Spark")
            new = self._query(tree.expression, params)
            self._empty.discard(name)
            old = self.spark.table(self.temps[name])
            if name in self.ddl:
                new = _sized(new, self.ddl[name])
            self._register(name, old.union(new.toDF(*old.columns)), cache=True)
            return
        if isinstance(tree, exp.Drop):
            name = tree.args["tables"][0].name.lower() if tree.args.get("tables") else tree.this.name.lower()
            view = self.temps.pop(name, None)
            self.ddl.pop(name, None)
            self._empty.discard(name)
            if view is not None:
                self.spark.catalog.dropTempView(view)
            return
        if isinstance(tree, exp.Query):
            if tree.args.get("with_") is None:
                text, args = self._transpile(tree, params)
                key = (text, repr(sorted(args.items())))
                if key in self._answers:  # the same query over the same views: its rows again, no Spark job
                    self._description, rows = self._answers[key]
                    self._rows = list(rows)
                    return
                self._collect(self._sql(text, args))
                self._answers[key] = (self._description, tuple(self._rows))
                return
            frame = self._query(tree, params)
            self._collect(frame)
            return
        raise TranspileError(f"{type(tree).__name__.upper()} statements do not run on Spark")

    def _query(self, tree: exp.Expression, params: dict) -> object:
        tree = self._materialize(tree, params)
        text, args = self._transpile(tree, params)
        return self._sql(text, args)

    def _transpile(self, tree: exp.Expression, params: dict) -> tuple[str, dict]:
        text, args = self.transpiler.statement(tree, params, self._rename)
        if AS_PREFIXES_VAR in text:
            text = text.replace(AS_PREFIXES_VAR, self._as_prefixes_variable())
        return text, args

    def _as_prefixes_variable(self) -> str:
        """The session variable holding the current _as_prefixes table as one array (the as_of macro): one
        variable per version of the table (each CREATE/INSERT makes a new view), so a statement's text names the
        data it reads, as the answers cache needs."""
        view = self._rename(exp.to_table("_as_prefixes"))
        name = f"{AS_PREFIXES_VAR}_{view}"
        if name not in self._variables:
            query = AS_PREFIXES_ARRAY.format(view=view)
            try:
                kind = self.spark.sql(query).schema[0].dataType.simpleString()
                self.spark.sql(f"DECLARE OR REPLACE VARIABLE {name} {kind}")
                self.spark.sql(f"SET VAR {name} = ({query})")
            except Exception as exc:
                raise TranspileError(_spark_message(exc), None) from None
            self._variables.add(name)
        return name

    def _sql(self, text: str, args: dict) -> object:
        try:
            return self.spark.sql(text, args=args or None)
        except Exception as exc:  # pyspark's AnalysisException, ParseException, ...: name what Spark missed
            message = _spark_message(exc)
            raise TranspileError(message, None) from None

    def _materialize(self, tree: exp.Expression, params: dict) -> exp.Expression:
        """Compute each CTE once, in order, as a cached temp view the later ones and the query read.

        Spark inlines every CTE where it is read: a report's CTEs read each other several times, and inlined
        they made a plan of 1,249 operators that ran for minutes on the demo case; materializing only the CTEs
        read twice still recomputed the ones between them (DuckDB materializes them).

        Except a CTE the SQL says `AS NOT MATERIALIZED` (attributes.sql's `base` and `keyed`: every flow of the
        window, read by a few steps): a view each reader inlines, as DuckDB does. Holding them cost more than
        reading the lake again (10 M flows, local[2]: computing `base` 37 CPU s, `keyed` from it 31), and
        inlined the optimizer folds what the bound parameters fix (the attributes not chosen: constant NULL keys,
        dropped from the GROUP BY; their joins with empty steps).
        """
        with_ = tree.args.get("with_")
        if with_ is None:
            return tree
        tree = tree.copy()
        for cte in list(tree.args["with_"].expressions):
            body = cte.this
            alias = cte.args.get("alias")
            if alias is not None and alias.columns:  # WITH svc(service, proto, port) AS (VALUES ...): the names
                body = exp.select("*").from_(exp.Subquery(this=body.copy(), alias=exp.TableAlias(
                    this=exp.to_identifier("v_"), columns=[c.copy() for c in alias.columns])))
            text, args = self._transpile(body, params)
            started, cpu0 = time.perf_counter(), self._cpu() if _TRACE else 0.0
            try:
                query = self.spark.sql(text, args=args or None)
                frame = query if cte.args.get("materialized") is False else _computed(query)
            except Exception as exc:
                raise TranspileError(_spark_message(exc), None) from None
            if _TRACE:
                self._trace(started, cpu0, f"  (CTE {cte.alias_or_name}) {body.sql()}", query)
            self._register(cte.alias_or_name.lower(), frame, cache=False)
            self._ctes.append(cte.alias_or_name.lower())
        tree.set("with_", None)
        return tree

    def _collect(self, frame: object) -> None:
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampType

        cols = [F.col(f"`{f.name}`").cast("timestamp_ntz").alias(f.name) if isinstance(f.dataType, TimestampType)
                else F.col(f"`{f.name}`") for f in frame.schema.fields]
        selected = frame.select(*cols)
        try:
            rows = selected.collect()
        except Exception as exc:
            raise TranspileError(_spark_message(exc), None) from None
        if _TRACE == "plan":
            print(selected._jdf.queryExecution().executedPlan().toString(), file=sys.stderr, flush=True)
        self._description = [(f.name, str(f.dataType), None, None, None, None, None) for f in frame.schema.fields]
        self._rows = [tuple(_plain(v) for v in row) for row in rows]

    def _register(self, name: str, frame: object, *, cache: bool, small: bool = False) -> None:
        """`frame` as the TEMP table or CTE `name` (a new view); `cache`: computed now (_computed). A computed frame
        (a CTE comes computed) whose data is small, or one known to be (`small`: a DDL table's empty frame), is
        marked for broadcast, since Spark knows no size for it."""
        self._serial += 1
        view = f"t_{re.sub(r'[^a-z0-9_]', '_', name)}_{self._serial}"
        if cache:
            frame = _computed(frame)
        self._views.append((view, frame))
        if small or self._small(frame):
            frame = frame.hint("broadcast")
        frame.createOrReplaceTempView(view)
        self.temps[name] = view

    def _small(self, frame: object) -> bool:
        """Whether a computed frame's data is under Spark's broadcast threshold.

        A computed frame (localCheckpoint) and the TEMP tables made from Python rows are scans of an RDD whose size
        Spark does not know (it assumes the largest), so a join with one -- the config tables, app_ports, a
        report's top items, an empty CTE -- planned a sort-merge join, shuffling the flows by the join key before
        adaptive execution saw the small side and turned it into a broadcast. The stored size of the frame's
        blocks (known once computed) decides here instead; the hint lets the planner broadcast it from the start.
        """
        if self._broadcast_bytes is None:
            self._broadcast_bytes = _bytes(self.spark.conf.get("spark.sql.autoBroadcastJoinThreshold", "10MB"))
        if self._broadcast_bytes <= 0:
            return False
        try:
            rdd = frame._jdf.queryExecution().analyzed().rdd().id()
        except Exception:  # not a scan of a computed RDD (a view over a query): Spark estimates its size itself
            return False
        for info in self.spark.sparkContext._jsc.sc().getRDDStorageInfo():
            if info.id() == rdd:
                return info.memSize() + info.diskSize() <= self._broadcast_bytes
        return True  # computed, and no block stored: empty

    def _frame(self, columns: list[tuple[str, str]], rows: list[tuple]) -> object:
        schema = ", ".join(f"`{n}` {_spark_type(k)}" for n, k in columns)
        return self.spark.createDataFrame(rows, schema=schema)

    def _rename(self, table: exp.Table) -> str | None:
        name, db = table.name.lower(), table.db.lower()
        if db in ("", "temp") and name in self.temps:
            return self.temps[name]
        if db == "temp":
            raise TranspileError(f"no TEMP table {name}")
        return self._case_table(name)

    def _case_table(self, name: str) -> str:
        if name not in self.cases:
            try:
                frame = read_table(self.spark, self.duck, self.case_path, name)
            except duckdb.CatalogException:
                raise TranspileError(f"no table {name} in the case") from None
            view = f"c_{name}"
            frame.createOrReplaceTempView(view)
            self.cases[name] = view
        return self.cases[name]

    def close(self) -> None:
        for view, frame in self._views:
            self.spark.catalog.dropTempView(view)
            frame.unpersist()
            _release(frame)
        for view in self.cases.values():
            self.spark.catalog.dropTempView(view)
        for name in self._variables:
            self.spark.sql(f"DROP TEMPORARY VARIABLE IF EXISTS {name}")
        self._variables.clear()
        self._views.clear()
        self._answers.clear()
        self.temps.clear()
        self.cases.clear()
        self._empty.clear()


def _bytes(text: str) -> int:
    """A Spark size setting ("10485760b", "10MB", "-1") in bytes (-1: off; 10 MB when unreadable)."""
    found = re.fullmatch(r"\s*(-?\d+)\s*([kmgt]?)i?b?\s*", str(text).lower())
    if not found:
        return 10 << 20
    return int(found.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[found.group(2)]


def _computed(frame: object) -> object:
    """The frame computed now and kept by the executors, its plan cut to a scan of that data.

    With cache() each cached frame's plan held the plans of the ones it read: a report's chain of CTEs made a
    plan whose description (built for every query) grew past minutes of CPU on the demo case.
    """
    try:
        return frame.localCheckpoint(eager=True)
    except Exception as exc:
        if "key not found" not in str(exc):
            raise
    # Spark 4.3 fails in a UNION ALL's constraints while it checkpoints (Union.rewriteConstraints: "key not found:
    # port#..."; unexpected_server's `judged`); the same frame checkpoints with constraint propagation off
    with conf_set(frame.sparkSession, "spark.sql.constraintPropagation.enabled", "false"):
        return frame.localCheckpoint(eager=True)


def _release(frame: object) -> None:
    """Drop a computed frame's stored blocks now (else they go when the JVM collects the frame: a report's
    materialized flows held into the next report)."""
    try:
        plan = frame._jdf.queryExecution().analyzed()
        if plan.nodeName() == "LogicalRDD":
            plan.rdd().unpersist(False)
    except Exception:  # noqa: S110 -- not a computed frame, or the session is gone: nothing held here
        pass


def _name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.sql_name().lower() if isinstance(node, exp.Func) else None


def _duck_type(kind: exp.DataType) -> str:
    text = kind.sql(dialect="duckdb").upper()
    return {"UINT128": "UHUGEINT", "INT128": "HUGEINT"}.get(text, text)


def _spark_type(kind: str) -> str:
    base = kind.split("(")[0].strip().upper()
    if base.endswith("[]"):
        return f"ARRAY<{_spark_type(base[:-2])}>"
    return _SPARK_TYPES.get(base, kind)


def _with_sizes(columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Config tables with an address block (lo, hi) get its size as DOUBLE, for `hi - lo` (transpile)."""
    names = {n for n, _ in columns}
    extra = [(f"{n[:-2]}size_", "DOUBLE") for n, k in columns
             if k == "UHUGEINT" and n.endswith("lo") and n[:-2] + "hi" in names]
    return columns + extra


def _sized(frame: object, columns: list[tuple[str, str]]) -> object:
    """An INSERT's rows with the size columns of _with_sizes (NULL: the inserting query has no block)."""
    from pyspark.sql import functions as F

    missing = [n for n, _ in columns if n.endswith("size_") and n not in frame.columns]
    for n in missing:
        frame = frame.withColumn(n, F.lit(None).cast("double"))
    return frame


def _value(value: object, kind: str) -> object:
    if value is None:
        return None
    if kind == "UHUGEINT":
        return address_bytes(value)
    if kind == "DOUBLE" and not isinstance(value, float):
        return float(value)
    return value


def _plain(value: object) -> object:
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _spark_message(exc: Exception) -> str:
    text = str(exc).strip()
    lines = text.splitlines()
    first = lines[0] if lines else type(exc).__name__
    if first.startswith("An error occurred while calling") and len(lines) > 1:  # py4j: the Java error is next
        first = lines[1].lstrip(": ").strip()
    return re.sub(r"\s*SQLSTATE: \w+;?", "", first)[:300]


def _locate(sql: str, what: str) -> int | None:
    """The line of `sql` naming what an error message quotes first (a function, column or table)."""
    for name in re.findall(r"`([^`]+)`|\b(\w+)\(\)", what):
        word = (name[0] or name[1]).split(".")[-1]
        line = line_of(sql, word)
        if line is not None:
            return line
        # sqlglot may respell a function (jaro_winkler_similarity -> JAROWINKLER_SIMILARITY): match without '_'
        bare = word.replace("_", "").lower()
        for found in re.finditer(r"\w+", sql):
            if found.group().replace("_", "").lower() == bare:
                return sql.count("\n", 0, found.start()) + 1
    return None
