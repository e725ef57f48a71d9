-- traffic() when the report's window holds no packets (_packet_bins is empty: a case of exported flows only, or
-- --basis flows): the flows alone, without the union with the empty packet branch, so that DuckDB keeps the
-- flows' column statistics (see _context.sql). forensics/reports/runner.py runs this after filling _packet_bins;
-- the next report's install_context puts the union back.
CREATE OR REPLACE TEMP MACRO traffic(from_ts, to_ts, bin_secs, ipv) AS TABLE
    SELECT * FROM flow_traffic(from_ts, to_ts, bin_secs, ipv);
