-- Stored report runs (issue 13): every `forensics report` / `forensics reconstruct` result kept in the case,
-- with what it was computed from, so a repeated run is reused and versions can be compared.
-- Added without a schema version bump: CREATE TABLE IF NOT EXISTS, and a read-only open of an older case
-- simply finds no runs (nothing is stored then).

CREATE SEQUENCE IF NOT EXISTS report_run_ids START 1;

CREATE TABLE IF NOT EXISTS report_runs (
    run_id BIGINT PRIMARY KEY,            -- version number, unique in the case (nextval('report_run_ids'))
    name VARCHAR NOT NULL,                -- report name (the definition's file stem)
    kind VARCHAR NOT NULL,                -- 'report' (stored by forensics report) or 'reconstruct'
    definition_path VARCHAR NOT NULL,     -- the .sql file the run read
    definition_sql VARCHAR NOT NULL,      -- its text as run
    definition_sha256 VARCHAR NOT NULL,   -- sha256 of definition_sql (UTF-8)
    request VARCHAR NOT NULL,             -- the options as given (JSON, keys sorted): params, filter, window
    params VARCHAR NOT NULL,              -- the bound parameters (JSON)
    config_sha256 VARCHAR NOT NULL,       -- sha256 of the case config summary (JSON, keys sorted)
    fingerprint VARCHAR NOT NULL,         -- the data read (JSON): capture ids + sha256s, flow sources
    fingerprint_sha256 VARCHAR NOT NULL,  -- sha256 of fingerprint
    from_ts TIMESTAMP NOT NULL,           -- window start (UTC)
    to_ts TIMESTAMP NOT NULL,             -- window end, exclusive (UTC)
    bin_secs BIGINT NOT NULL,             -- bin width in seconds
    computed_at TIMESTAMP NOT NULL,       -- when the run was computed (UTC)
    forensics_version VARCHAR NOT NULL,   -- forensics version that computed it
    result VARCHAR NOT NULL               -- the whole result (JSON) so a reused run renders exactly as computed
);

CREATE TABLE IF NOT EXISTS report_run_values (
    run_id BIGINT NOT NULL,               -- report_runs.run_id
    section VARCHAR NOT NULL,             -- section name (the report name when it has one section)
    item VARCHAR NOT NULL,                -- the item's label (dimension values joined by ' / ', 'Others')
    bin TIMESTAMP,                        -- bin start (UTC); NULL for the item's value over the whole window
    measure VARCHAR NOT NULL,             -- measure column (in, out, bytes, ...)
    value DOUBLE                          -- the measure's value; NULL when the report gave none
);
