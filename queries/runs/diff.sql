-- name: runs_diff
-- description: Values that differ between two stored report runs ($a and $b: report_runs.run_id), per
--   section, item, bin (NULL = the whole window) and measure; a value present in one run only shows NULL on
--   the other. Run: forensics runs --diff A B
WITH a AS (SELECT section, item, bin, "measure", value FROM report_run_values WHERE run_id = $a),
     b AS (SELECT section, item, bin, "measure", value FROM report_run_values WHERE run_id = $b)
SELECT coalesce(a.section, b.section) AS section, coalesce(a.item, b.item) AS item,
       coalesce(a.bin, b.bin) AS bin, coalesce(a."measure", b."measure") AS "measure",
       a.value AS value_a, b.value AS value_b, b.value - a.value AS change
FROM a FULL OUTER JOIN b
  ON a.section = b.section AND a.item = b.item AND a."measure" = b."measure"
     AND a.bin IS NOT DISTINCT FROM b.bin
WHERE a.value IS DISTINCT FROM b.value
ORDER BY 1, 3 NULLS FIRST, 2, 4
