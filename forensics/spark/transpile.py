"""DuckDB-dialect SQL -> Spark SQL with sqlglot: macros expanded, addresses as 16-byte BINARY, $params bound.

`Transpiler.statement(tree, params, tables)` turns one parsed DuckDB statement into Spark SQL text plus the
arguments spark.sql binds (named markers `:name`; values are never pasted into the text). What cannot be
transpiled raises TranspileError with the 1-based line of the SQL text where it is (the caller adds the file).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

from forensics.errors import ForensicsError
from forensics.spark.macros import COMPUTED, SPARK_MACROS

_T = exp.DataType.Type
# Spark has no unsigned integers: each becomes the signed type that holds all its values (UBIGINT counters are
# below 2^63 in any case).
_UNSIGNED = {_T.UTINYINT: "SMALLINT", _T.USMALLINT: "INT", _T.UINT: "BIGINT", _T.UBIGINT: "BIGINT",
             _T.INT128: "DECIMAL(38,0)", _T.UINT128: "BINARY"}
_MAX_DEPTH = 32  # macros calling macros: ip_text -> _ip6_text, traffic() -> time_bin, misuse_alerts -> is_home


class TranspileError(ForensicsError):
    """A construct that cannot run on Spark: what, and the line of the SQL text (1-based) where it is."""

    def __init__(self, what: str, line: int | None = None) -> None:
        self.what = what
        self.line = line
        super().__init__(what if line is None else f"line {line}: {what}")


def address_bytes(value: int) -> bytes:
    """A UHUGEINT address as the 16-byte big-endian BINARY Spark compares."""
    return int(value).to_bytes(16, "big")


def _binary_literal(value: int) -> exp.Expression:
    if not 0 <= value < 1 << 128:
        raise TranspileError(f"address constant {value} is outside 0 .. 2^128-1")
    return exp.Anonymous(this="unhex", expressions=[exp.Literal.string(f"{value:032x}")])


def line_of(text: str, needle: str) -> int | None:
    """The line of `text` (1-based) where the word `needle` first appears, if it does."""
    found = re.search(r"(?<![\w.])" + re.escape(needle) + r"(?!\w)", text, re.IGNORECASE)
    return text.count("\n", 0, found.start()) + 1 if found else None


def parse(sql: str) -> list[exp.Expression]:
    """The statements of a DuckDB script, parsed (TranspileError with the line when it does not parse)."""
    try:
        return [s for s in sqlglot.parse(sql, read="duckdb") if s is not None and not isinstance(s, exp.Semicolon)]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise TranspileError(f"sqlglot cannot parse it: {first.get('description') or exc}",
                             first.get("line")) from None


def _fname(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


class Macro:
    """A macro: parameter names and a body (a parsed expression, or a query for a table macro)."""

    def __init__(self, params: tuple[str, ...], body: exp.Expression, table: bool) -> None:
        self.params = params
        self.body = body
        self.table = table

    def apply(self, args: list[exp.Expression], name: str) -> exp.Expression:
        if len(args) != len(self.params):
            raise TranspileError(f"macro {name} takes {len(self.params)} argument(s), given {len(args)}")
        values = dict(zip(self.params, args, strict=True))

        def sub(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and not node.table and node.name.lower() in values:
                return values[node.name.lower()].copy()
            return node

        return self.body.copy().transform(sub)


def spark_macro(params: tuple[str, ...], body: str) -> Macro:
    return Macro(params, sqlglot.parse_one(body, read="spark"), False)


class Transpiler:
    """The macro registry of one Spark connection, and the rewrites from DuckDB to Spark."""

    def __init__(self) -> None:
        self.macros: dict[str, Macro] = {n: spark_macro(p, b) for n, (p, b) in SPARK_MACROS.items()}
        # DuckDB session variables (SET VARIABLE name = value) the runner sets, e.g. forensics_basis (--basis):
        # getvariable('name') becomes the value as a literal (NULL when unset), since Spark 3.5 has no variables.
        self.variables: dict[str, object] = {}

    def define(self, create: exp.Create) -> None:
        """Register a DuckDB `CREATE MACRO` (one of SPARK_MACROS keeps its Spark version)."""
        udf = create.this
        name = (udf.this.name if isinstance(udf.this, exp.Expression) else str(udf.this)).lower()
        if name in SPARK_MACROS or name in COMPUTED:
            return
        params = tuple(p.name.lower() for p in udf.expressions)
        body = create.expression
        table = isinstance(body, exp.Query) and not isinstance(body, exp.Subquery)  # (SELECT ...) is a value
        self.macros[name] = Macro(params, body, table)

    # ---- rewrites --------------------------------------------------------------------------------------
    def _expand(self, tree: exp.Expression) -> exp.Expression:
        for _ in range(_MAX_DEPTH):
            changed = False

            def one(node: exp.Expression) -> exp.Expression:
                nonlocal changed
                if isinstance(node, exp.BitwiseOr) and _packs(node):
                    changed = True
                    return exp.Add(this=node.this, expression=node.expression)
                if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous):
                    name = str(node.this.this).lower()
                    macro = self.macros.get(name)
                    if macro is None or not macro.table:
                        raise TranspileError(f"table function {name}() has no Spark equivalent")
                    changed = True
                    body = macro.apply(list(node.this.expressions), name)
                    alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
                    return exp.Subquery(this=body, alias=alias.copy())
                name = _fname(node)
                if name == "getvariable":
                    args = list(node.expressions) or [node.this]
                    value = self.variables.get(args[0].name.lower()) if args and args[0] is not None else None
                    changed = True
                    return exp.null() if value is None else exp.Literal.string(str(value))
                if name in COMPUTED:
                    build, const = COMPUTED[name]
                    args = list(node.expressions)
                    try:
                        values = [int(args[i].name) for i in const]
                    except (ValueError, IndexError):
                        raise TranspileError(f"{name}(): its width and offset must be integer constants") from None
                    texts = [a.sql(dialect="spark") for a in args]
                    for i, v in zip(const, values, strict=True):
                        texts[i] = v
                    changed = True
                    return exp.Paren(this=sqlglot.parse_one(build(*texts), read="spark"))
                if name is not None and name in self.macros and (isinstance(node, exp.Anonymous)
                                                                 or name in SPARK_MACROS):
                    macro = self.macros[name]
                    if macro.table:
                        raise TranspileError(f"table macro {name}() used as a value")
                    changed = True
                    return exp.Paren(this=macro.apply(_args(node), name))
                return node

            tree = tree.transform(one)
            if not changed:
                return tree
        raise TranspileError("macros nest deeper than 32 levels (a macro that calls itself?)")

    def _addresses(self, tree: exp.Expression, address_params: set[str]) -> exp.Expression:
        def one(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.UINT128:
                inner = node.this
                if isinstance(inner, exp.Placeholder):
                    address_params.add(inner.name)
                    return inner
                if isinstance(inner, exp.Literal):
                    try:
                        return _binary_literal(int(inner.name, 0))
                    except ValueError:
                        raise TranspileError(f"address constant {inner.name!r} is not a number") from None
                if isinstance(inner, exp.Null):
                    return exp.Cast(this=inner, to=exp.DataType.build("BINARY"))
                return inner  # an address already
            if isinstance(node, exp.Cast) and isinstance(node.this, exp.Explode):
                # CAST(unnest(list) AS T): Spark takes no generator inside an expression; cast the elements
                to = exp.DataType.build(_UNSIGNED.get(node.to.this, node.to.sql(dialect="spark")), dialect="spark")
                items = exp.Lambda(this=exp.Cast(this=exp.to_identifier("e_"), to=to),
                                   expressions=[exp.to_identifier("e_")])
                return exp.Explode(this=exp.Transform(this=node.this.this, expression=items))
            if isinstance(node, exp.DataType) and node.this in _UNSIGNED:
                return exp.DataType.build(_UNSIGNED[node.this], dialect="spark")
            if isinstance(node, exp.EQ):
                shift, const = node.this, node.expression
                while isinstance(shift, exp.Paren):
                    shift = shift.this
                if isinstance(shift, exp.BitwiseRightShift) and isinstance(const, exp.Literal) \
                        and isinstance(shift.expression, exp.Literal):
                    k, c = int(shift.expression.name), int(const.name)
                    if k >= 32:  # an address prefix test: (a >> k) = c  <=>  a in [c << k, (c + 1) << k - 1]
                        return exp.Between(this=shift.this, low=_binary_literal(c << k),
                                           high=_binary_literal(((c + 1) << k) - 1))
            if isinstance(node, exp.Sub) and isinstance(node.this, exp.Column) \
                    and isinstance(node.expression, exp.Column) and node.this.name.endswith("hi") \
                    and node.expression.name == node.this.name[:-2] + "lo" and node.this.table == node.expression.table:
                # the size of a config block (as_of, the checks' overrides): a DOUBLE column beside lo, hi
                return exp.column(node.this.name[:-2] + "size_", table=node.this.table or None)
            if isinstance(node, exp.GenerateSeries) and node.args.get("is_end_exclusive"):
                # range(a, b[, step]) (b excluded) -> sequence(a, b - step, step): Spark's sequence includes its
                # end, and sqlglot's own form compares the step with 0, which fails for an INTERVAL step
                step = node.args.get("step")
                end = exp.Sub(this=exp.Paren(this=node.args["end"]),
                              expression=step.copy() if step is not None else exp.Literal.number(1))
                return exp.Anonymous(this="sequence", expressions=[node.args["start"], end,
                                                                    *([step] if step is not None else [])])
            if isinstance(node, exp.Window) and isinstance(node.this, exp.RowNumber) \
                    and not node.args.get("partition_by") and not node.args.get("order"):
                # row_number() OVER (): a row id (subnetwork_compare); Spark numbers rows only in an order
                return exp.Anonymous(this="monotonically_increasing_id", expressions=[])
            if isinstance(node, exp.Window) and isinstance(node.this, exp.Count) \
                    and isinstance(node.this.this, exp.Distinct) and len(node.this.this.expressions) == 1 \
                    and not node.args.get("order"):
                # count(DISTINCT x) OVER (PARTITION BY ...): Spark has no DISTINCT in a window; the size of the
                # set of x over the same window (collect_set skips NULLs as count does)
                window = node.copy()
                window.set("this", exp.Anonymous(this="collect_set",
                                                 expressions=[node.this.this.expressions[0].copy()]))
                return exp.Anonymous(this="size", expressions=[window])
            if isinstance(node, exp.Bracket) and len(node.expressions) == 1 \
                    and isinstance(node.expressions[0], exp.Slice):
                # list[a:b] (1-based, both ends in): slice(list, a, b - a + 1); a omitted = 1, b omitted = the end
                part = node.expressions[0]
                lo = part.this.copy() if part.this is not None else exp.Literal.number(1)
                hi = part.expression.copy() if part.expression is not None \
                    else exp.Anonymous(this="size", expressions=[node.this.copy()])
                length = exp.Add(this=exp.Sub(this=exp.Paren(this=hi), expression=exp.Paren(this=lo.copy())),
                                 expression=exp.Literal.number(1))
                return exp.Anonymous(this="slice", expressions=[node.this.copy(), lo, length])
            if isinstance(node, exp.Distinct) and isinstance(node.parent, exp.Count):
                # count(DISTINCT (a, b)): a row value; on Spark a struct (a tuple there is two arguments)
                for i, item in enumerate(node.expressions):
                    if isinstance(item, exp.Tuple):
                        node.expressions[i] = exp.Anonymous(this="struct", expressions=list(item.expressions))
                return node
            if isinstance(node, exp.DayOfWeekIso):
                # isodow (Monday 1 .. Sunday 7): Spark's weekday is Monday 0 .. Sunday 6 (sqlglot's own form,
                # dayofweek % 7 + 1, makes Sunday 2)
                return exp.Paren(this=exp.Add(this=exp.Anonymous(this="weekday", expressions=[node.this.copy()]),
                                              expression=exp.Literal.number(1)))
            if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
                node.set("materialized", None)
            if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg) \
                    and isinstance(node.this.this, exp.Order):
                return _ordered_list(node.this.this, node.expression.this)
            if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
                return _ordered_list(node.this, None)
            if isinstance(node, exp.GroupConcat):
                # string_agg(x, sep [ORDER BY k]): Spark 3.5 has no listagg; NULL over no non-NULL value, as DuckDB
                ordered = isinstance(node.this, exp.Order)
                value = node.this.this if ordered else node.this
                values = _ordered_list(node.this, None) if ordered else exp.Anonymous(
                    this="collect_list", expressions=[value.copy()])
                sep = node.args.get("separator") or exp.Literal.string(",")
                joined = exp.Anonymous(this="concat_ws", expressions=[sep.copy(), values])
                empty = exp.EQ(this=exp.Count(this=value.copy()), expression=exp.Literal.number(0))
                return exp.Case(ifs=[exp.If(this=empty, true=exp.Null())], default=joined)
            return node

        return tree.transform(one)

    def statement(self, tree: exp.Expression, params: dict, rename: Callable[[exp.Table], str | None],
                  ) -> tuple[str, dict]:
        """(Spark SQL, spark.sql args) for one parsed DuckDB statement; `rename` maps a table to its view."""
        tree = self._expand(tree.copy())
        address_params: set[str] = set()
        tree = self._addresses(tree, address_params)
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}

        def tables(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
                if not node.db and node.name.lower() in ctes:
                    return node
                new = rename(node)
                if new is not None:
                    out = exp.Table(this=exp.to_identifier(new))
                    alias = node.args.get("alias")
                    if alias is None and (node.db or new != node.name):
                        alias = exp.TableAlias(this=exp.to_identifier(node.name))
                    if alias is not None:
                        out.set("alias", alias.copy())
                    return out
            return node

        tree = tree.transform(tables)
        args: dict = {}

        def marks(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Placeholder):
                name = node.name
                if name not in params:
                    raise TranspileError(f"parameter ${name} has no value")
                value = _plain(params[name])
                if name in address_params:
                    args[name] = None if value is None else address_bytes(value)
                    return node
                if (isinstance(value, int) and not isinstance(value, bool)
                        and node.find_ancestor(exp.WindowSpec) is not None):
                    return exp.Literal.number(value)  # a frame bound: Spark takes a literal only (an int: safe)
                if isinstance(value, dt.datetime):
                    args[name] = value.isoformat(sep=" ")
                    return exp.Cast(this=node, to=exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
                args[name] = value
                if value is None:
                    return exp.Null()
            return node

        tree = tree.transform(marks)
        tree = tree.transform(_date_format)
        tree = tree.transform(_printf_numbers)
        try:
            text = tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
        except SqlglotError as exc:
            raise TranspileError(f"no Spark equivalent: {str(exc).splitlines()[0]}") from None
        return text, args


# DuckDB strftime specifiers -> Spark datetime pattern letters (spark.apache.org, sql-ref-datetime-pattern)
_STRFTIME = {"Y": "yyyy", "y": "yy", "m": "MM", "d": "dd", "H": "HH", "I": "hh", "M": "mm", "S": "ss",
             "f": "SSSSSS", "g": "SSS", "p": "a", "a": "EEE", "A": "EEEE", "b": "MMM", "B": "MMMM", "j": "DDD"}


def spark_datetime_pattern(strftime: str) -> str:
    """A DuckDB strftime format as the Spark datetime pattern that prints the same text: each specifier its
    letters, literal text quoted when it holds a letter or a quote ('%Y-%m-%dT%H:%M:%S.%fZ' ->
    "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"; sqlglot leaves the T and Z bare, which Spark refuses)."""
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        text = "".join(literal)
        literal.clear()
        if text and re.search(r"[A-Za-z'\[\]#{}]", text):
            out.append("'" + text.replace("'", "''") + "'")
        else:
            out.append(text)

    i = 0
    while i < len(strftime):
        ch = strftime[i]
        if ch == "%" and i + 1 < len(strftime):
            spec = strftime[i + 1]
            i += 2
            if spec == "%":
                literal.append("%")
                continue
            if spec not in _STRFTIME:
                raise TranspileError(f"strftime %{spec} has no Spark pattern")
            flush()
            out.append(_STRFTIME[spec])
            continue
        literal.append(ch)
        i += 1
    flush()
    return "".join(out)


def _date_format(node: exp.Expression) -> exp.Expression:
    """strftime(t, 'literal format') as DATE_FORMAT with the Spark pattern of spark_datetime_pattern."""
    fmt = node.args.get("format") if isinstance(node, exp.TimeToStr) else None
    if not isinstance(fmt, exp.Literal) or not fmt.is_string:
        return node
    return exp.Anonymous(this="DATE_FORMAT",
                         expressions=[node.this, exp.Literal.string(spark_datetime_pattern(fmt.this))])


# printf conversions: flags, width and precision, then the conversion letter (C's, as DuckDB's printf takes them)
_PRINTF_SPEC = re.compile(r"%([-+ #0]*\d*(?:\.\d+)?)([a-zA-Z%])")


def _printf_numbers(node: exp.Expression) -> exp.Expression:
    """printf('... %.1f ... %d ...', a, b): each argument of a floating conversion (f, e, g) cast to DOUBLE, of %d
    to BIGINT. Spark's printf hands its values to Java's formatter, which refuses a DECIMAL (what sums and
    averages of integers are on Spark) for %f and %d: a check whose detail printed a rate failed on Spark as soon
    as it alerted (IllegalFormatConversionException: f != Decimal)."""
    if not isinstance(node, exp.Anonymous) or str(node.this).lower() != "printf" or not node.expressions:
        return node
    fmt, *values = node.expressions
    if not isinstance(fmt, exp.Literal) or not fmt.is_string:
        return node
    casts: list[str | None] = []
    for spec in _PRINTF_SPEC.finditer(fmt.this):
        letter = spec.group(2)
        if letter == "%":
            continue
        casts.append("DOUBLE" if letter in "feEgG" else "BIGINT" if letter in "di" else None)
    if len(casts) != len(values):  # (positional or unknown conversions: left as they are)
        return node
    args = [v if kind is None else exp.Cast(this=v, to=exp.DataType.build(kind)) for v, kind in
            zip(values, casts, strict=True)]
    return exp.Anonymous(this=node.this, expressions=[fmt, *args])


def _ordered_list(order: exp.Order, where: exp.Expression | None) -> exp.Expression:
    """list(x ORDER BY k1 [DESC], ...) [FILTER (c)]: Spark's collect_list keeps no order, so the values are
    collected with their keys and sorted by a comparator on the keys, then the keys dropped."""
    keys = list(order.expressions)
    fields = [f"{k.this.sql(dialect='spark')} AS k{i}" for i, k in enumerate(keys)]
    fields.append(f"{order.this.sql(dialect='spark')} AS v")
    cmp = "0"
    for i, k in reversed(list(enumerate(keys))):
        lo, hi = ("1", "-1") if k.args.get("desc") else ("-1", "1")
        cmp = (f"CASE WHEN l.k{i} IS NULL AND r.k{i} IS NULL THEN {cmp} WHEN l.k{i} IS NULL THEN 1 "
               f"WHEN r.k{i} IS NULL THEN -1 WHEN l.k{i} < r.k{i} THEN {lo} WHEN l.k{i} > r.k{i} THEN {hi} "
               f"ELSE {cmp} END")
    filtered = f" FILTER (WHERE {where.sql(dialect='spark')})" if where is not None else ""
    text = (f"transform(array_sort(collect_list(struct({', '.join(fields)})){filtered}, (l, r) -> {cmp}), "
            f"s -> s.v)")
    return sqlglot.parse_one(text, read="spark")


def _args(node: exp.Expression) -> list[exp.Expression]:
    """A call's arguments in order (sqlglot keeps a known function's arguments by name, not in a list)."""
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    out: list[exp.Expression] = []
    for key in node.arg_types:
        value = node.args.get(key)
        if isinstance(value, list):
            out.extend(v for v in value if isinstance(v, exp.Expression))
        elif isinstance(value, exp.Expression):
            out.append(value)
    return out


def _packs(node: exp.Expression) -> bool:
    """An OR of packed key fields (key_field(...) | key_field(...)): on Spark a sum."""
    def packed(n: exp.Expression) -> bool:
        while isinstance(n, exp.Paren):
            n = n.this
        return _fname(n) == "key_field" or (isinstance(n, (exp.BitwiseOr, exp.Add)) and packed(n.this)
                                             and packed(n.expression))
    return packed(node.this) and packed(node.expression)


def _plain(value: object) -> object:
    """A bound value without DuckDB's typed wrapper (duckdb.TimestampValue etc. hold it in .object)."""
    return getattr(value, "object", value) if type(value).__module__.startswith("duckdb") else value
