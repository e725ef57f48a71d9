from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "reports"))

from flowgen import load_case, make_flows  # noqa: E402
from render_values import HOSTILE_NET, HOSTILE_PATH, WINDOW  # noqa: E402,F401 - shared with the tests

from forensics.config import config_from_text  # noqa: E402
from forensics.render.jsonout import SCHEMA_PATH  # noqa: E402
from forensics.reports import SITE_REPORTS, run_report  # noqa: E402
from forensics.store import CaptureMeta  # noqa: E402

CONFIG = f"""
[subnetworks]
'{HOSTILE_NET}' = ["10.1.0.0/16"]
office = ["10.2.0.0/16", "192.168.0.0/16"]
[filters.wc_out]
scope = "home"
conditions = "src ip in HOME and dst app = WannaCry.attack"
[filters.web]
conditions = "proto = tcp and dst port = 443"
"""


@pytest.fixture(scope="session")
def schema():
    return json.loads(SCHEMA_PATH.read_text())


@pytest.fixture(scope="session")
def validate(schema):
    def check(doc):
        jsonschema.validate(doc, schema)
        return doc
    return check


@pytest.fixture(scope="session")
def flows():
    return make_flows(300, seed=11)


@pytest.fixture(scope="session")
def case(tmp_path_factory, flows):
    path = tmp_path_factory.mktemp("render") / "case.duckdb"
    c = load_case(str(path), flows)
    with c.importing(CaptureMeta(HOSTILE_PATH, "1" * 64, 10, "pcap-le-usec")):
        pass
    yield c
    c.close()


@pytest.fixture(scope="session")
def config():
    return config_from_text(CONFIG, "render-test.toml")


@pytest.fixture(scope="session")
def results(case, config):
    """Every report the demo renders, on the generated flows."""
    return {name: run_report(case, name, dict(WINDOW), config=config) for name in SITE_REPORTS}
