"""One SparkSession (local[2]) for the Spark tests, and the cases they compare the engines on.

pyspark and a Java runtime are required here (CI installs `.[test,spark]`): without them these tests fail,
they do not skip. Every test here is in the xdist group "spark": under `pytest -n 2 --dist loadgroup` they run on
one worker, so one JVM and one export of each case serve them all while the other worker runs the rest.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from forensics.store import Case

JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
BASE = 1_473_120_000  # 2016-09-06T00:00:00Z
CONFIG = """[home]
networks = ["10.0.0.0/16", "2001:db8:1::/48"]

[subnetworks]
lab = ["10.0.2.0/24", "2001:db8:1::/64"]
office = ["10.0.1.0/24"]

[filters.smb_out]
scope = "home"
conditions = "src ip in HOME and dst port = 445"

[filters.web_in]
scope = "home"
conditions = "proto = tcp and dst ip in HOME and dst port = 80"

[filter_groups]
watch = ["smb_out", "web_in"]

[as_mapping]
csv = "asn.csv"

[[interfaces]]
ifindex = 1
name = "uplink"
boundary = true
"""


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(__file__).parent in Path(item.path).parents:
            item.add_marker(pytest.mark.xdist_group("spark"))


@pytest.fixture(scope="session")
def spark():
    from forensics.spark.session import spark_session

    # The JVM of the tests: C1 only and the serial collector. Short queries on tiny inputs; C2's compiler
    # threads and G1's cost more than they win here: half the JVM's CPU (tests/spark/test_parity.py flow-case
    # reports, first four: 107 -> 55 s CPU). Set for the JVM's start only (its launcher reads it).
    saved = os.environ.get("JAVA_TOOL_OPTIONS")
    os.environ["JAVA_TOOL_OPTIONS"] = " ".join(filter(None, [saved, JVM_OPTIONS]))
    try:
        session = spark_session("local[2]", quiet=True)
    finally:
        if saved is None:
            os.environ.pop("JAVA_TOOL_OPTIONS", None)
        else:
            os.environ["JAVA_TOOL_OPTIONS"] = saved
    # tiny inputs: one shuffle partition, and no code generation, whole-stage or per expression (compiling each
    # plan's Java costs more than running it on a few thousand rows: with expressions interpreted too, three
    # checks on the flow case took 6.9-7.6 s warm against 11.1-11.3, protocol_mix 7.1-7.6 against 9.2; the
    # engine's own sessions keep both, for data of a real size)
    session.conf.set("spark.sql.shuffle.partitions", "1")
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    session.conf.set("spark.sql.codegen.factoryMode", "NO_CODEGEN")
    return session


def _flows(n: int, seed: int) -> dict:
    """n flows over two hours: IPv4 and IPv6 (a third), home and internet ends, WannaCry ports among others."""
    rng = np.random.default_rng(seed)
    v6 = rng.random(n) < 0.35
    def ends(low: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(home, internet) addresses of each flow, IPv6 where v6 is set (IPv4-mapped otherwise)."""
        home = [(0x20010DB8_0001 << 80) + int(x) if six else (0xFFFF << 32) + (10 << 24) + int(x) % 1024
                for x, six in zip(low, v6, strict=True)]
        net = [(0x2A00_1450 << 96) + int(x) if six else (0xFFFF << 32) + (13 << 24) + int(x) % 4096
               for x, six in zip(low, v6, strict=True)]
        return np.array(home, dtype=object), np.array(net, dtype=object)

    home, net = ends(rng.integers(0, 1 << 40, n))
    home2, net2 = ends(rng.integers(0, 1 << 40, n))
    out = rng.random(n) < 0.6
    inside = rng.random(n) < 0.2
    src = np.where(out, home, net)
    dst = np.where(inside, home2, np.where(out, net2, home2))
    ports = np.array([445, 139, 135, 80, 443, 53, 22], dtype=np.int64)
    return {
        "v": np.where(v6, 6, 4), "src": [str(int(a)) for a in src], "dst": [str(int(a)) for a in dst],
        "sport": rng.integers(1024, 65535, n), "dport": ports[rng.integers(0, len(ports), n)],
        "proto": np.where(rng.random(n) < 0.8, 6, 17), "start": rng.integers(0, 7200 - 60, n),
        "packets": rng.integers(1, 500, n), "bytes": rng.integers(40, 900_000, n),
        "flags": rng.integers(0, 32, n), "out_if": rng.integers(1, 4, n), "in_if": rng.integers(1, 4, n),
    }


