"""The demo case's `forensics.toml`: the office network the generator draws (see office.py)."""

from __future__ import annotations

from pathlib import Path

DEMO_CONFIG = """\
# Case config of the demo: the office network forensics.demo generates (written by `forensics demo`).
[home]
networks = ["10.10.0.0/16", "fd00:a:a::/48"]

[subnetworks]
servers = ["10.10.0.0/24", "fd00:a:a::/64"]
clients_1 = ["10.10.1.0/24", "fd00:a:a:1::/64"]
clients_2 = ["10.10.2.0/24", "fd00:a:a:2::/64"]
vlan_40 = ["10.10.4.0/24", "fd00:a:a:4::/64"]
lab = ["10.10.5.0/24"]

[subnetwork_groups]
clients = ["clients_1", "clients_2", "vlan_40"]

[server_farms]
web = ["10.10.0.80/32", "fd00:a:a::80/128"]
files = ["10.10.0.20/32"]

[filters.wannacry_out]
scope = "home"
conditions = "src ip in HOME and dst app = WannaCry.attack"

[filters.smb_inside]
scope = "home"
conditions = "proto = tcp and dst port = 445 and dst ip in HOME"

[filters.dns_not_office]
scope = "home"
conditions = "src ip in HOME and dst port = 53 and not dst ip in HOME"

[filter_groups]
suspicious = ["wannacry_out", "dns_not_office"]
smb = ["smb_inside"]

[business_hours]
days = ["mon", "tue", "wed", "thu", "fri"]
start = "08:00"
end = "18:00"
"""


def write_config(out_dir: Path) -> Path:
    """Write forensics.toml into out_dir (next to the demo's case database)."""
    path = Path(out_dir) / "forensics.toml"
    path.write_text(DEMO_CONFIG, encoding="utf-8")
    return path
