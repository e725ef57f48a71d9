-- name: flows_summary
-- description: The summary under `forensics flows` (nfdump's "Summary:" and "Time window:" lines): totals
--   of the listed flows. `listed` is the flows_line query with the command's WHERE, ORDER BY and LIMIT.
SELECT
    count(*) AS flows,
    coalesce(sum(bytes), 0) AS bytes,
    coalesce(sum(packets), 0) AS packets,
    min(first_ts) AS first_ts,
    max(last_ts) AS last_ts
FROM listed
