-- name: runs_list
-- description: Stored report runs, newest last, optionally of one report ($name NULL = all).
--   Run: forensics runs [NAME]
SELECT r.run_id, r.name, r.kind, r.from_ts, r.to_ts, r.bin_secs, r.computed_at, r.definition_sha256,
       r.config_sha256, r.fingerprint_sha256, r.params,
       -- --basis as given (part of the request); auto when not given
       lower(coalesce(json_extract_string(r.request, '$.params.basis'), 'auto')) AS basis,
       (SELECT count(*) FROM report_run_values v WHERE v.run_id = r.run_id) AS values
FROM report_runs r
WHERE $name IS NULL OR r.name = $name
ORDER BY r.run_id
