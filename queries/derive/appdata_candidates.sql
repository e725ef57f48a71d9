-- name: appdata_candidates
-- description: The packets of one capture whose payloads the import reads for application metadata
--   (forensics/appdata/select.py makes the same choice while decoding, and explains it): well-known DNS/DHCP/DHCPv6/NTP
--   UDP ports whole, TCP 53 and SMTP (25, 587, 2525) whole, the first $first packets of every UDP 443 5-tuple (QUIC Initials), the first packet
--   of every other UDP 5-tuple (DNS by header sanity), the first $first TCP segments that may
--   carry payload of every 5-tuple (TLS hellos and HTTP heads on any port). Addresses split into uint64 halves.
-- param: cid INTEGER = 1
-- param: first INTEGER = 3
WITH p AS (
    SELECT frame, ip_proto, src_port, dst_port, src4, src6, dst4, dst6, tcp_flags, ip_len, ip_version
    FROM packet_rows
    WHERE capture_id = $cid AND ip_proto IN (6, 17) AND src_port IS NOT NULL AND dst_port IS NOT NULL
      AND coalesce(frag_flags & 1, 0) = 0  -- a first fragment of several: its message is not whole (not reassembled)
), tcp_data AS (
    SELECT * FROM p
    WHERE ip_proto = 6 AND tcp_flags & 2 = 0
      AND (tcp_flags & 8 <> 0 OR ip_len > CASE ip_version WHEN 4 THEN 80 ELSE 100 END)
), chosen AS (
    SELECT frame FROM p WHERE ip_proto = 17 AND (src_port IN (53, 5353, 5355, 67, 68, 546, 547, 123)
                                                 OR dst_port IN (53, 5353, 5355, 67, 68, 546, 547, 123))
    UNION ALL
    SELECT min(frame) FROM p WHERE ip_proto = 17 AND src_port NOT IN (53, 5353, 5355, 67, 68, 546, 547, 123, 443)
                                   AND dst_port NOT IN (53, 5353, 5355, 67, 68, 546, 547, 123, 443)
    GROUP BY src4, src6, dst4, dst6, src_port, dst_port
    UNION ALL
    SELECT unnest(min_by(frame, frame, $first)) FROM p
    WHERE ip_proto = 17 AND (src_port = 443 OR dst_port = 443)
      AND src_port NOT IN (53, 5353, 5355, 67, 68, 546, 547, 123)
      AND dst_port NOT IN (53, 5353, 5355, 67, 68, 546, 547, 123)
    GROUP BY src4, src6, dst4, dst6, src_port, dst_port
    UNION ALL
    SELECT frame FROM tcp_data WHERE src_port IN (25, 53, 587, 2525) OR dst_port IN (25, 53, 587, 2525)
    UNION ALL
    SELECT unnest(min_by(frame, frame, $first)) FROM tcp_data WHERE src_port NOT IN (25, 53, 587, 2525)
                                                                 AND dst_port NOT IN (25, 53, 587, 2525)
    GROUP BY src4, src6, dst4, dst6, src_port, dst_port
), q AS (
    SELECT frame, epoch_us(ts) AS ts_us, linktype, file_offset, caplen, wirelen, ip_proto, src_port, dst_port,
           coalesce(281470681743360::UHUGEINT + src4, src6) AS src,
           coalesce(281470681743360::UHUGEINT + dst4, dst6) AS dst, ip_len
    FROM packet_rows SEMI JOIN chosen USING (frame)
    WHERE capture_id = $cid
)
SELECT frame, ts_us, linktype, file_offset, caplen, wirelen, ip_proto, src_port, dst_port,
       (src >> 64)::UBIGINT AS src_hi, (src & 18446744073709551615::UHUGEINT)::UBIGINT AS src_lo,
       (dst >> 64)::UBIGINT AS dst_hi, (dst & 18446744073709551615::UHUGEINT)::UBIGINT AS dst_lo, ip_len
FROM q
ORDER BY frame
