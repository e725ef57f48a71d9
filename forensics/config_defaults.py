"""The case config's file name and built-in home networks (forensics/config.py), for code that needs them without
loading forensics.config: an import resolves the home blocks of its flows' home bits (forensics/ingest
`case_home`) before it decodes, and forensics.config with tomllib and zoneinfo costs 30-55 ms of that start-up."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_NAME = "forensics.toml"
DEFAULT_HOME = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")



def case_config_file(db_path: str | Path | None) -> Path | None:
    """The forensics.toml beside the case that load_config reads without --config (None: there is none, the
    defaults apply)."""
    if db_path is None or str(db_path) == ":memory:":
        return None
    path = Path(db_path).parent / CONFIG_NAME
    return path if os.path.lexists(path) else None


__all__ = ["CONFIG_NAME", "DEFAULT_HOME", "case_config_file"]
