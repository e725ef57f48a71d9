-- name: serve_rejected_files
-- description: Files refused whole at import (import_rejects rows with no capture): path, byte offset, reason.
SELECT path, file_offset, reason, strftime(rejected_at, '%Y-%m-%dT%H:%M:%SZ') AS rejected_at
FROM import_rejects
WHERE capture_id IS NULL
ORDER BY rejected_at, path
