"""A case database of schema 1 (packets in one table, 128-bit addresses) opens as schema 2 with the same rows."""

from __future__ import annotations

from forensics.ingest import import_paths
from forensics.store import SCHEMA_VERSION, Case
from tests.conftest import CORPUS


def test_schema_1_case_is_upgraded_in_place(tmp_path):
    db = tmp_path / "c.duckdb"
    captures = [CORPUS / "files/zeek/ipv6-fragmented-dns.pcap", CORPUS / "files/gopacket/test_dns.pcap"]
    with Case.open(db) as case:
        import_paths(case, [str(p) for p in captures])
        before = case.con.execute("SELECT * FROM packets ORDER BY capture_id, frame").fetchall()
        v6 = case.con.execute("SELECT count(*) FILTER (ip_version = 6), count(*) FILTER (ip_version = 4) "
                              "FROM packets").fetchall()[0]
        # Rewrite the database the way schema 1 laid it out.
        case.con.execute("CREATE TABLE packets_old AS SELECT * FROM packets")
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
        assert case.con.execute("SELECT * FROM packets ORDER BY capture_id, frame").fetchall() == before
        assert case.con.execute("SELECT count(*) FROM conversations").fetchall()[0][0] > 0


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
