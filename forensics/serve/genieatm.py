"""GenieATM's report request (`?request={JSON}`) -> the options of `run_report`, every key validated.

    {"report_datetime": {"defined_by": "weekly", "end_time": "2016-09-07 00:00"},
     "unit": "bps", "protocol": "both", "data_format": "graph_data", "display_data": "yes",
     "filter_group_id": 1}

- `report_datetime`: `defined_by` daily | weekly | monthly | quarterly | yearly with `end_time`, or `start_time`
  with `end_time` (`defined_by` absent or `user_defined`); times `YYYY-MM-DD hh:mm`, UTC. Absent: the case's own
  time range.
- `unit` bps | pps; `protocol` ipv4 | ipv6 | both; `data_format` graph_data; `display_data` yes | no.
- `filter_group_id` / `sub_network_group_id`: a group of the case config, by name or by its 1-based position in
  the config file (`[filter_groups]`, `[subnetwork_groups]`), since GenieATM numbers its groups.
- Keys of this tool (for its own reports): `scope`, `filter` (a tcpdump expression), `top`, `params` (an object
  of the report's own parameters).

Every problem is an ApiError naming the key (`request.report_datetime.end_time`) and what to write.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

from forensics.reports.timebins import PERIODS, auto_bin

# A window is refused beyond this many bins (GenieATM's own bins are 5 min .. 1 day, so a yearly report
# has 365): 100,000 bins of 11 items is about a 60 MB JSON document.
MAX_BINS = 100_000
TIME_FORMAT = "YYYY-MM-DD hh:mm"
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
UNITS = ("bps", "pps")
PROTOCOLS = {"ipv4": 4, "ipv6": 6, "both": 0}
DATA_FORMATS = ("graph_data",)
DISPLAY = ("yes", "no")
# Largest JSON request accepted (a GenieATM request is a few hundred bytes).
MAX_REQUEST_CHARS = 16_384
KNOWN_KEYS = ("report_datetime", "unit", "protocol", "data_format", "display_data", "filter_group_id",
              "sub_network_group_id", "scope", "filter", "top", "params")


class ApiError(Exception):
    """A request the server refuses: HTTP status, a one-line message, and what it concerns (the key)."""

    def __init__(self, status: int, msg: str, description: str = "") -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg
        self.description = description


def bad(key: str, what: str) -> ApiError:
    """A 400 naming the request key."""
    return ApiError(400, f"{key}: {what}", key)


@dataclass
class ReportRequest:
    """A validated request: run_report's params, the filter expression, and the response options."""

    params: dict = field(default_factory=dict)
    filter_expr: str | None = None
    display_data: bool = False
    filter_group: str | int | None = None
    sub_network_group: str | int | None = None
    ignored_keys: list[str] = field(default_factory=list)


