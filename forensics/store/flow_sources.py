"""Flow sources in a case, per importer and exporter: what `forensics info` shows about exported flows."""

from __future__ import annotations

import duckdb

_SUMMARY = """
WITH recs AS (
    SELECT source, coalesce(exporter_ip, 0) AS exp, observation_domain AS dom, count(*) AS records,
           min(first_ts) AS first_ts, max(last_ts) AS last_ts,
           list(DISTINCT sampling_rate ORDER BY sampling_rate) AS sampling_rates
    FROM flows
    WHERE source <> 'pcap'
    GROUP BY ALL
),
current_templates AS (
    SELECT * FROM flow_templates
    QUALIFY row_number() OVER (PARTITION BY exporter_ip, observation_domain, version, template_id
                               ORDER BY capture_id DESC) = 1
),
tpl AS (
    SELECT CASE version WHEN 9 THEN 'netflow_v9' ELSE 'ipfix' END AS source, exporter_ip AS exp,
           observation_domain AS dom,
           count(*) FILTER (WHERE NOT withdrawn AND NOT is_options) AS templates,
           count(*) FILTER (WHERE NOT withdrawn AND is_options) AS options_templates
    FROM current_templates
    GROUP BY ALL
),
pending AS (
    SELECT CASE version WHEN 9 THEN 'netflow_v9' ELSE 'ipfix' END AS source, exporter_ip AS exp,
           observation_domain AS dom, count(*) AS pending_data_sets
    FROM flow_pending_sets
    GROUP BY ALL
),
gaps AS (  -- sequence gaps seen on import (queries/schema/flow_gaps.sql); lost in the version's unit
    {gaps}
),
keys AS (
    SELECT source, exp, dom FROM recs
    UNION SELECT source, exp, dom FROM tpl
    UNION SELECT source, exp, dom FROM pending
)
SELECT k.source, CASE WHEN k.exp = 0 THEN NULL ELSE ip_text(k.exp) END AS exporter,
       k.dom AS observation_domain, coalesce(r.records, 0) AS records, r.first_ts, r.last_ts,
       coalesce(r.sampling_rates, []) AS sampling_rates,
       coalesce(t.templates, 0) AS templates, coalesce(t.options_templates, 0) AS options_templates,
       coalesce(p.pending_data_sets, 0) AS pending_data_sets,
       coalesce(g.sequence_gaps, 0) AS sequence_gaps, coalesce(g.lost, 0) AS lost, g.lost_unit
FROM keys k
LEFT JOIN recs r USING (source, exp, dom)
LEFT JOIN tpl t USING (source, exp, dom)
LEFT JOIN pending p USING (source, exp, dom)
LEFT JOIN gaps g USING (source, exp, dom)
ORDER BY k.source, k.exp, k.dom NULLS FIRST
"""


_GAPS = """SELECT CASE version WHEN 5 THEN 'netflow_v5' WHEN 9 THEN 'netflow_v9' ELSE 'ipfix' END AS source,
           exporter_ip AS exp, observation_domain AS dom, count(*) AS sequence_gaps, sum(lost) AS lost,
           min(lost_unit) AS lost_unit
    FROM flow_sequence_gaps
    GROUP BY ALL"""
# a case made before flow_sequence_gaps, opened read-only
_NO_GAPS = ("SELECT NULL::VARCHAR AS source, NULL::UHUGEINT AS exp, NULL::UBIGINT AS dom, 0 AS sequence_gaps, "
            "0 AS lost, NULL::VARCHAR AS lost_unit WHERE false")


def flow_source_summary(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per source and exporter: records, time range, sampling rates seen, templates seen (current state).

    Each dict: source, exporter (text, None when the input had no exporter address), observation_domain,
    records, first_ts, last_ts, sampling_rates (list), templates, options_templates, pending_data_sets,
    sequence_gaps and lost (what the gaps lost, in lost_unit: flows, export packets or data records; None
    without gaps).
    Exporters known only by their templates or by data sets still waiting for one are listed too.
    """
    held = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                       "AND table_name = 'flow_sequence_gaps'").fetchone()[0]
    cur = con.execute(_SUMMARY.replace("{gaps}", _GAPS if held else _NO_GAPS))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
