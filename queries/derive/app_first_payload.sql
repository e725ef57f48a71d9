-- name: app_first_payload
-- description: For one capture, the first packet that may carry payload of every TCP and UDP 5-tuple and
--   direction: what forensics/ingest/app_labels.py reads the first payload bytes of (SSH banner, SMB and RDP
--   headers, SMTP EHLO, QUIC long header). TCP: not a SYN, and PSH set or an IP length past the largest
--   headers (as queries/derive/appdata_candidates.sql). UDP on the DNS, DHCP and NTP ports is left out
--   (the appdata tables label it), and so are non-first IP fragments.
-- param: cid INTEGER = 1
SELECT min(frame) AS frame, arg_min(file_offset, frame) AS file_offset, arg_min(caplen, frame) AS caplen,
       arg_min(wirelen, frame) AS wirelen, arg_min(linktype, frame) AS linktype, ip_proto,
       arg_min(ip_len, frame) AS ip_len
FROM packet_rows
WHERE capture_id = $cid AND ip_proto IN (6, 17) AND src_port IS NOT NULL AND dst_port IS NOT NULL
  AND coalesce(frag_flags & 1, 0) = 0
  AND CASE WHEN ip_proto = 6
           THEN tcp_flags & 2 = 0
                AND (tcp_flags & 8 <> 0 OR ip_len > CASE ip_version WHEN 4 THEN 80 ELSE 100 END)
           ELSE src_port NOT IN (53, 5353, 5355, 67, 68, 123) AND dst_port NOT IN (53, 5353, 5355, 67, 68, 123)
      END
GROUP BY ip_proto, src4, src6, dst4, dst6, src_port, dst_port
ORDER BY frame
