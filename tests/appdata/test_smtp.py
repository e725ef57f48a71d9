"""The smtp table equals tshark's SMTP dissection, frame by frame, on the corpus captures with SMTP (tshark is
the oracle: smtp.req.command, smtp.req.parameter, smtp.response.code); DATA bodies give no rows; SMTP on
another port is found by its greeting. Differences on purpose (README "Application metadata"):
- tshark shows STARTTLS as command "STAR" with parameter "TLS" (it cuts the verb at four characters).
- A segment that pipelines commands before BDAT data (RFC 3030 CHUNKING) is one tshark shows no command in;
  we read the command lines before the data.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from builders import eth, ipv4, pcap_file, tcp

from forensics.appdata import smtp
from forensics.ingest import ImportOptions, import_paths
from tests.conftest import CORPUS

FILES = ["zeek/smtp.pcap", "nDPI/smtp.pcap", "ipfixprobe/smtp.pcap", "zeek/tls__smtp-starttls.pcap",
         "zeek/smtp__smtp-bdat-pipeline-8bitmime.pcap"]


def _tshark(path) -> dict[int, tuple[list[str], list[str], list[str]]]:
    assert shutil.which("tshark"), "tshark is a test oracle: .ci/run installs it"
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "smtp", "-T", "fields", "-E", "occurrence=a",
                          "-E", "aggregator=\x1f", "-e", "frame.number", "-e", "smtp.req.command", "-e",
                          "smtp.req.parameter", "-e", "smtp.response.code"],
                         capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        frame, commands, params, codes = line.split("\t")
        rows[int(frame)] = tuple(v.split("\x1f") if v else [] for v in (commands, params, codes))
    return rows


@pytest.mark.parametrize("rel", FILES)
def test_smtp_equals_tshark(case, rel):
    path = CORPUS / "files" / rel
    summary = import_paths(case, [str(path)], ImportOptions(workers=1))
    cid = summary.files[0].capture_id
    ours: dict[int, list[tuple]] = {}
    for frame, resp, command, parameter, code in case.con.execute(
            "SELECT frame, is_response, command, parameter, reply_code FROM smtp WHERE capture_id = $c "
            "ORDER BY frame, rowid", {"c": cid}).fetchall():
        ours.setdefault(frame, []).append((resp, command, parameter, code))
    theirs = _tshark(path)
    assert any(codes for _, _, codes in theirs.values())
    checked = 0
    for frame, (commands, params, codes) in theirs.items():
        mine = ours.get(frame, [])
        if commands:
            got = [(c, p) for r, c, p, _ in mine if not r]
            want = [("STARTTLS", None) if (c, p) == ("STAR", "TLS") else (c.upper(), p or None)
                    for c, p in zip(commands, params + [""] * (len(commands) - len(params)), strict=True)]
            assert got == want, frame
            checked += 1
        if codes:
            assert [c for r, _, _, c in mine if r] == [int(c) for c in codes], frame
            checked += 1
    for frame, mine in ours.items():  # rows where tshark shows none: the pipelined BDAT segments only
        if not any(theirs.get(frame, ([], [], []))):
            assert [c for _, c, _, _ in mine][-1] == "BDAT", frame
    assert checked > 4
    counts = case.con.execute("SELECT rows, malformed FROM appdata_counts WHERE capture_id = $c AND "
                              "table_name = 'smtp'", {"c": cid}).fetchone()
    assert counts == (sum(len(v) for v in ours.values()), 0)


def test_smtp_on_another_port_and_body_skipped(case, tmp_path):
    """A greeting naming ESMTP on port 2600 makes the connection SMTP, also past the first segments of each
    direction (read back by a second query); the DATA body's lines (one reads like a command) give no row;
    the QUIT after the body does. tshark, told the port is SMTP, is the oracle for the commands."""
    a, b = "10.0.0.1", "10.0.0.2"
    server = [b"220 mx.example.org ESMTP ready\r\n", b"250-mx.example.org\r\n250 PIPELINING\r\n",
              b"250 OK\r\n250 Accepted\r\n", b"354 go ahead\r\n", b"250 queued\r\n"]
    client = [b"EHLO client.example.org\r\n", b"MAIL FROM:<x@example.org> SIZE=12\r\nRCPT TO:<y@example.org>\r\n",
              b"DATA\r\n", b"Subject: hi\r\nRCPT TO:<not@example.org>\r\n", b".\r\n", b"QUIT\r\n"]
    order = [(server, 0), (client, 0), (server, 1), (client, 1), (server, 2), (client, 2), (server, 3),
             (client, 3), (client, 4), (client, 5), (server, 4)]
    seq = {id(server): 1, id(client): 1}
    frames = []
    for side, k in order:
        src, dst, sp, dp = (b, a, 2600, 40000) if side is server else (a, b, 40000, 2600)
        frames.append(eth(0x0800, ipv4(src, dst, 6, tcp(sp, dp, 0x18, side[k], seq=seq[id(side)], src=src, dst=dst))))
        seq[id(side)] += len(side[k])
    pcap = tmp_path / "smtp.pcap"
    pcap.write_bytes(pcap_file([(1.0 + k / 10, f) for k, f in enumerate(frames)]))
    import_paths(case, [str(pcap)], ImportOptions(workers=1))
    rows = case.con.execute("SELECT frame, command, reply_code FROM smtp ORDER BY frame, rowid").fetchall()
    assert rows == [(1, None, 220), (2, "EHLO", None), (3, None, 250), (4, "MAIL", None), (4, "RCPT", None),
                    (5, None, 250), (5, None, 250), (6, "DATA", None), (7, None, 354), (10, "QUIT", None),
                    (11, None, 250)]
    out = subprocess.run(["tshark", "-n", "-r", str(pcap), "-d", "tcp.port==2600,smtp", "-Y", "smtp.req.command",
                          "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-e", "frame.number", "-e",
                          "smtp.req.command"], capture_output=True, text=True, check=True).stdout
    assert [tuple(line.split("\t")) for line in out.splitlines()] == [
        ("2", "EHLO"), ("4", "MAIL|RCPT"), ("6", "DATA"), ("10", "QUIT")]
    assert smtp.parse(client[1]) == (
        [smtp._row(command="MAIL", parameter="FROM:<x@example.org> SIZE=12", mail_from="x@example.org"),
         smtp._row(command="RCPT", parameter="TO:<y@example.org>", rcpt_to="y@example.org")], 0)
    rows, skip = smtp.parse(b"DATA\r\n", 0)
    assert [r["command"] for r in rows] == ["DATA"] and skip == smtp.IN_BODY
    assert smtp.parse(b"Subject: hi\r\nQUIT now\r\n", skip) == ([], smtp.IN_BODY)
    rows, skip = smtp.parse(b"last line\r\n.\r\nMAIL FROM:<>\r\n", skip)
    assert skip == 0 and [(r["command"], r["mail_from"]) for r in rows] == [("MAIL", "")]
    rows, skip = smtp.parse(b"BDAT 5 LAST\r\nRCPT TO:<z@example.org>\r\n", 0)  # the 5 bytes are data
    assert [r["command"] for r in rows] == ["BDAT"] and skip == 0
