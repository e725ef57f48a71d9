-- name: app_evidence
-- description: The application messages the import stored for one capture (queries/schema/appdata.sql), one row
--   per packet: the label each gives the flows of its connection (forensics/ingest/app_labels.py joins them
--   to the flows with queries/derive/flow_app.sql). DNS keeps its service: dns, mdns or llmnr. A DNS-shaped
--   message on UDP port 137 is NetBIOS name service (tshark: nbns), not DNS: left out.
-- param: cid INTEGER = 1
SELECT DISTINCT frame, service AS app, 'dns' AS evidence FROM dns
WHERE capture_id = $cid AND NOT (transport = 'udp' AND (src_port = 137 OR dst_port = 137))
UNION ALL
SELECT DISTINCT frame, 'tls', 'tls' FROM tls WHERE capture_id = $cid
UNION ALL
SELECT DISTINCT frame, 'http', 'http' FROM http WHERE capture_id = $cid
UNION ALL
SELECT frame, 'ntp', 'ntp' FROM ntp WHERE capture_id = $cid
UNION ALL
SELECT frame, 'dhcp', 'dhcp' FROM dhcp WHERE capture_id = $cid
