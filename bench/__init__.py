"""One-command ingest benchmark: `python -m bench.ingest` (see bench/README.md)."""
