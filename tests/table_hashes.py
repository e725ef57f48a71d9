"""Row counts and an order-free hash of every table and view of a case, for comparing two imports of the same
files (the columns that hold the time of the import, and the token in a part's file name, left out)."""

from __future__ import annotations

from pathlib import Path

from forensics.store import Case

# (table, column) that differ between two imports of the same content
VOLATILE = {("captures", "imported_at"), ("import_rejects", "rejected_at"), ("lake_parts", "path"),
            ("lake_parts", "bytes")}


def table_hashes(db: str | Path) -> dict[str, tuple[int, int | None]]:
    """{table or view: (rows, xor of the rows' hashes)}: ids are in the rows, so their order counts too."""
    with Case.open(db, read_only=True) as case:
        con = case.con
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND database_name = current_database() "
            "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
            "AND database_name = current_database() ORDER BY 1").fetchall()]
        out = {}
        for name in names:
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = $t AND schema_name = 'main' "
                "AND database_name = current_database() ORDER BY column_index", {"t": name}).fetchall()
                if (name, r[0]) not in VOLATILE]
            packed = ", ".join(f'"{c}" := "{c}"' for c in cols)
            sql = f'SELECT count(*), bit_xor(hash(struct_pack({packed}))) FROM "{name}"'
            rows, digest = con.execute(sql).fetchone()
            out[name] = (int(rows), None if digest is None else int(digest))
        return out