def parse_time(value: object, key: str) -> dt.datetime:
    """'2016-09-07 00:00' -> naive UTC datetime (GenieATM's form only)."""
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value.strip()):
        raise bad(key, f"{value!r} is not a time; write {TIME_FORMAT}, e.g. 2016-09-07 00:00")
    try:
        return dt.datetime.strptime(value.strip(), "%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise bad(key, f"{value!r} is not a date ({exc}); write {TIME_FORMAT}") from None


def _choice(doc: dict, key: str, allowed: tuple | dict, default: str) -> str:
    value = doc.get(key, default)
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise bad(f"request.{key}", f"{value!r}: use one of {', '.join(allowed)}")
    return value.strip().lower()


def _window(doc: dict) -> dict:
    spec = doc.get("report_datetime")
    if spec is None:
        return {}
    key = "request.report_datetime"
    if not isinstance(spec, dict):
        raise bad(key, "must be an object with defined_by and end_time, or start_time and end_time")
    unknown = sorted(set(spec) - {"defined_by", "start_time", "end_time"})
    if unknown:
        raise bad(f"{key}.{unknown[0]}", "not a key of report_datetime (defined_by, start_time, end_time)")
    defined_by = spec.get("defined_by")
    if "end_time" not in spec:
        raise bad(f"{key}.end_time", f"missing; write {TIME_FORMAT}")
    end = parse_time(spec["end_time"], f"{key}.end_time")
    if defined_by not in (None, "user_defined"):
        if not isinstance(defined_by, str) or defined_by.lower() not in PERIODS:
            raise bad(f"{key}.defined_by", f"{defined_by!r}: use one of {', '.join(PERIODS)} "
                      "(or start_time + end_time)")
        if "start_time" in spec:
            raise bad(f"{key}.start_time", f"goes with end_time alone, not with defined_by {defined_by}")
        from forensics.reports.timebins import period_start

        start = period_start(defined_by.lower(), end)
        window = {"period": defined_by.lower(), "end": end.isoformat()}
    else:
        if "start_time" not in spec:
            raise bad(f"{key}.start_time", f"missing; give start_time ({TIME_FORMAT}) or defined_by")
        start = parse_time(spec["start_time"], f"{key}.start_time")
        if end <= start:
            raise bad(f"{key}.end_time", f"{spec['end_time']!r} is not after start_time {spec['start_time']!r}")
        window = {"from": start.isoformat(), "to": end.isoformat()}
    if start.year < 1970:
        raise bad(f"{key}.start_time" if "from" in window else f"{key}.end_time",
                  "the window starts before 1970-01-01 00:00")
    bins = (end - start).total_seconds() / auto_bin(end - start)
    if bins > MAX_BINS:
        raise bad(key, f"{end - start} in bins of {auto_bin(end - start)} s is {bins:,.0f} bins, over the limit "
                  f"of {MAX_BINS:,}; ask for a shorter window")
    return window


def _group_id(doc: dict, key: str) -> str | int | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise bad(f"request.{key}", f"{value!r}: give a group's name or its number (1 = the first group)")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def parse_request(text: str | None) -> ReportRequest:
    """The `request` query parameter (JSON text, or None for all defaults) -> ReportRequest."""
    if text is None or not text.strip():
        doc: object = {}
    else:
        if len(text) > MAX_REQUEST_CHARS:
            raise bad("request", f"{len(text):,} characters, over the limit of {MAX_REQUEST_CHARS:,}")
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise bad("request", f"not JSON ({str(exc).splitlines()[0]}); write request={{\"unit\": \"bps\", ...}}"
                      ) from None
    if not isinstance(doc, dict):
        raise bad("request", "must be a JSON object, e.g. {\"unit\": \"bps\"}")
    req = ReportRequest()
    req.params.update(_window(doc))
    if "unit" in doc:  # absent: the report's own unit (a count report has none to choose)
        req.params["unit"] = _choice(doc, "unit", UNITS, "bps")
    req.params["ip_version"] = PROTOCOLS[_choice(doc, "protocol", tuple(PROTOCOLS), "both")]
    _choice(doc, "data_format", DATA_FORMATS, "graph_data")
    req.display_data = _choice(doc, "display_data", DISPLAY, "no") == "yes"
    req.filter_group = _group_id(doc, "filter_group_id")
    req.sub_network_group = _group_id(doc, "sub_network_group_id")
    if "scope" in doc:
        if not isinstance(doc["scope"], str) or not doc["scope"].strip():
            raise bad("request.scope", "give a scope such as home, boundary or subnetwork:NAME")
        req.params["scope"] = doc["scope"].strip()
    if "filter" in doc:
        if not isinstance(doc["filter"], str):
            raise bad("request.filter", "give a tcpdump expression as a string, e.g. \"tcp dst port 445\"")
        req.filter_expr = doc["filter"].strip() or None
    if "top" in doc:
        top = doc["top"]
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 1000:
            raise bad("request.top", f"{top!r}: give a whole number from 1 to 1000")
        req.params["top"] = top
    extra = doc.get("params", {})
    if not isinstance(extra, dict):
        raise bad("request.params", "must be an object of the report's own parameters, e.g. {\"top\": 5}")
    for name, value in extra.items():
        if name in ("from_ts", "to_ts", "bin_secs", "unit", "ip_version", "from", "to", "period", "end", "bin"):
            raise bad(f"request.params.{name}", "set by report_datetime, unit or protocol, not by params")
        if isinstance(value, (dict, list)) or value is None:
            raise bad(f"request.params.{name}", f"{value!r}: give a string, number or boolean")
        req.params[name] = value
    req.ignored_keys = sorted(k for k in doc if k not in KNOWN_KEYS)
    return req


def pick_group(groups: dict, wanted: str | int, key: str) -> str:
    """A config group by name or 1-based position; ApiError(400) naming the key when there is no such group."""
    names = list(groups)
    if isinstance(wanted, int):
        if 1 <= wanted <= len(names):
            return names[wanted - 1]
    elif wanted in groups:
        return wanted
    known = ", ".join(f"{i} = {n}" for i, n in enumerate(names, 1)) or "the case config defines none"
    raise bad(f"request.{key}", f"no group {wanted!r} (known: {known})")
