"""`packets --dissect / --dissect-fields`: tshark's own dissection of the selected packets, read from their
original files. Oracle: tshark run here on the same corpus files (`-V -Y frame.number==N`, `-T fields`)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from view_helpers import CORPUS

from forensics.errors import SourceMissingError, UsageError
from tests.inprocess import cli

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.oracle

# pcap, pcapng with several interfaces (and two link types), gzip'd pcap, a GRE tunnel (ip.src twice a packet)
FILES = ["files/zeek/smb__smb2.pcap", "files/zeek/pcapng-multi-interface.pcapng", "files/nDPI/steam.pcapng",
         "files/gopacket/le__test006.pcapng", "files/scapy/http_chunk.pcap.gz", "files/zeek/tunnels__gre-sample.pcap"]

# application fields (DNS names and answers, TLS SNI)
EXTRA = ["files/nDPI/alexa-app.pcapng"]

# The one line that depends on which OTHER frames tshark displays in the same run: our run shows several
# frames, the oracle one. Everything else (frame numbers, times, relative sequence numbers, stream indexes,
# reassembly notes) must be equal, because both read the original file from its start.
DISPLAYED_DELTA = re.compile(r"^(\s*)\[Time delta from previous displayed frame: .*\]$")


def normalise(lines: list[str]) -> list[str]:
    return [DISPLAYED_DELTA.sub(r"\1[Time delta from previous displayed frame: (depends on the run)]", x)
            for x in lines]


def tshark(*args: str) -> str:
    assert TSHARK, "tshark is required for the dissection tests (Debian package tshark)"
    run = subprocess.run([TSHARK, *args], capture_output=True, text=True, errors="replace",
                         env={**os.environ, "TZ": "UTC"})
    return run.stdout


@pytest.fixture(scope="module")
def case():
    from forensics.ingest import ImportOptions, import_paths
    from forensics.store import Case

    case = Case.open(":memory:")
    summary = import_paths(case, [str(CORPUS / f) for f in FILES + EXTRA], ImportOptions(workers=1))
    ids = {}
    for name, result in zip(FILES + EXTRA, summary.files, strict=True):
        assert result.capture_id is not None, (name, result.message)
        ids[name] = result.capture_id
    yield case, ids
    case.close()


def request(tree: bool = True, fields: list[str] | None = None, limit: int = 2000, json_out: bool = False,
            csv_out: bool = False):
    from forensics.cli.dissect import DissectRequest

    return DissectRequest(tree=tree, fields=fields or [], limit=limit, json_out=json_out, csv_out=csv_out,
                          quiet=True)


def show(con, req, frames: dict[int, list[int]] | None = None, filter_expr: str | None = None,
         count_limit: int | None = None) -> int:
    """`packets --dissect...` on the case: the given frames of the given captures (or a filter)."""
    from forensics.cli.packets import show as packets_show
    from forensics.packetview import ViewOptions

    window: tuple[str, dict] = ("true", {})
    if frames is not None:
        ors = " OR ".join(f"(capture_id = $w_c{c} AND list_contains($w_f{c}, frame))" for c in frames)
        params = {f"w_c{c}": c for c in frames} | {f"w_f{c}": f for c, f in frames.items()}
        window = (f"({ors})", params)
    return packets_show(con, filter_expr, None, count_limit, False, None, None, req.json_out, ViewOptions(),
                        None, window, req)


def blocks(text: str) -> list[tuple[str | None, int, list[str]]]:
    """Our text output as (capture header or None, frame number, tree lines) per packet."""
    out: list[tuple[str | None, int, list[str]]] = []
    header, current, blank = None, None, True
    for line in text.splitlines():
        if line.startswith("==> capture "):
            header = line
            continue
        m = re.match(r"Frame (\d+): ", line) if blank else None
        if m:
            current = []
            out.append((header, int(m.group(1)), current))
        blank = line == ""
        if current is not None:
            current.append(line)
    for _h, _f, lines in out:
        while lines and lines[-1] == "":
            lines.pop()
    return out


def spread(case, cid: int) -> list[int]:
    """The middle and the last frame of a capture as the case holds it (state from the frames before them)."""
    lo, hi = case.con.execute("SELECT min(frame), max(frame) FROM packets WHERE capture_id = $c",
                              {"c": cid}).fetchone()
    return sorted({(lo + hi) // 2, hi})


@pytest.mark.parametrize("name", FILES)
def test_tree_equals_tshark_V_on_the_original_file(case, name, capsys):
    case, ids = case
    cid = ids[name]
    frames = spread(case, cid)
    assert show(case.con, request(), {cid: frames}) == 0
    got = blocks(capsys.readouterr().out)
    assert [b[1] for b in got] == frames
    for _header, frame, lines in got:
        oracle = tshark("-r", str(CORPUS / name), "-V", "-Y", f"frame.number=={frame}").rstrip("\n").split("\n")
        assert oracle[0].startswith(f"Frame {frame}: ")
        layers = [x for x in lines if not x.startswith(" ")]
        assert layers == [x for x in oracle if not x.startswith(" ")]
        assert normalise(lines) == normalise(oracle)


def test_several_captures_keep_time_order_and_name_each_file(case, capsys):
    case, ids = case
    chosen = {ids[n]: spread(case, ids[n])[:2] for n in FILES[1:4]}
    assert show(case.con, request(), chosen) == 0
    got = blocks(capsys.readouterr().out)
    assert sorted((int(h.split()[2].rstrip(":")), f) for h, f, _ in got) == \
        sorted((c, f) for c, fs in chosen.items() for f in fs)
    times = [case.con.execute("SELECT ts FROM packets WHERE capture_id = $c AND frame = $f",
                              {"c": int(h.split()[2].rstrip(":")), "f": f}).fetchone()[0] for h, f, _ in got]
    assert times == sorted(times)
    for header, _frame, _lines in got:
        assert header.endswith(" <==") and str(CORPUS) in header


def oracle_fields(name: str, fields: list[str]) -> dict[int, list[str]]:
    args = ["-r", str(CORPUS / name), "-T", "fields", "-E", "occurrence=a", "-e", "frame.number"]
    for f in fields:
        args += ["-e", f]
    out = {}
    for line in tshark(*args).splitlines():
        cells = line.split("\t")
        out[int(cells[0])] = cells[1:]
    return out


@pytest.mark.parametrize(("name", "fields", "frames"), [
    ("files/zeek/smb__smb2.pcap", ["ip.src", "tcp.flags"], range(1, 41)),
    ("files/zeek/tunnels__gre-sample.pcap", ["ip.src", "tcp.flags"], range(1, 41)),
    ("files/nDPI/steam.pcapng", ["ip.src", "tcp.flags"], range(1, 41)),
    ("files/nDPI/alexa-app.pcapng", ["dns.qry.name", "dns.a", "tls.handshake.extensions_server_name"],
     range(1, 101)),
])
def test_fields_csv_equal_tshark_T_fields(case, name, fields, frames, capsys):
    case, ids = case
    req = request(tree=False, fields=fields, csv_out=True)
    assert show(case.con, req, {ids[name]: list(frames)}) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["capture_id", "frame", "tshark_frame", "ts", *fields]
    oracle = oracle_fields(name, fields)
    assert len(rows) > 1
    assert any(any(r[4:]) for r in rows[1:])
    for row in rows[1:]:
        assert row[1] == row[2]
        assert row[4:] == oracle[int(row[1])], row


def test_fields_json_lists_repeated_values(case, capsys):
    case, ids = case
    name = "files/zeek/tunnels__gre-sample.pcap"
    req = request(tree=True, fields=["ip.src", "tcp.flags", "frame.number"], json_out=True)
    assert show(case.con, req, {ids[name]: [1, 2, 10]}) == 0
    objs = json.loads(capsys.readouterr().out)
    oracle = oracle_fields(name, ["ip.src", "tcp.flags"])
    assert [o["frame"] for o in objs] == [1, 2, 10]
    for obj in objs:
        srcs = oracle[obj["frame"]][0].split(",")
        assert len(srcs) == 2  # outer and inner IPv4 header of the GRE tunnel
        assert obj["fields"]["ip.src"] == srcs
        assert obj["fields"]["frame.number"] == str(obj["frame"])
        assert obj["dissection"][0].startswith(f"Frame {obj['frame']}: ")
        assert obj["ts"].endswith("Z")


def test_unknown_field_is_named(case):
    case, _ids = case
    with pytest.raises(UsageError, match=r"'tcp\.flagz' is not a Wireshark field"):
        show(case.con, request(tree=False, fields=["ip.src", "tcp.flagz"]), filter_expr="tcp", count_limit=1)


def test_limit_refuses_large_selections_with_the_count(case, capsys):
    case, ids = case
    cid = ids["files/zeek/smb__smb2.pcap"]
    total = case.con.execute("SELECT count(*) FROM packets WHERE capture_id = $c", {"c": cid}).fetchone()[0]
    with pytest.raises(UsageError, match=rf"{total:,} packets selected, more than the limit of 1,000.*-c N"):
        show(case.con, request(limit=1000), {cid: list(range(1, total + 1))})
    assert show(case.con, request(limit=3), {cid: [1, 2, 3]}) == 0  # at the limit: printed
    assert len(blocks(capsys.readouterr().out)) == 3
    assert show(case.con, request(limit=3), {cid: list(range(1, total + 1))}, count_limit=3) == 0  # -c narrows


def test_changed_file_is_named_and_the_rest_printed(tmp_path, capsys):
    from forensics.carve import SourceLocator
    from forensics.cli.dissect import dissect_selection
    from forensics.ingest import ImportOptions, import_paths
    from forensics.store import Case

    names = ["files/zeek/pcapng-multi-interface.pcapng", "files/zeek/tunnels__gre-sample.pcap"]
    copies = []
    for n in names:
        copies.append(tmp_path / Path(n).name)
        shutil.copy(CORPUS / n, copies[-1])
    with Case.open(":memory:") as c:
        import_paths(c, [str(p) for p in copies], ImportOptions(workers=1))
        with open(copies[1], "ab") as f:
            f.write(b"\0")  # changed since the import: its sha256 and size differ
        where, order = "frame <= 2", "ts, capture_id, frame"
        code = dissect_selection(c.con, where, {}, order, None, SourceLocator(c.con, []), request())
        out, err = capsys.readouterr()
        assert code == 1
        assert [b[1] for b in blocks(out)] == [1, 2]
        assert len(err.strip().splitlines()) == 1 and str(copies[1]) in err and "changed" in err
        copies[0].unlink()
        with pytest.raises(SourceMissingError, match="is missing|has changed"):
            dissect_selection(c.con, where, {}, order, None, SourceLocator(c.con, []), request())


def test_absent_tshark_is_one_line_and_exit_2(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = subprocess.run([sys.executable, "-m", "forensics", "packets", "-r",
                          str(CORPUS / "files/zeek/pcapng-multi-interface.pcapng"), "-c", "1", "--dissect"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "tshark" in lines[0] and "apt install tshark" in lines[0], run.stderr


def test_frame_filters_split_long_lists():
    from forensics.packetview.dissect import frame_filters

    assert frame_filters([5, 1, 2, 3, 9]) == [("frame.number in {1..3,5,9}", 9)]
    parts = frame_filters(list(range(1, 20000, 2)), max_chars=1000)
    assert len(parts) > 1 and all(len(f) < 1100 for f, _ in parts)
    got = [int(x) for f, _ in parts for x in f[len("frame.number in {"):-1].split(",")]
    assert got == list(range(1, 20000, 2))
    assert [last for _, last in parts] == [int(f[:-1].split(",")[-1]) for f, _ in parts]


def forensics(*args, cwd: Path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("FORENSICS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def test_cli_exit_codes_partial_and_limit(tmp_path):
    names = ["files/zeek/pcapng-multi-interface.pcapng", "files/zeek/tunnels__gre-sample.pcap"]
    copies = []
    for n in names:
        copies.append(tmp_path / Path(n).name)
        shutil.copy(CORPUS / n, copies[-1])
    db = str(tmp_path / "case.duckdb")
    assert cli("import", "--quiet", "--db", db, *map(str, copies)).returncode == 0  # the case; then the process
    over = forensics("packets", "--db", db, "--dissect", "--dissect-limit", "5", cwd=tmp_path)
    assert over.returncode == 2 and over.stdout == ""
    assert over.stderr.count("\n") == 1 and "46 packets selected, more than the limit of 5" in over.stderr
    copies[0].unlink()
    part = forensics("packets", "--db", db, "--dissect-fields", "ip.src", "--json", cwd=tmp_path)
    assert part.returncode == 1, part.stderr
    assert part.stderr.count("\n") == 1 and str(copies[0]) in part.stderr and "missing" in part.stderr
    assert [o["frame"] for o in json.loads(part.stdout)] == list(range(1, 41))  # the GRE capture's 40
    bad = forensics("packets", "--db", db, "--dissect", "--csv", cwd=tmp_path)
    assert bad.returncode == 2 and "--csv" in bad.stderr and bad.stderr.count("\n") == 1


def test_progress_only_when_asked(capsys):
    from forensics.cli.dissect import DissectProgress

    quiet = DissectProgress(3, enabled=False)
    loud = DissectProgress(3, enabled=True)
    for p in (quiet, loud):
        p.file("x.pcap", 7)
        p.last = 0.0  # the next packet redraws at once
        p.frame(1)
        p.close()
    err = capsys.readouterr().err
    assert err.count("dissecting x.pcap (tshark reads to frame 7): 0/3 packets") == 1
    assert err.count("dissecting x.pcap (tshark reads to frame 7): 1/3 packets") == 1


def test_frames_tshark_numbers_otherwise_are_found_under_its_number(tmp_path, capsys):
    """tshark counts a pcapng custom block as a frame (the case's frame 2 is its frame 3): each packet is found
    under tshark's number by length and time, never shown as another record's dissection."""
    import builders as b

    from forensics.carve import SourceLocator
    from forensics.cli.dissect import dissect_selection
    from forensics.ingest import ImportOptions, import_paths
    from forensics.store import Case

    def pkt(i: int):
        return b.Packet(b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(1000 + i, 9, b"x" * (i + 1)))),
                        ts=1.0 + i)

    path = tmp_path / "custom.pcapng"
    path.write_bytes(b.pcapng_file([b.Section([b.Interface(), pkt(0), b.CustomBlock(b"hello"), pkt(1), pkt(2)])]))
    with Case.open(":memory:") as c:
        import_paths(c, [str(path)], ImportOptions(workers=1))
        for req in (request(), request(tree=False, fields=["udp.srcport"], json_out=True)):
            code = dissect_selection(c.con, "true", {}, "capture_id, frame", None, SourceLocator(c.con, []), req)
            out, err = capsys.readouterr()
            assert code == 0
            assert len(err.strip().splitlines()) == 1 and "numbers 2 of the selected frames otherwise" in err, err
            if req.tree:
                assert [(f, normalise(lines)) for _h, f, lines in blocks(out)] == \
                    [(t, normalise(tshark("-r", str(path), "-V", "-Y", f"frame.number=={t}").rstrip("\n").split("\n")))
                     for t in (1, 3, 4)]
            else:
                got = [(o["frame"], o["tshark_frame"], o["fields"]["udp.srcport"]) for o in json.loads(out)]
                assert got == [(1, 1, "1000"), (2, 3, "1001"), (3, 4, "1002")]  # the ports the builder wrote
