-- name: conversations
-- description: The two directions of each flow key paired per capture: endpoint a is the lower
--   (address, port), b the higher. Totals over all flows of that key in the capture.
CREATE OR REPLACE VIEW conversations AS
SELECT
    capture_id, source, ip_version, ip_proto,
    CASE WHEN fwd THEN src_ip ELSE dst_ip END AS a_ip,
    CASE WHEN fwd THEN src_port ELSE dst_port END AS a_port,
    CASE WHEN fwd THEN dst_ip ELSE src_ip END AS b_ip,
    CASE WHEN fwd THEN dst_port ELSE src_port END AS b_port,
    min(first_ts) AS first_ts, max(last_ts) AS last_ts,
    sum(CASE WHEN fwd THEN packets ELSE 0 END) AS packets_a2b,
    sum(CASE WHEN fwd THEN 0 ELSE packets END) AS packets_b2a,
    sum(CASE WHEN fwd THEN bytes ELSE 0 END) AS bytes_a2b,
    sum(CASE WHEN fwd THEN 0 ELSE bytes END) AS bytes_b2a,
    sum(CASE WHEN fwd THEN frame_bytes ELSE 0 END) AS frame_bytes_a2b,
    sum(CASE WHEN fwd THEN 0 ELSE frame_bytes END) AS frame_bytes_b2a,
    count(*) AS flows
FROM (
    SELECT *, (src_ip < dst_ip OR (src_ip = dst_ip AND src_port <= dst_port)) AS fwd FROM flows
) AS x
GROUP BY ALL;