def build_flow_case(folder: Path, n: int = 400, seed: int = 7, layout: str | None = None) -> Path:
    """A case of exported flows (IPv4 and IPv6) with a config of v4 and v6 home blocks. A lake (`layout`, else
    FORENSICS_LAYOUT) keeps flows as Parquet parts, not an insertable table: the rows go into a single file
    beside it, which `forensics convert` makes the lake folder `case`."""
    layout = layout or os.environ.get("FORENSICS_LAYOUT", "file")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("single.duckdb" if layout == "lake" else "case.duckdb")
    (folder / "forensics.toml").write_text(CONFIG)
    # nested prefixes (the most specific wins), IPv4 and IPv6, one AS without a name
    (folder / "asn.csv").write_text("prefix,asn,name\n13.0.0.0/8,16509,AMAZON-02\n13.0.8.0/21,14618,AMAZON-AES\n"
                                    "2a00:1450::/32,15169,GOOGLE\n2a00:1450::/96,36040,\n10.0.2.0/24,64512,LAB\n")
    f = _flows(n, seed)
    saved = os.environ.get("FORENSICS_LAYOUT")
    os.environ["FORENSICS_LAYOUT"] = "file"
    try:
        with Case.open(path) as case:
            case.con.execute("INSERT INTO captures (capture_id, path, sha256, size_bytes, format, "
                             "importer_version, imported_at) "
                             "VALUES (1, 'gen', 'gen', 0, 'generated', 'test', now()::TIMESTAMP)")
            case.con.register("_gen", pa.table(f))
            case.con.execute("""
                INSERT INTO flows (flow_id, source, capture_id, first_ts, last_ts, ip_version, src_ip, dst_ip,
                                   ip_proto, src_port, dst_port, in_if, out_if, tcp_flags, packets, bytes,
                                   sampling_rate, packets_scaled, bytes_scaled)
                SELECT row_number() OVER (), 'ipfix', 1, make_timestamp((start + $base) * 1000000),
                       make_timestamp((start + $base + 30) * 1000000), v, src::UHUGEINT, dst::UHUGEINT, proto,
                       sport, dport, in_if, out_if, flags, packets, bytes, 1, packets, bytes
                FROM _gen""", {"base": BASE})
            case.con.unregister("_gen")
    finally:
        if saved is None:
            os.environ.pop("FORENSICS_LAYOUT", None)
        else:
            os.environ["FORENSICS_LAYOUT"] = saved
    if layout != "lake":
        return path
    from forensics.store.lake_convert import convert_to_lake

    return Path(convert_to_lake(path, folder / "case")["target"])


@pytest.fixture(scope="session")
def flow_case(tmp_path_factory) -> Path:
    return build_flow_case(tmp_path_factory.mktemp("flows"))


@pytest.fixture(scope="session")
def demo_case(tmp_path_factory) -> Path:
    from forensics.demo import run_demo

    result = run_demo(tmp_path_factory.mktemp("demo"), progress=lambda _m: None, packets=6_000)
    return Path(result.db)


# Small public captures holding rows for the application reports the demo's packets have none for: DHCP leases
# (v4 and v6), an NXDOMAIN answer, an HTTP request, SMTP sessions (one after STARTTLS), TLS hellos.
APPDATA_CAPTURES = ("zeek/dhcp__dhcp.pcap", "tcpdump/dhcpv6-ia-na.pcap", "zeek/tls__smtp-starttls.pcap",
                    "zeek/smtp.pcap", "zeek/http__iso-download.pcap.gz",
                    "suricata-verify/smb2-07__20171220_smb_psexec_add_user.pcap")


@pytest.fixture(scope="session")
def appdata_case(tmp_path_factory) -> Path:
    from forensics.ingest import import_paths
    from tests.conftest import CORPUS

    path = tmp_path_factory.mktemp("appdata") / "case"
    with Case.open(path) as case:
        summary = import_paths(case, [str(CORPUS / "files" / f) for f in APPDATA_CAPTURES])
    assert [f.status for f in summary.files] == ["imported"] * len(APPDATA_CAPTURES)
    return path


def copy_case(path: Path, folder: Path) -> Path:
    """The case and its config in another folder (checks write alerts: each engine gets its own copy)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in (path.name, "forensics.toml", "asn.csv"):
        if (path.parent / name).is_dir():  # a lake case folder
            shutil.copytree(path.parent / name, folder / name)
        elif (path.parent / name).exists():
            shutil.copy(path.parent / name, folder / name)
    return folder / path.name
