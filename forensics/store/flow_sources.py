"""Flow sources in a case, per importer and exporter: what `forensics info` shows about exported flows."""

from __future__ import annotations

import duckdb

_SUMMARY = """
WITH recs AS (
    SELECT source, exporter_ip, observation_domain, count(*) AS records, min(first_ts) AS first_ts,
           max(last_ts) AS last_ts, list(DISTINCT sampling_rate ORDER BY sampling_rate) AS sampling_rates
    FROM flows
    WHERE source <> 'pcap'
    GROUP BY ALL
),
tpl AS (
    SELECT exporter_ip, observation_domain,
           count(*) FILTER (WHERE NOT withdrawn AND NOT is_options) AS templates,
           count(*) FILTER (WHERE NOT withdrawn AND is_options) AS options_templates
    FROM (
        SELECT * FROM flow_templates
        QUALIFY row_number() OVER (PARTITION BY exporter_ip, observation_domain, version, template_id
                                   ORDER BY capture_id DESC) = 1
    )
    GROUP BY ALL
),
pending AS (
    SELECT exporter_ip, observation_domain, count(*) AS pending_data_sets
    FROM flow_pending_sets GROUP BY ALL
)
SELECT r.source, ip_text(r.exporter_ip) AS exporter, r.observation_domain, r.records, r.first_ts, r.last_ts,
       r.sampling_rates,
       coalesce(t.templates, 0) AS templates, coalesce(t.options_templates, 0) AS options_templates,
       coalesce(p.pending_data_sets, 0) AS pending_data_sets
FROM recs r
LEFT JOIN tpl t ON r.source IN ('netflow_v9', 'ipfix')
    AND t.exporter_ip = coalesce(r.exporter_ip, 0) AND t.observation_domain = r.observation_domain
LEFT JOIN pending p ON r.source IN ('netflow_v9', 'ipfix')
    AND p.exporter_ip = coalesce(r.exporter_ip, 0) AND p.observation_domain = r.observation_domain
ORDER BY r.source, r.exporter_ip NULLS FIRST, r.observation_domain NULLS FIRST
"""


def flow_source_summary(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per source and exporter: records, time range, sampling rates seen, templates seen (current state).

    Each dict: source, exporter (text or None), observation_domain, records, first_ts, last_ts,
    sampling_rates (list), templates, options_templates, pending_data_sets.
    """
    cur = con.execute(_SUMMARY)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
