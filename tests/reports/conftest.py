from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flowgen import load_case, make_flows  # noqa: E402

from forensics.config import config_from_text  # noqa: E402

CONFIG_TOML = """
[subnetworks]
lab = ["10.1.0.0/16"]
office = ["10.2.0.0/16", "192.168.0.0/16"]
v6 = ["fd00::/64"]

[subnetwork_groups]
campus = ["lab", "office"]

[applications]
web = "tcp 80,443"

[filters.wc_out]
scope = "home"
conditions = "src ip in HOME and dst app = WannaCry.attack"

[filters.web]
conditions = "proto = tcp and dst port = 443"

[filters.not_lab]
scope = "any"
conditions = "not src ip in lab"

[filter_groups]
g1 = ["wc_out", "web"]

[as_mapping]
csv = "asn.csv"
"""

AS_CSV = """prefix,asn,name
8.8.8.0/24,15169,GOOGLE
1.1.1.0/24,13335,CLOUDFLARENET
203.0.113.0/24,64496,DOC-NET
203.0.113.0/28,64497,DOC-SMALL
2001:db8::/32,64498,DOC-V6
"""


@pytest.fixture(scope="module")
def flows():
    return make_flows()


@pytest.fixture(scope="module")
def case(tmp_path_factory, flows):
    path = tmp_path_factory.mktemp("case") / "case.duckdb"
    c = load_case(str(path), flows)
    yield c
    c.close()


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("config")
    (folder / "asn.csv").write_text(AS_CSV)
    return config_from_text(CONFIG_TOML, str(folder / "forensics.toml"), folder)
