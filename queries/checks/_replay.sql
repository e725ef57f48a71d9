-- The offline replay of the flow hooks of Python checks (forensics/checks/replay.py runs this; not a check).
-- Parameters: $lo, $hi (the run's range: an event counts when event_ts is in [lo, hi)), $hooks (the hooks the
-- check defines), $tick_secs (300: the periodic tick). One row per (hook, flow, event), in flow time:
-- ORDER BY event_ts, hook (in the order below), flow_id; the Python side reads it in batches.
--
--   protocol_detected  at first_ts, the flows whose application label is known. The case has no per-flow
--                      application column: the label is app_of(proto, src_port, dst_port), the configured
--                      [applications] signatures (ports), which are known from a flow's first packet.
--                      The row is the flow as stored.
--   status_changed     TCP flows with their packets held (source 'pcap'): at each packet that adds TCP flag
--                      bits to the OR of the flow's earlier packets (SYN, then ACK, then PSH, then FIN ...; the
--                      first packet opens the flow and is not a change). tcp_flags, packets, bytes, last_ts are
--                      the flow's so far (up to and including that packet). The application label never
--                      changes (it comes from the ports), and exported flows hold no per-packet state: none.
--   periodic_update    at each clock-aligned tick (multiple of $tick_secs) t with first_ts + tick <= t <= last_ts:
--                      flows alive at t and older than one tick. Counters up to t: from the flow's packets with
--                      ts < t where the case holds them (pcap); for exported flows, packets and bytes prorated
--                      over [first_ts, last_ts] (rounded down), tcp_flags the flow's whole OR, last_ts = t.
--   flow_end           at last_ts, every flow, as stored.
-- Packets belong to a pcap flow when capture, interface, VLAN, addresses, protocol and ports are equal and
-- first_ts <= ts <= last_ts (the flow meter cuts a 5-tuple's flows apart in time).
WITH f AS (
    SELECT *, app_of(ip_proto, src_port, dst_port) AS app
    FROM flows
    WHERE last_ts >= $lo AND first_ts < $hi
),
fp AS (  -- packets of the flows whose per-packet state a hook needs
    SELECT f.flow_id, p.ts, p.frame, coalesce(p.tcp_flags, 0) AS flags, CAST(coalesce(p.ip_len, p.wirelen) AS BIGINT) AS b
    FROM f JOIN packets p
      ON p.capture_id = f.capture_id AND p.src_ip = f.src_ip AND p.dst_ip = f.dst_ip AND p.ip_proto = f.ip_proto
     AND coalesce(p.src_port, 0) = f.src_port AND coalesce(p.dst_port, 0) = f.dst_port
     AND p.iface IS NOT DISTINCT FROM f.iface AND p.vlan IS NOT DISTINCT FROM f.vlan
     AND p.ts BETWEEN f.first_ts AND f.last_ts
    WHERE f.source = 'pcap'
      AND ((list_contains($hooks, 'status_changed') AND f.ip_proto = 6)
           OR (list_contains($hooks, 'periodic_update') AND f.last_ts >= f.first_ts + to_seconds($tick_secs)))
),
cumulative AS (
    SELECT flow_id, ts, frame, bit_or(flags) OVER w AS so_far, count(*) OVER w AS n, sum(b) OVER w AS nb
    FROM fp
    WINDOW w AS (PARTITION BY flow_id ORDER BY ts, frame ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
running AS (
    SELECT *, lag(so_far) OVER (PARTITION BY flow_id ORDER BY ts, frame) AS before FROM cumulative
),
changes AS (
    SELECT r.flow_id, r.ts AS event_ts, CAST(r.so_far AS USMALLINT) AS tcp_flags, CAST(r.n AS UBIGINT) AS packets,
           CAST(r.nb AS UBIGINT) AS bytes, r.ts AS last_ts
    FROM running r JOIN f USING (flow_id)
    WHERE f.ip_proto = 6 AND r.before IS NOT NULL AND r.so_far <> r.before
),
ticks AS (
    SELECT f.flow_id, t AS event_ts
    FROM f, unnest(range(time_bin(f.first_ts + to_seconds($tick_secs) - INTERVAL 1 MICROSECOND, $tick_secs)
                             + to_seconds($tick_secs),
                         f.last_ts + INTERVAL 1 MICROSECOND, to_seconds($tick_secs))) AS u(t)
    WHERE list_contains($hooks, 'periodic_update') AND f.last_ts >= f.first_ts + to_seconds($tick_secs)
),
tick_counts AS (
    SELECT k.flow_id, k.event_ts,
           CAST(bit_or(p.flags) AS USMALLINT) AS tcp_flags, CAST(count(p.ts) AS UBIGINT) AS packets,
           CAST(sum(p.b) AS UBIGINT) AS bytes, max(p.ts) AS last_ts
    FROM ticks k LEFT JOIN fp p ON p.flow_id = k.flow_id AND p.ts < k.event_ts
    GROUP BY k.flow_id, k.event_ts
),
periodic AS (
    SELECT k.flow_id, k.event_ts,
           CASE WHEN f.source = 'pcap' THEN k.tcp_flags ELSE f.tcp_flags END AS tcp_flags,
           CASE WHEN f.source = 'pcap' THEN k.packets
                ELSE CAST(floor(f.packets * epoch(k.event_ts - f.first_ts) / epoch(f.last_ts - f.first_ts)) AS UBIGINT)
           END AS packets,
           CASE WHEN f.source = 'pcap' THEN k.bytes
                ELSE CAST(floor(f.bytes * epoch(k.event_ts - f.first_ts) / epoch(f.last_ts - f.first_ts)) AS UBIGINT)
           END AS bytes,
           CASE WHEN f.source = 'pcap' THEN k.last_ts ELSE k.event_ts END AS last_ts
    FROM tick_counts k JOIN f USING (flow_id)
),
events AS (
    SELECT 'protocol_detected' AS hook, 1 AS hook_rank, flow_id, first_ts AS event_ts, tcp_flags, packets, bytes,
           last_ts
    FROM f WHERE list_contains($hooks, 'protocol_detected') AND app IS NOT NULL
    UNION ALL
    SELECT 'status_changed', 2, flow_id, event_ts, tcp_flags, packets, bytes, last_ts
    FROM changes WHERE list_contains($hooks, 'status_changed')
    UNION ALL
    SELECT 'periodic_update', 3, flow_id, event_ts, tcp_flags, packets, bytes, last_ts FROM periodic
    UNION ALL
    SELECT 'flow_end', 4, flow_id, last_ts, tcp_flags, packets, bytes, last_ts
    FROM f WHERE list_contains($hooks, 'flow_end')
)
SELECT e.hook, e.event_ts, f.flow_id, f.source, f.capture_id, f.record_pos, ip_text(f.exporter_ip) AS exporter_ip,
       f.observation_domain, f.first_ts, e.last_ts, f.ip_version, ip_text(f.src_ip) AS src_ip,
       ip_text(f.dst_ip) AS dst_ip, f.ip_proto, f.src_port, f.dst_port, f.icmp_type, f.icmp_code, f.iface, f.vlan,
       f.in_if, f.out_if, f.src_as, f.dst_as, ip_text(f.next_hop) AS next_hop, f.direction, f.tos, e.tcp_flags,
       e.packets, e.bytes, f.frame_bytes, f.sampling_rate, f.packets_scaled, f.bytes_scaled, f.app
FROM events e JOIN f USING (flow_id)
WHERE e.event_ts >= $lo AND e.event_ts < $hi
ORDER BY e.event_ts, e.hook_rank, e.flow_id
