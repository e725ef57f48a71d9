-- name: serve_alerts_count
-- description: How many rows the `alerts` table holds.
SELECT count(*) AS alerts FROM main.alerts
