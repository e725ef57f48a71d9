"""Number formatting for people: rates with SI prefixes, bin sizes as 5min / 2h / 1d."""

from __future__ import annotations


def human_rate(value: float | None, unit: str) -> str:
    """1234567.0, 'bps' -> '1.23 Mbps'; None -> '-'."""
    if value is None:
        return "-"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:.2f} {unit}"


def bin_label(secs: int) -> str:
    """300 -> '5min', 7200 -> '2h', 86400 -> '1d', 45 -> '45s'."""
    if secs % 86400 == 0:
        return f"{secs // 86400}d"
    if secs % 3600 == 0:
        return f"{secs // 3600}h"
    if secs % 60 == 0:
        return f"{secs // 60}min"
    return f"{secs}s"
