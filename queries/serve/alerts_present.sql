-- name: serve_alerts_present
-- description: Whether the case has an `alerts` table (written by detection; older cases have none).
SELECT count(*) > 0 AS present
FROM duckdb_tables()
WHERE table_name = 'alerts' AND schema_name = 'main' AND NOT temporary
