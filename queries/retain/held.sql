-- name: retain_held
-- description: Per capture, since when its rows are held: packets_before (packet rows before it were removed,
--   by either level) and flows_before (flow records starting before it were removed), from the retention log.
--   A capture no retention applied to has no row. Run: forensics report (coverage), forensics carve
SELECT c.capture_id,
       max(l.cutoff) AS packets_before,
       max(l.cutoff) FILTER (WHERE l.level = 'flows') AS flows_before
FROM retention_captures c
JOIN retention l USING (retention_id)
GROUP BY c.capture_id
ORDER BY c.capture_id
