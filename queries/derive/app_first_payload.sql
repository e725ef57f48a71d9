-- name: app_first_payload
-- description: For one capture, the first packet that may carry payload of every TCP and UDP 5-tuple and
--   direction: what forensics/ingest/app_labels.py reads the first payload bytes of (SSH banner, SMB and RDP
--   headers, SMTP EHLO, QUIC long header, TLS record). TCP: not a SYN, and PSH set or an IP length past the
--   largest headers (as queries/derive/appdata_candidates.sql). UDP on the DNS, DHCP and NTP ports is left out
--   (the appdata tables label it), and so are IP fragments but the first. The 5-tuple is found once per
--   direction, then its packet's columns are fetched (one GROUP BY over few columns: half the time of carrying
--   every column through it, on the 2M-packet bench capture). Addresses as two UBIGINT halves.
-- param: cid INTEGER = 1
WITH first AS (
    SELECT min(frame) AS frame
    FROM packet_rows
    WHERE capture_id = $cid AND ip_proto IN (6, 17) AND src_port IS NOT NULL AND dst_port IS NOT NULL
      AND coalesce(frag_flags & 1, 0) = 0
      AND CASE WHEN ip_proto = 6
               THEN tcp_flags & 2 = 0
                    AND (tcp_flags & 8 <> 0 OR ip_len > CASE ip_version WHEN 4 THEN 80 ELSE 100 END)
               ELSE src_port NOT IN (53, 5353, 5355, 67, 68, 123) AND dst_port NOT IN (53, 5353, 5355, 67, 68, 123)
          END
    GROUP BY ip_proto, src4, src6, dst4, dst6, src_port, dst_port
)
SELECT frame, file_offset, caplen, wirelen, linktype, ip_proto, ip_len, src_port, dst_port,
       (src >> 64)::UBIGINT AS src_hi, (src & 18446744073709551615::UHUGEINT)::UBIGINT AS src_lo,
       (dst >> 64)::UBIGINT AS dst_hi, (dst & 18446744073709551615::UHUGEINT)::UBIGINT AS dst_lo
FROM (SELECT *, coalesce(281470681743360::UHUGEINT + src4, src6) AS src,
             coalesce(281470681743360::UHUGEINT + dst4, dst6) AS dst
      FROM packet_rows SEMI JOIN first USING (frame)
      WHERE capture_id = $cid)
ORDER BY frame
