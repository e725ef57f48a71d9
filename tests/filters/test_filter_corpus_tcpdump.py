"""Captures of the shared corpus that tcpdump reads whole: our packet counts per expression equal tcpdump's.
A representative subset (_chosen); every such capture under FORENSICS_FULL_CORPUS=1.

One import of the corpus per session; tcpdump runs once per expression over a list of files (-V), and only
a mismatch is broken down per capture. Single-tagged captures give tcpdump `(untagged and E) or (vlan and E)`
(our filters look through tags). host/net match ARP/RARP protocol addresses on both sides, as libpcap does.
Byte offsets that no column holds are read from the capture files (forensics_load, registered here as the
CLI registers it). Captures left out of the comparison are listed with their reason by
test_exclusions_are_explained; the documented deviations are listed once, in filter_corpus_exprs.py.
"""

from __future__ import annotations

import pytest
from filter_corpus import TAG1, TAG4, UNTAGGED, count, count_many, exclusions, qinq_count, readable_captures
from filter_corpus_exprs import EXPRESSIONS, LINK_EXPRS, VLAN_EXPRS

from forensics.carve import register_byte_loads
from forensics.filters import compile_filter
from tests.conftest import FULL_CORPUS, corpus_rows, corpus_sample

pytestmark = pytest.mark.oracle


def _chosen(files: list) -> list:
    """corpus_sample of the readable captures (every format, link type and category), and every VLAN/QinQ
    capture, as the tagged comparisons need several; all of them under FORENSICS_FULL_CORPUS=1."""
    rows = {r["sha256"]: r for r in corpus_rows()}
    keep = {r["sha256"] for r in corpus_sample([rows[f.sha256] for f in files])}
    keep |= {f.sha256 for f in files if "vlan" in rows[f.sha256]["categories"]}
    return [f for f in files if f.sha256 in keep]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from forensics.ingest import import_paths
    from forensics.store import Case

    files = _chosen(readable_captures())
    tmp = tmp_path_factory.mktemp("corpus")
    case = Case.open(tmp / "corpus.duckdb")
    register_byte_loads(case.con)
    summary = import_paths(case, [str(f.path) for f in files])
    assert not [r for r in summary.files if r.status in ("rejected", "partial")], "corpus import rejected files"
    ids = dict(case.con.execute("SELECT sha256, capture_id FROM captures").fetchall())
    why = exclusions(case.con, files, ids)
    kept = [f for f in files if f.sha256 not in why]
    tagged = {cid for (cid,) in case.con.execute("SELECT DISTINCT capture_id FROM packets WHERE vlan IS NOT NULL")
              .fetchall()}
    yield case, files, kept, ids, tagged, why, tmp
    case.close()


def _compare(corpus, ours: str, theirs: str, only_ethernet: bool = False, wrap_tagged: bool = True):
    case, _files, kept, ids, tagged, _why, tmp = corpus
    files = [f for f in kept if not only_ethernet or f.link_types.startswith("ether(1)")]
    groups = {
        "untagged": ([f for f in files if ids[f.sha256] not in tagged], theirs),
        "tagged": ([f for f in files if ids[f.sha256] in tagged],
                   f"({UNTAGGED} and ({theirs})) or (vlan and ({theirs}))" if wrap_tagged else theirs),
    }
    sql, params = compile_filter(ours)
    for name, (group, their_text) in groups.items():
        cids = [ids[f.sha256] for f in group]
        got = case.con.execute(f"SELECT count(*) FROM packets WHERE list_contains($cids, capture_id) AND {sql}",
                               {**params, "cids": cids}).fetchone()[0]
        want = count_many(group, their_text, tmp / f"{name}.txt")
        if got != want:
            per = dict(case.con.execute(
                f"SELECT capture_id, count(*) FROM packets WHERE list_contains($cids, capture_id) AND {sql} "
                "GROUP BY 1", {**params, "cids": cids}).fetchall())
            bad = [(str(f.path), per.get(ids[f.sha256], 0), count(f.path, their_text)) for f in group]
            bad = [b for b in bad if b[1] != b[2]]
            pytest.fail(f"{ours!r} ({name}): ours {got}, tcpdump {want}; per capture (path, ours, tcpdump): {bad}")


def test_enough_expressions():
    assert len(EXPRESSIONS) + len(VLAN_EXPRS) + len(LINK_EXPRS) >= 80


@pytest.mark.parametrize(("ours", "theirs"), EXPRESSIONS, ids=[e for e, _ in EXPRESSIONS])
def test_counts_equal_tcpdump(corpus, ours, theirs):
    _compare(corpus, ours, theirs)


@pytest.mark.parametrize("expr", LINK_EXPRS)
def test_link_primitives_equal_tcpdump(corpus, expr):
    _compare(corpus, expr, expr, only_ethernet=True)


QINQ_EXPRS = ["ip", "ip6", "arp", "tcp", "udp port 53", "tcp dst port 80", "host 10.0.0.1", "net 192.168.0.0/16",
              "ip[8] < 64", "ip[6:2] & 0x3fff == 0", "ip and tcp[tcpflags] & tcp-syn != 0", "ether broadcast",
              "ether multicast", "arp[7] == 1", "ip[2:2] > 100", "not tcp and not udp"]


@pytest.mark.parametrize("expr", QINQ_EXPRS)
def test_qinq_captures_equal_tcpdump_through_both_tags(corpus, expr):
    """QinQ captures (left out of the comparisons above): tcpdump counts frames with 0, 1, 2 and 3 tags apart,
    `vlan and vlan and E` for two."""
    case, files, _kept, ids, _tagged, why, _tmp = corpus
    qinq = [f for f in files if why.get(f.sha256, "").startswith("QinQ")]
    assert len(qinq) >= 3
    sql, params = compile_filter(expr)
    for f in qinq:
        assert count(f.path, f"{TAG1} and {TAG4}") == 0, f"{f.path}: four tags"
        got = case.con.execute(f"SELECT count(*) FROM packets WHERE capture_id = $cid AND {sql}",
                               {**params, "cid": ids[f.sha256]}).fetchone()[0]
        assert got == qinq_count(f.path, expr), f"{expr!r} on {f.path}"


@pytest.mark.parametrize("expr", VLAN_EXPRS)
def test_vlan_primitives_equal_tcpdump(corpus, expr):
    _compare(corpus, expr, expr, only_ethernet=True, wrap_tagged=False)


def test_exclusions_are_explained(corpus):
    _case, files, kept, _ids, _tagged, why, _tmp = corpus
    # Most of the corpus is compared (the sample takes every rare link type and tunnel, which are the
    # exclusions, so it holds fewer comparable captures); every capture left out has a stated reason.
    assert len(kept) >= (0.8 if FULL_CORPUS else 0.7) * len(files), why
    assert len(kept) + len(why) == len(files)
    for sha, reason in why.items():
        assert reason and sha
