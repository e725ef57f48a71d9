"""is_home's binary search over the home blocks (forensics.reports.context.in_ranges_sql) against a plain test."""

import random

import duckdb
import pytest

from forensics.reports.context import in_ranges_sql

V4 = 0xFFFF << 32  # ::ffff:0.0.0.0, where IPv4 addresses are stored


def _blocks(rng: random.Random, n: int) -> list[tuple[int, int]]:
    """n CIDR-like blocks, IPv4 and IPv6, some overlapping, nested or adjacent to another."""
    out: list[tuple[int, int]] = []
    for _ in range(n):
        if out and rng.random() < 0.3:  # touch, nest in or overlap an earlier block
            lo, hi = rng.choice(out)
            kind = rng.choice(["adjacent", "nested", "overlap"])
            if kind == "adjacent":
                out.append((hi + 1, hi + 1 + rng.randrange(1, 1 << 12)))
            elif kind == "nested":
                out.append((lo + (hi - lo) // 4, lo + (hi - lo) // 2))
            else:
                out.append(((lo + hi) // 2, hi + rng.randrange(1, 1 << 12)))
            continue
        if rng.random() < 0.7:
            bits = rng.randrange(8, 33)
            base = V4 + (rng.getrandbits(32) >> (32 - bits) << (32 - bits))
            out.append((base, base + (1 << (32 - bits)) - 1))
        else:
            bits = rng.randrange(7, 129)
            base = rng.getrandbits(128) >> (128 - bits) << (128 - bits)
            out.append((base, base + (1 << (128 - bits)) - 1))
    return out


def _probes(rng: random.Random, blocks: list[tuple[int, int]]) -> list[int]:
    """Every block's edges and their neighbours, and random addresses of both families."""
    out = [0, (1 << 128) - 1]
    for lo, hi in blocks:
        out += [v for v in (lo - 1, lo, lo + 1, hi - 1, hi, hi + 1) if 0 <= v < 1 << 128]
    out += [V4 + rng.getrandbits(32) for _ in range(200)] + [rng.getrandbits(128) for _ in range(200)]
    return out


@pytest.mark.parametrize("seed", range(40))
def test_binary_search_selects_what_the_blocks_hold(seed: int) -> None:
    rng = random.Random(seed)
    blocks = _blocks(rng, rng.randrange(1, 40))
    probes = _probes(rng, blocks)
    con = duckdb.connect()
    con.execute("CREATE TABLE a (a UHUGEINT)")
    con.executemany("INSERT INTO a VALUES (?)", [[str(v)] for v in probes] + [[None]])
    got = dict(con.execute(f"SELECT a, coalesce({in_ranges_sql('a', blocks)}, false) FROM a").fetchall())
    want = {v: any(lo <= v <= hi for lo, hi in blocks) for v in probes}
    assert {int(k): v for k, v in got.items() if k is not None} == want
    assert got[None] is False
    assert any(want.values()) and not all(want.values())


def test_no_blocks_is_false() -> None:
    assert duckdb.sql(f"SELECT {in_ranges_sql('a', [])} FROM (SELECT 1::UHUGEINT AS a)").fetchall() == [(False,)]
