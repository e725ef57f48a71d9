-- name: smtp_senders
-- title: SMTP senders
-- description: Who sent mail over SMTP, from the case's smtp table (queries/schema/appdata.sql: commands and replies read from packet payloads at import, on any port where the session says SMTP; after STARTTLS the session is encrypted and not read). Section senders: the $top MAIL FROM paths by MAIL commands ('<>' for the null sender), with the recipients named by the RCPT TO commands that followed each MAIL in its connection (three shown), the names the clients gave in EHLO/HELO (three shown) and the servers (three shown), most frequent first; commands = MAIL commands, hosts = distinct clients, recipients = distinct recipients. Section clients: the $top EHLO/HELO names by EHLO/HELO commands; hosts = distinct client addresses. The scope and --filter select the packets that carry the commands (their flow key and bin must be kept). Counts per bin and over the window.
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- section: senders: sender, rcpt_to, helo, servers
-- section: clients: helo_name, addresses
-- measures: commands, hosts, recipients
-- unit: packets
WITH cmds AS MATERIALIZED (  -- the commands in the window whose packet the scope and --filter keep
    SELECT time_bin(s.ts, $bin_secs) AS bin, s.frame, s.capture_id, s.src_ip AS client, s.dst_ip AS server,
           s.src_port, s.dst_port, s.command, s.mail_from, s.rcpt_to, s.helo
    FROM smtp s
    WHERE s.ts >= $from_ts AND s.ts < $to_ts AND NOT s.is_response
      AND EXISTS (SELECT 1 FROM _packet_bins pb
                  WHERE pb.filter IS NULL AND pb.bin = time_bin(s.ts, $bin_secs) AND pb.src_ip = s.src_ip
                    AND pb.dst_ip = s.dst_ip AND pb.src_port = s.src_port AND pb.dst_port = s.dst_port)
),
mails AS (
    SELECT bin, frame, capture_id, client, server, src_port, dst_port,
           CASE WHEN mail_from = '' THEN '<>' ELSE mail_from END AS sender
    FROM cmds WHERE command = 'MAIL' AND mail_from IS NOT NULL
),
rcpts AS (  -- each RCPT TO with the last MAIL at or before it in its connection (a window, not an ASOF join:
            -- Spark runs it too)
    SELECT sender, rcpt_to
    FROM (SELECT command, rcpt_to,
                 last_value(CASE WHEN command = 'MAIL' THEN CASE WHEN mail_from = '' THEN '<>' ELSE mail_from END END
                            IGNORE NULLS)
                     OVER (PARTITION BY capture_id, client, server, src_port, dst_port
                           ORDER BY frame, command = 'MAIL' DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                     AS sender
          FROM cmds
          WHERE (command = 'MAIL' AND mail_from IS NOT NULL) OR (command = 'RCPT' AND rcpt_to IS NOT NULL))
    WHERE command = 'RCPT' AND sender IS NOT NULL
),
named AS (  -- each MAIL with the last EHLO/HELO name at or before it in its connection
    SELECT bin, frame, capture_id, client, server, src_port, dst_port, sender, helo_before AS helo
    FROM (SELECT bin, frame, capture_id, client, server, src_port, dst_port, command, mail_from,
                 CASE WHEN mail_from = '' THEN '<>' ELSE mail_from END AS sender,
                 last_value(helo IGNORE NULLS)
                     OVER (PARTITION BY capture_id, client, server, src_port, dst_port
                           ORDER BY frame, helo IS NULL ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS helo_before
          FROM cmds
          WHERE helo IS NOT NULL OR (command = 'MAIL' AND mail_from IS NOT NULL))
    WHERE command = 'MAIL' AND mail_from IS NOT NULL
),
senders AS (
    SELECT sender, count(*) AS commands, count(DISTINCT client) AS hosts,
           row_number() OVER (ORDER BY count(*) DESC, sender) AS rank
    FROM mails GROUP BY sender
    QUALIFY rank <= $top
),
sender_lists AS (
    SELECT s.rank,
           (SELECT list(x.v ORDER BY x.n DESC, x.v) FROM (SELECT rcpt_to AS v, count(*) AS n FROM rcpts r
                                                         WHERE r.sender = s.sender GROUP BY ALL) x) AS recipients,
           (SELECT list(x.v ORDER BY x.n DESC, x.v) FROM (SELECT helo AS v, count(*) AS n FROM named m
                                                         WHERE m.sender = s.sender AND m.helo IS NOT NULL
                                                         GROUP BY ALL) x) AS helos,
           (SELECT list(ip_text(x.v) ORDER BY x.n DESC, x.v) FROM (SELECT server AS v, count(*) AS n FROM mails m
                                                                   WHERE m.sender = s.sender GROUP BY ALL) x) AS servers
    FROM senders s
),
clients AS (
    SELECT helo, count(*) AS commands, count(DISTINCT client) AS hosts,
           row_number() OVER (ORDER BY count(*) DESC, helo) AS rank
    FROM cmds WHERE helo IS NOT NULL GROUP BY helo
    QUALIFY rank <= $top
),
client_lists AS (
    SELECT c.rank,
           (SELECT list(ip_text(x.v) ORDER BY x.n DESC, x.v) FROM (SELECT client AS v, count(*) AS n FROM cmds m
                                                                   WHERE m.helo = c.helo GROUP BY ALL) x) AS addrs
    FROM clients c
)
SELECT 'senders' AS section, s.rank, s.sender,
       coalesce(array_to_string(l.recipients[1:3], ', ')
           || CASE WHEN array_length(l.recipients) > 3 THEN printf(' (+%d)', array_length(l.recipients) - 3) ELSE '' END, '-') AS rcpt_to,
       coalesce(array_to_string(l.helos[1:3], ', ')
           || CASE WHEN array_length(l.helos) > 3 THEN printf(' (+%d)', array_length(l.helos) - 3) ELSE '' END, '-') AS helo,
       array_to_string(l.servers[1:3], ', ')
           || CASE WHEN array_length(l.servers) > 3 THEN printf(' (+%d)', array_length(l.servers) - 3) ELSE '' END AS servers,
       NULL AS helo_name, NULL AS addresses, CAST(NULL AS TIMESTAMP) AS bin, s.commands, s.hosts,
       coalesce(array_length(l.recipients), 0) AS recipients
FROM senders s JOIN sender_lists l USING (rank)
UNION ALL
SELECT 'senders', s.rank, s.sender, NULL, NULL, NULL, NULL, NULL, m.bin, count(*), count(DISTINCT m.client), NULL
FROM senders s JOIN mails m USING (sender) GROUP BY s.rank, s.sender, m.bin
UNION ALL
SELECT 'clients', c.rank, NULL, NULL, NULL, NULL, c.helo,
       array_to_string(l.addrs[1:3], ', ') || CASE WHEN array_length(l.addrs) > 3 THEN printf(' (+%d)', array_length(l.addrs) - 3) ELSE '' END,
       NULL, c.commands, c.hosts, NULL
FROM clients c JOIN client_lists l USING (rank)
UNION ALL
SELECT 'clients', c.rank, NULL, NULL, NULL, NULL, c.helo, NULL, m.bin, count(*), count(DISTINCT m.client), NULL
FROM clients c JOIN cmds m USING (helo) GROUP BY c.rank, c.helo, m.bin
ORDER BY section, rank, bin NULLS FIRST;
