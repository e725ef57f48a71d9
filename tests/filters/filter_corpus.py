"""The shared corpus as the filter and carve tests use it: which captures, imported once, and why some are out.

A capture is compared with tcpdump when tcpdump reads it whole (MANIFEST packets_tcpdump ==
packets_capinfos > 0). Some of those are left out of the comparison on purpose, each for a stated
difference between decoded-header semantics (ours) and libpcap's fixed offsets; `exclusions()` detects
them from the case (QinQ, MPLS) or from libpcap itself (PPPoE, IPv6 extension headers), never by name.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
CORPUS = (PROJECT / ".." / "shared" / "corpus").resolve()
MANIFEST = CORPUS / "MANIFEST.tsv"

# Link types the decoder reads (forensics/records.py); libpcap filters others (802.11, PPP, ...) that we keep
# undecoded, so filters cannot agree there.
DECODED_LINK_TYPES = {"ether(1)", "linux-sll(113)", "linux-sll2(276)", "raw(101)", "ipv4(228)", "ipv6(229)",
                      "null(0)", "loop(108)", "ppp(9)"}

UNTAGGED = "ether[12:2] != 0x8100 and ether[12:2] != 0x88a8 and ether[12:2] != 0x9100"
TAG1 = "(ether[12:2] == 0x8100 or ether[12:2] == 0x88a8 or ether[12:2] == 0x9100)"
TAG2 = "(ether[16:2] == 0x8100 or ether[16:2] == 0x88a8 or ether[16:2] == 0x9100)"
TAG3 = "(ether[20:2] == 0x8100 or ether[20:2] == 0x88a8 or ether[20:2] == 0x9100)"
TAG4 = "(ether[24:2] == 0x8100 or ether[24:2] == 0x88a8 or ether[24:2] == 0x9100)"


def qinq_count(path: Path | str, expr: str) -> int:
    """tcpdump's count of E looking through up to three tags, as ours do: frames with 0, 1, 2 and 3 tags counted
    apart (libpcap's `vlan` shifts offsets for the rest of an expression, so one run cannot)."""
    return (count(path, f"{UNTAGGED} and ({expr})") + count(path, f"{TAG1} and not {TAG2} and vlan and ({expr})")
            + count(path, f"{TAG1} and {TAG2} and not {TAG3} and vlan and vlan and ({expr})")
            + count(path, f"{TAG1} and {TAG2} and {TAG3} and vlan and vlan and vlan and ({expr})"))
IPV6_EXT = "(ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or ip6[6] == 60 or ip6[6] == 51)"


@dataclass(frozen=True)
class CorpusFile:
    """One MANIFEST row tcpdump reads whole."""

    path: Path
    sha256: str
    link_types: str
    packets: int


def readable_captures() -> list[CorpusFile]:
    """Captures tcpdump reads whole, one per distinct content."""
    assert MANIFEST.is_file(), f"{MANIFEST} is missing: the shared corpus must sit at ../shared/corpus"
    out, seen = [], set()
    with open(MANIFEST, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            n = row["packets_tcpdump"]
            if not n.isdigit() or n != row["packets_capinfos"] or n == "0" or row["sha256"] in seen:
                continue
            seen.add(row["sha256"])
            out.append(CorpusFile(CORPUS / row["path"], row["sha256"], row["link_types"], int(n)))
    return out


def tcpdump(args: list[str]) -> subprocess.CompletedProcess:
    exe = shutil.which("tcpdump")
    assert exe, "tcpdump is required for the oracle tests (Debian package tcpdump)"
    return subprocess.run([exe, *args], capture_output=True, text=True)


def count(path: Path | str, expr: str) -> int:
    """tcpdump's count for one file."""
    out = tcpdump(["-r", str(path), "--count", expr])
    if out.returncode != 0 and "expression rejects all packets" in out.stderr:
        return 0
    assert out.returncode == 0, f"tcpdump refused {expr!r} on {path}: {out.stderr.strip()}"
    return int(out.stdout.split()[0])


def count_many(files: list[CorpusFile], expr: str, listfile: Path) -> int:
    """tcpdump's count over several files, one run (tcpdump -V) per link type.

    Per link type because libpcap compiles the filter once per link type and refuses one it proves empty
    there (`ip6` on LINKTYPE_IPV4), which would end the run for the other files too.
    """
    total = 0
    for lt in sorted({f.link_types for f in files}):
        paths = [f.path for f in files if f.link_types == lt]
        listfile.write_text("".join(f"{p}\n" for p in paths))
        out = tcpdump(["-V", str(listfile), "--count", expr])
        if out.returncode != 0 and "expression rejects all packets" in out.stderr:
            continue
        assert out.returncode == 0, f"tcpdump refused {expr!r}: {out.stderr.strip()}"
        total += int(out.stdout.split()[0])
    return total


def exclusions(con: object, files: list[CorpusFile], ids: dict[str, int]) -> dict[str, str]:
    """sha256 -> why the capture is left out of the tcpdump comparison."""
    why: dict[str, str] = {}
    for f in files:
        cid = ids[f.sha256]
        ether = f.link_types.startswith("ether(1)")
        if f.link_types.split(" [")[0] not in DECODED_LINK_TYPES:
            why[f.sha256] = f"link type {f.link_types} is not decoded (records.py); libpcap filters it"
            continue
        if f.link_types.startswith("ppp(9)") and count(f.path, "link[0:2] != 0xff03"):
            why[f.sha256] = ("PPP without the FF 03 address/control bytes: ours read the protocol at offset 0, "
                             "libpcap's at offset 2")
            continue
        qinq, mpls = con.execute(
            "SELECT count(vlan_inner), count(mpls_label) FROM packets WHERE capture_id = $c", {"c": cid}
        ).fetchone()
        if qinq:
            why[f.sha256] = "QinQ: our filters look through both tags, libpcap's `vlan and E` through one"
        elif mpls:
            why[f.sha256] = "MPLS: our filters look through the label stack, libpcap's offsets do not"
        elif ether and count(f.path, "ether[12:2] <= 1500 and ether[14:2] == 0xaaaa and ether[16] == 3"):
            why[f.sha256] = "LLC/SNAP: our filters see the IP inside 802.2 SNAP frames, libpcap's `ip` does not"
        elif ether and count(f.path, "ether[12:2] == 0x8864 or (ether[12:2] == 0x8100 and ether[16:2] == 0x8864)"):
            why[f.sha256] = "PPPoE: our filters see the IP inside the session, libpcap's need `pppoes and E`"
        elif count(f.path, f"(ip6 and {IPV6_EXT}) or (vlan and ip6 and {IPV6_EXT})" if ether
                   else f"ip6 and {IPV6_EXT}"):
            why[f.sha256] = ("IPv6 extension headers: our ip_proto/ports follow the header chain, libpcap reads "
                             "the first next-header (and no ports behind a fragment header)")
    return why
