-- name: http_hosts
-- title: HTTP hosts and user agents
-- description: The web hosts clients asked for over HTTP/1.x and the user agents they sent, from the case's http table (queries/schema/appdata.sql: request heads read from packet payloads at import, on any port; the first requests of each connection: later requests of a kept-alive connection are not read, see README "Application metadata"). Section hosts: the $top Host headers by requests ('(none)' for requests without one), with the user agents (three shown) and server addresses (three shown), most frequent first; requests = HTTP requests, hosts = distinct clients. Section user_agents: the $top User-Agent headers by requests, with the hosts they asked for (five shown); names = distinct hosts. The scope and --filter select the packets that carry the requests (their flow key and bin must be kept). Counts per bin and over the window.
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- section: hosts: host, user_agents, servers
-- section: user_agents: user_agent, asked
-- measures: requests, hosts, names
-- unit: packets
WITH reqs AS MATERIALIZED (  -- the requests in the window whose packet the scope and --filter keep
    SELECT time_bin(h.ts, $bin_secs) AS bin, h.src_ip AS client, h.dst_ip AS server,
           coalesce(h.host, '(none)') AS host, coalesce(h.user_agent, '(none)') AS user_agent
    FROM http h
    WHERE h.ts >= $from_ts AND h.ts < $to_ts AND NOT h.is_response
      AND EXISTS (SELECT 1 FROM _packet_bins pb
                  WHERE pb.filter IS NULL AND pb.bin = time_bin(h.ts, $bin_secs) AND pb.src_ip = h.src_ip
                    AND pb.dst_ip = h.dst_ip AND pb.src_port = h.src_port AND pb.dst_port = h.dst_port)
),
hosts AS (
    SELECT host, count(*) AS requests, count(DISTINCT client) AS hosts,
           row_number() OVER (ORDER BY count(*) DESC, host) AS rank
    FROM reqs GROUP BY host
    QUALIFY rank <= $top
),
host_lists AS (
    SELECT s.rank,
           (SELECT list(x.v ORDER BY x.n DESC, x.v) FROM (SELECT user_agent AS v, count(*) AS n FROM reqs r
                                                         WHERE r.host = s.host GROUP BY ALL) x) AS agents,
           (SELECT list(ip_text(x.v) ORDER BY x.n DESC, x.v) FROM (SELECT server AS v, count(*) AS n FROM reqs r
                                                                   WHERE r.host = s.host GROUP BY ALL) x) AS servers
    FROM hosts s
),
agents AS (
    SELECT user_agent, count(*) AS requests, count(DISTINCT client) AS hosts, count(DISTINCT host) AS names,
           row_number() OVER (ORDER BY count(*) DESC, user_agent) AS rank
    FROM reqs GROUP BY user_agent
    QUALIFY rank <= $top
),
agent_lists AS (
    SELECT a.rank,
           (SELECT list(x.v ORDER BY x.n DESC, x.v) FROM (SELECT host AS v, count(*) AS n FROM reqs r
                                                         WHERE r.user_agent = a.user_agent GROUP BY ALL) x) AS asked
    FROM agents a
)
SELECT 'hosts' AS section, s.rank, s.host,
       array_to_string(l.agents[1:3], ' | ')
           || CASE WHEN array_length(l.agents) > 3 THEN printf(' (+%d)', array_length(l.agents) - 3) ELSE '' END AS user_agents,
       array_to_string(l.servers[1:3], ', ')
           || CASE WHEN array_length(l.servers) > 3 THEN printf(' (+%d)', array_length(l.servers) - 3) ELSE '' END AS servers,
       NULL AS user_agent, NULL AS asked, CAST(NULL AS TIMESTAMP) AS bin, s.requests, s.hosts, NULL AS names
FROM hosts s JOIN host_lists l USING (rank)
UNION ALL
SELECT 'hosts', s.rank, s.host, NULL, NULL, NULL, NULL, r.bin, count(*), count(DISTINCT r.client), NULL
FROM hosts s JOIN reqs r USING (host) GROUP BY s.rank, s.host, r.bin
UNION ALL
SELECT 'user_agents', a.rank, NULL, NULL, NULL, a.user_agent,
       array_to_string(l.asked[1:5], ', ') || CASE WHEN array_length(l.asked) > 5 THEN printf(' (+%d)', array_length(l.asked) - 5) ELSE '' END,
       NULL, a.requests, a.hosts, a.names
FROM agents a JOIN agent_lists l USING (rank)
UNION ALL
SELECT 'user_agents', a.rank, NULL, NULL, NULL, a.user_agent, NULL, r.bin, count(*), count(DISTINCT r.client),
       count(DISTINCT r.host)
FROM agents a JOIN reqs r USING (user_agent) GROUP BY a.rank, a.user_agent, r.bin
ORDER BY section, rank, bin NULLS FIRST;
