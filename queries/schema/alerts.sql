-- name: alerts
-- description: Alerts raised by `forensics check` (the checks in queries/checks/), one row per offending
-- entity and window. Running a check again over a range replaces that check's alerts whose window starts
-- inside the range, so `forensics check` is idempotent.

CREATE SEQUENCE IF NOT EXISTS alert_ids START 1;

CREATE TABLE IF NOT EXISTS alerts (
    id BIGINT PRIMARY KEY DEFAULT nextval('alert_ids'), -- alert id (`forensics carve --alert ID`, `packets --alert ID`)
    "check" VARCHAR NOT NULL,             -- check name: the .sql file's `-- name:` (syn_flood, host_sweep, ...)
    severity VARCHAR NOT NULL,            -- high | medium | low | info, from the check's header
    category VARCHAR,                     -- attack | policy | anomaly, from the check's header
    entity VARCHAR NOT NULL,              -- what the alert is about: an IP address as text, or an object such as 'subnetwork:lab in'
    window_start TIMESTAMP NOT NULL,      -- start of the offending window (UTC, clock-aligned bin start for binned checks)
    window_end TIMESTAMP NOT NULL,        -- end of the offending window (exclusive, UTC)
    value DOUBLE,                         -- the measured value (peak average rate, count, bytes ...) in `unit`
    threshold DOUBLE,                     -- the limit the value crossed, in `unit` (for a lower limit: the value fell below it)
    unit VARCHAR,                         -- unit of value and threshold: bps, pps, count, bytes, packets, ...
    detail VARCHAR,                       -- one line for the analyst: what happened, against what, how long
    evidence VARCHAR,                     -- tcpdump (pcap-filter) expression selecting the packets/flows, used with the window
    series VARCHAR,                       -- JSON [[iso time, value], ...]: the per-bin values around the window, when the check has bins
    band_lo DOUBLE,                       -- lower limit of the band shown beside the alert (learned or set), when the check has one
    band_hi DOUBLE,                       -- upper limit of the band (learned or set), when the check has one
    params VARCHAR,                       -- JSON of the parameters the check ran with (thresholds after config and --param)
    range_start TIMESTAMP,                -- start of the range the check run covered
    range_end TIMESTAMP,                  -- end of the range the check run covered
    created_at TIMESTAMP NOT NULL         -- when the check ran (UTC)
);
