"""A case database of schema 1 (packets in one table, 128-bit addresses) or schema 2 (no link-layer columns)
opens as the current schema with the same rows (the link-layer columns NULL)."""

from __future__ import annotations

import pytest

from forensics.ingest import import_paths
from forensics.store import SCHEMA_VERSION, Case
from tests.conftest import CORPUS

pytestmark = pytest.mark.single_file  # hand-built schema-1/2 databases: single-file internals

LINK_COLUMNS = ["src_mac", "dst_mac", "arp_op", "arp_sha", "arp_spa", "arp_tha", "arp_tpa"]
V2_COLUMNS = ("capture_id, frame, ts, iface, linktype, file_offset, caplen, wirelen, vlan, vlan_inner, mpls_label, "
              "eth_type, ip_version, src_ip, dst_ip, ip_proto, ip_len, ttl, ip_id, frag_offset, frag_flags, src_port, "
              "dst_port, tcp_flags, icmp_type, icmp_code, malformed")


def test_schema_1_case_is_upgraded_in_place(tmp_path):
    db = tmp_path / "c.duckdb"
    captures = [CORPUS / "files/zeek/ipv6-fragmented-dns.pcap", CORPUS / "files/gopacket/test_dns.pcap"]
    with Case.open(db) as case:
        import_paths(case, [str(p) for p in captures])
        before = case.con.execute(f"SELECT {V2_COLUMNS} FROM packets ORDER BY capture_id, frame").fetchall()
        v6 = case.con.execute("SELECT count(*) FILTER (ip_version = 6), count(*) FILTER (ip_version = 4) "
                              "FROM packets").fetchall()[0]
        # Rewrite the database the way schema 1 laid it out.
        case.con.execute(f"CREATE TABLE packets_old AS SELECT {V2_COLUMNS} FROM packets")
        case.con.execute("DROP VIEW conversations")
        case.con.execute("DROP VIEW packets")
        case.con.execute("DROP TABLE packet_rows")
        case.con.execute("ALTER TABLE packets_old RENAME TO packets")
        case.con.execute("UPDATE schema_version SET version = 1")
    assert len(before) > 10 and v6[0] > 0 and v6[1] > 0
    with Case.open(db) as case:
        assert case.con.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        kinds = dict(case.con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall())
        assert kinds["packets"] == "VIEW" and kinds["packet_rows"] == "BASE TABLE" and "packets_old" not in kinds
        assert case.con.execute(f"SELECT {V2_COLUMNS} FROM packets ORDER BY capture_id, frame").fetchall() == before
        assert case.con.execute("SELECT count(*) FROM conversations").fetchall()[0][0] > 0
        any_link = " OR ".join(f"{c} IS NOT NULL" for c in LINK_COLUMNS)
        assert case.con.execute(f"SELECT count(*) FROM packets WHERE {any_link}").fetchall() == [(0,)]


def _make_v2(db) -> list[tuple]:
    with Case.open(db) as case:
        import_paths(case, [str(CORPUS / "files/gopacket/test_dns.pcap")])
        before = case.con.execute(f"SELECT {V2_COLUMNS} FROM packets ORDER BY frame").fetchall()
        assert case.con.execute("SELECT count(src_mac) FROM packets").fetchall()[0][0] == len(before) > 0
        case.con.execute("DROP VIEW conversations")
        case.con.execute("DROP VIEW packets")
        for column in LINK_COLUMNS:
            case.con.execute(f"ALTER TABLE packet_rows DROP COLUMN {column}")
        case.con.execute("UPDATE schema_version SET version = 2")
    return before


def test_schema_2_case_gains_the_link_columns_in_place(tmp_path):
    db = tmp_path / "c.duckdb"
    before = _make_v2(db)
    with Case.open(db) as case:
        assert case.con.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert case.con.execute(f"SELECT {V2_COLUMNS} FROM packets ORDER BY frame").fetchall() == before
        assert case.con.execute("SELECT count(src_mac) FROM packets").fetchall() == [(0,)]
        # A new import fills them.
        import_paths(case, [str(CORPUS / "files/zeek/ipv6-fragmented-dns.pcap")])
        assert case.con.execute("SELECT count(src_mac) FROM packets WHERE capture_id = 2").fetchall()[0][0] > 0


def test_schema_2_case_opened_read_only_is_upgraded_first(tmp_path):
    db = tmp_path / "c.duckdb"
    before = _make_v2(db)
    with Case.open(db, read_only=True) as case:
        assert case.con.execute(f"SELECT {V2_COLUMNS} FROM packets ORDER BY frame").fetchall() == before
        assert case.con.execute("SELECT count(arp_op) FROM packets").fetchall() == [(0,)]


def test_import_lowers_duckdb_memory_for_its_duration_and_restores_it(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setenv("FORENSICS_IMPORT_MEMORY_LIMIT", "123MB")
    with Case.open(tmp_path / "c.duckdb") as case:
        before = case.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]

        class Spy:
            def file_started(self, path, size):
                seen.append(case.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

            def advanced(self, done, packets):
                pass

            def file_done(self, result):
                pass

        import_paths(case, [str(CORPUS / "files/gopacket/test_dns.pcap")], progress=Spy())
        after = case.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert seen and seen[0] != before and seen[0].startswith("11")  # 123 MB = 117.3 MiB
    assert after == before
