"""A single-file case converted to a lake case (`forensics convert`): built beside the target, renamed into
place at the end, so an interrupted conversion leaves the source as it was and no half-made case."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow as pa

from forensics.errors import UsageError
from forensics.store import Case
from forensics.store.home_bits import with_home_bits
from forensics.store.lake import Stage, is_lake, sql_literal
from forensics.store.lake_layout import SCHEMAS

# Rows per Arrow batch read from the single-file case (one Parquet row group each at most).
CONVERT_BATCH_ROWS = 1 << 20


def _split(name: str) -> str:
    return (f"({name} >> 64)::UBIGINT AS {name}_hi, "
            f"({name} & 18446744073709551615::UHUGEINT)::UBIGINT AS {name}_lo")


_MAPPED = "281470681743360::UHUGEINT"  # ::ffff:0.0.0.0
_SELECT = {
    "packets": f"""
        SELECT frame, ts, iface, linktype, file_offset, caplen, wirelen, vlan, vlan_inner, mpls_label, eth_type,
            ip_version, {_split('src_ip')}, {_split('dst_ip')}, ip_proto, ip_len, ttl, ip_id, frag_offset,
            frag_flags, src_port, dst_port, tcp_flags, icmp_type, icmp_code, malformed, src_mac, dst_mac, arp_op,
            arp_sha, {_split('arp_spa')}, arp_tha, {_split('arp_tpa')}
        FROM (
            -- src.packets is a view whose FROM would bind in the lake: its definition (tables.sql), on src
            SELECT * REPLACE (
                coalesce({_MAPPED} + src4, src6) AS src_ip, coalesce({_MAPPED} + dst4, dst6) AS dst_ip,
                {_MAPPED} + arp_spa AS arp_spa, {_MAPPED} + arp_tpa AS arp_tpa)
            FROM (SELECT *, NULL::UHUGEINT AS src_ip, NULL::UHUGEINT AS dst_ip FROM src.packet_rows
                  WHERE capture_id = $c)
        ) ORDER BY frame""",
    "flows": f"""
        SELECT flow_id, source, record_pos, {_split('exporter_ip')}, observation_domain, first_ts, last_ts,
            ip_version, {_split('src_ip')}, {_split('dst_ip')}, ip_proto, src_port, dst_port, icmp_type, icmp_code,
            iface, vlan, in_if, out_if, src_as, dst_as, {_split('next_hop')}, direction, tos, tcp_flags, packets,
            bytes, frame_bytes, sampling_rate, packets_scaled, bytes_scaled
        FROM src.flows WHERE capture_id = $c ORDER BY flow_id""",
}
# (flow_rollups: a single-file case's are per capture; the converted parts, without home bits, have none)
_DERIVED = {"packets", "packet_rows", "flows", "schema_version", "lake_parts", "flow_rollups"}


def default_target(source: Path) -> Path:
    """case.duckdb -> case/ (beside it); a name without .duckdb gets .lake appended."""
    return source.with_suffix("") if source.suffix == ".duckdb" else source.with_name(source.name + ".lake")


def convert_to_lake(source: str | Path, target: str | Path | None = None) -> dict:
    """Convert the single-file case `source` into a lake case at `target` (a new folder). Returns counts."""
    source = Path(source)
    if not source.is_file():
        what = "a folder (already a lake case)" if is_lake(source) else "not there"
        raise UsageError(f"{source}: {what}; convert takes a single-file case such as case.duckdb")
    dest = Path(target) if target is not None else default_target(source)
    if dest.exists():
        raise UsageError(f"{dest}: already exists; choose another --to or remove it first")
    Case.open(source, read_only=True).close()  # writes only to upgrade its schema or purge a killed import
    for old in dest.parent.glob(f".{dest.name}.converting-*"):  # an interrupted conversion's leftovers
        shutil.rmtree(old, ignore_errors=True)
    build = dest.parent / f".{dest.name}.converting-{os.getpid()}"
    build.mkdir(parents=True)
    try:
        counts = _build(source, build)
        os.replace(build, dest)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    counts["target"] = str(dest)
    return counts


def _build(source: Path, build: Path) -> dict:
    with Case.open(build) as case:
        con = case.con
        con.execute(f"ATTACH {sql_literal(str(source.resolve()))} AS src (READ_ONLY)")
        con.execute("BEGIN TRANSACTION")
        try:
            tables = [r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' AND schema_name = 'main' "
                "ORDER BY table_name").fetchall()]
            here = {r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = 'main'").fetchall()}
            copied = {}
            for name in tables:
                if name in _DERIVED:
                    continue
                if name in here:
                    con.execute(f'INSERT INTO main."{name}" BY NAME SELECT * FROM src."{name}"')
                else:
                    con.execute(f'CREATE TABLE main."{name}" AS SELECT * FROM src."{name}"')
                copied[name] = con.execute(f'SELECT count(*) FROM main."{name}"').fetchone()[0]
            for seq, last in con.execute("SELECT sequence_name, last_value FROM duckdb_sequences() "
                                         "WHERE database_name = 'src' AND last_value IS NOT NULL").fetchall():
                con.execute(f'SELECT max(nextval(\'"{seq}"\')) FROM range($n)', {"n": int(last)}).fetchall()
            stage = Stage(case.lake_root, con)
            rows = {}
            cids = [r[0] for r in con.execute("SELECT capture_id FROM src.captures ORDER BY 1").fetchall()]
            for table_name, select in _SELECT.items():
                schema = SCHEMAS[table_name]
                rows[table_name] = 0
                for cid in cids:
                    reader = con.sql(select, params={"c": cid}).to_arrow_reader(CONVERT_BATCH_ROWS)
                    try:
                        for batch in reader:
                            table = pa.Table.from_batches([batch])
                            if table_name == "flows":  # a single file keeps no home bits: NULL (unknown)
                                table = with_home_bits(table, None)
                            table = pa.table([table.column(n).cast(schema.field(n).type) for n in schema.names],
                                             schema=schema)
                            stage.write_table(table_name, cid, table)
                            rows[table_name] += len(table)
                    finally:
                        reader.close()  # the connection takes no other statement while a result is open
            stage.publish()
            for table_name in _SELECT:
                src_n = con.execute(
                    f"SELECT count(*) FROM src.{'packet_rows' if table_name == 'packets' else 'flows'}").fetchone()[0]
                if src_n != rows[table_name]:
                    raise UsageError(f"{source}: {table_name} has {src_n} rows but {rows[table_name]} were "
                                     "converted (rows whose capture is not in captures?); run an import on it "
                                     "once to purge them, then convert again")
            con.execute("COMMIT")
            stage.cleanup()
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("DETACH src")
    return {"tables": copied, "packets": rows["packets"], "flows": rows["flows"]}
