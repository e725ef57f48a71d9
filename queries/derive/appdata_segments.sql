-- name: appdata_segments
-- description: The TCP segments that may carry payload of chosen connection directions, after a given frame:
--   the rest of an SMTP session found on a port that is not SMTP's (forensics/ingest/appdata_pass.py). The
--   directions are the rows of `_wanted` (src_hi, src_lo, dst_hi, dst_lo: address halves; src_port,
--   dst_port; after: the last frame already read), an Arrow table the caller registers. Columns as
--   appdata_candidates.sql.
-- param: cid INTEGER = 1
WITH w AS (
    SELECT (src_hi::UHUGEINT << 64) | src_lo::UHUGEINT AS src, (dst_hi::UHUGEINT << 64) | dst_lo::UHUGEINT AS dst,
           src_port, dst_port, after
    FROM _wanted
), q AS (
    SELECT p.frame, epoch_us(p.ts) AS ts_us, p.linktype, p.file_offset, p.caplen, p.wirelen, p.ip_proto,
           p.src_port, p.dst_port, w.src, w.dst, p.ip_len
    FROM packet_rows p JOIN w
      ON coalesce(281470681743360::UHUGEINT + p.src4, p.src6) = w.src
     AND coalesce(281470681743360::UHUGEINT + p.dst4, p.dst6) = w.dst
     AND p.src_port = w.src_port AND p.dst_port = w.dst_port
    WHERE p.capture_id = $cid AND p.ip_proto = 6 AND p.tcp_flags & 2 = 0 AND p.frame > w.after
      AND coalesce(p.frag_flags & 1, 0) = 0
      AND (p.tcp_flags & 8 <> 0 OR p.ip_len > CASE p.ip_version WHEN 4 THEN 80 ELSE 100 END)
)
SELECT frame, ts_us, linktype, file_offset, caplen, wirelen, ip_proto, src_port, dst_port,
       (src >> 64)::UBIGINT AS src_hi, (src & 18446744073709551615::UHUGEINT)::UBIGINT AS src_lo,
       (dst >> 64)::UBIGINT AS dst_hi, (dst & 18446744073709551615::UHUGEINT)::UBIGINT AS dst_lo, ip_len
FROM q
ORDER BY frame
