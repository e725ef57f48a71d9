"""A small generated case (tests/reports/flowgen.py: 300 flows over two hours of 2016-09-06) with a case config
beside it, served by the real application through Starlette's TestClient."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "reports"))
sys.path.insert(0, str(HERE.parent / "render"))

from fastapi.testclient import TestClient  # noqa: E402
from flowgen import load_case, make_flows  # noqa: E402

from forensics.config import load_config  # noqa: E402
from forensics.render.jsonout import SCHEMA_PATH  # noqa: E402
from forensics.serve import CaseSource, create_app  # noqa: E402

CONFIG = """
[subnetworks]
lab = ["10.1.0.0/16"]
office = ["10.2.0.0/16", "192.168.0.0/16"]
v6 = ["fd00::/16"]
[subnetwork_groups]
campus = ["lab", "v6"]
branch = ["office"]
[filters.web]
conditions = "proto = tcp and dst port = 443"
[filters.smb]
conditions = "proto = tcp and dst port = 445"
[filters.dns]
conditions = "proto = udp and dst port = 53"
[filter_groups]
webonly = ["web"]
windows = ["smb", "dns"]
"""


@pytest.fixture(scope="session")
def case_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    (folder / "forensics.toml").write_text(CONFIG)
    path = folder / "case.duckdb"
    load_case(str(path), make_flows(300, seed=11)).close()
    return path


@pytest.fixture(scope="session")
def source(case_path):
    return CaseSource(str(case_path), load_config(None, str(case_path)))


@pytest.fixture(scope="session")
def client(source):
    with TestClient(create_app(source), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def validate():
    schema = json.loads(SCHEMA_PATH.read_text())

    def check(doc):
        jsonschema.validate(doc, schema)
        return doc
    return check
