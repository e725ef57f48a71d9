-- name: serve_alerts
-- description: Rows of the `alerts` table as they are stored, at most $limit from row $offset (the server's
--   alerts list; the columns are whatever detection writes).
SELECT *
FROM main.alerts
ORDER BY 1
LIMIT $limit OFFSET $offset
