-- name: retain_pruned_flows
-- description: The flows built from packets that match a carve selection (the condition replaces
--   `true /* selection */`) and whose packets retention removed, in whole or in part (they started before their
--   capture's cutoff); with the earliest removal that took some of them (retention log). Needs
--   packets_gone_before (forensics.reports.coverage.install_retention). Run: forensics carve / packets
WITH hit AS (
    SELECT capture_id, first_ts, last_ts, packets, last_ts < packets_gone_before(capture_id) AS whole
    FROM flows
    WHERE source = 'pcap' AND first_ts < packets_gone_before(capture_id) AND (true /* selection */)
)
SELECT count(*) AS flows, coalesce(sum(packets) FILTER (WHERE whole), 0) AS packets,
       count(*) FILTER (WHERE NOT whole) AS partly, min(first_ts) AS first_ts,
       (SELECT min(l.cutoff) FROM retention l JOIN retention_captures c USING (retention_id)
        WHERE c.capture_id IN (SELECT capture_id FROM hit) AND l.cutoff > (SELECT min(first_ts) FROM hit)) AS cutoff,
       (SELECT min(l.done_at) FROM retention l JOIN retention_captures c USING (retention_id)
        WHERE c.capture_id IN (SELECT capture_id FROM hit) AND l.cutoff > (SELECT min(first_ts) FROM hit)) AS done_at
FROM hit
