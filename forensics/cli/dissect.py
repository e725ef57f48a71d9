"""`forensics packets --dissect / --dissect-fields`: tshark's verdict on the selected packets of a case.

The selection (filter, capture, alert window, -c) is the one `packets` prints; each capture's frames go to
tshark on the ORIGINAL file (forensics.packetview.dissect says why), verified first by sha256 as carving
does. Output keeps the selection's order. A missing or changed file is one line and its packets are left
out (exit 1; exit 2 when no file is left).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from forensics.errors import SourceMissingError, UsageError


@dataclass
class DissectRequest:
    """What to print: the -V tree, fields (Wireshark names), the packet limit, tshark -n, output style."""

    tree: bool
    fields: list[str]
    limit: int
    names: bool = True
    json_out: bool = False
    csv_out: bool = False
    quiet: bool = False


class DissectProgress:
    """`dissecting FILE (tshark reads to frame N): 120/500 packets` on stderr on a terminal (at most 10 redraws
    a second); silent otherwise. The frame tshark reads to says why a late frame of a big file takes time."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done, self.last, self.label = total, enabled, 0, 0.0, ""

    def file(self, label: str, last_frame: int = 0) -> None:
        self.label = label if len(label) <= 50 else "..." + label[-47:]
        if last_frame:
            self.label += f" (tshark reads to frame {last_frame:,})"
        self._draw(force=True)

    def frame(self, _number: int) -> None:
        self.done += 1
        self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.enabled and (force or now - self.last >= 0.1):
            self.last = now
            sys.stderr.write(f"\rdissecting {self.label}: {self.done:,}/{self.total:,} packets".ljust(110)[:150])
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.last:
            sys.stderr.write("\r" + " " * 150 + "\r")
            sys.stderr.flush()


def dissect_selection(con: object, where: str, params: dict, order: str, count_limit: int | None,
                      locator: object, req: DissectRequest) -> int:
    """Print tshark's dissection of the selected packets; returns the exit code (0, or 1 when some were
    left out). Raises UsageError above the limit or without tshark, SourceMissingError when no file is left."""
    from forensics.packetview.dissect import check_fields, dissect_file, tshark_path

    exe = tshark_path()
    n = con.execute(f"SELECT count(*) FROM packets WHERE {where}", params).fetchone()[0]
    if count_limit is not None:
        n = min(n, count_limit)
    if n > req.limit:
        raise UsageError(f"--dissect: {n:,} packets selected, more than the limit of {req.limit:,} (tshark prints "
                         "a few thousand trees a second); narrow with -c N or --filter, or raise --dissect-limit")
    if req.fields:
        check_fields(exe, req.fields)
    sql = (f"SELECT capture_id, frame, ts, wirelen, caplen, epoch_us(ts) FROM packets WHERE {where} "
           f"ORDER BY {order}")
    bound = dict(params)
    if count_limit is not None:
        sql += " LIMIT $_limit"
        bound["_limit"] = count_limit
    rows = con.execute(sql, bound).fetchall()
    by_capture: dict[int, list[int]] = {}
    lengths = {}
    for cid, frame, _ts, wirelen, caplen, epoch_us in rows:
        by_capture.setdefault(cid, []).append(frame)
        lengths[cid, frame] = (wirelen, caplen, epoch_us)
    rows = [r[:3] for r in rows]
    progress = DissectProgress(len(rows), not (req.quiet or req.json_out) and sys.stderr.isatty())
    results: dict[int, dict] = {}
    paths: dict[int, Path] = {}
    missing: list[SourceMissingError] = []
    exit_code = 0
    try:
        for cid, frames in by_capture.items():
            try:
                src = locator.source(cid)
            except SourceMissingError as exc:
                print(f"forensics: {exc}", file=sys.stderr)
                missing.append(exc)
                continue
            paths[cid] = src.path
            progress.file(str(src.path), max(frames))
            got = dissect_file(exe, src.path, frames, tree=req.tree, fields=req.fields, names=req.names,
                               on_frame=progress.frame)
            renumbered = _renumber(con, exe, cid, src.path, frames, got.packets, lengths, req)
            results[cid] = got.packets
            if renumbered:
                print(f"forensics: {src.path}: tshark numbers {renumbered} of the selected frames otherwise (it "
                      "counts blocks that are no packets, e.g. pcapng custom blocks, as frames); each is shown "
                      "under tshark's number", file=sys.stderr)
            lost = [f for f in frames if f not in got.packets]
            if lost:
                exit_code = 1
                why = got.problem or "tshark printed no frame with its length and time"
                print(f"forensics: {src.path}: tshark gave no dissection for {len(lost)} of the selected frames "
                      f"(first: {lost[0]}): {why}", file=sys.stderr)
    finally:
        progress.close()
    if missing and not paths:
        raise missing[0]
    if missing:
        exit_code = 1
    kept = [(cid, frame, ts) for cid, frame, ts in rows if frame in results.get(cid, {})]
    _print(kept, results, paths, req)
    return exit_code


def _renumber(con: object, exe: str, cid: int, path: Path, frames: list[int], packets: dict, lengths: dict,
              req: DissectRequest) -> int:
    """Make `packets` (tshark's answer by frame number) hold the case's frames only: a frame whose tshark
    record has another length or time (tshark counts pcapng blocks that are no packets as frames) is looked up
    under tshark's own number for it and dissected again. Returns how many frames were renumbered."""
    from forensics.packetview.dissect import dissect_file, tshark_numbers

    wrong = [f for f in frames if f not in packets or not packets[f].same_packet(*lengths[cid, f])]
    for f in wrong:
        packets.pop(f, None)
    if not wrong:
        return 0
    ours = con.execute("SELECT frame, wirelen, caplen, epoch_us(ts) FROM packets WHERE capture_id = $c AND "
                       "frame <= $last ORDER BY frame", {"c": cid, "last": max(wrong)}).fetchall()
    mapping = {f: t for f, t in tshark_numbers(exe, path, ours).items() if f in wrong and t != f}
    if not mapping:
        return 0
    again = dissect_file(exe, path, sorted(mapping.values()), tree=req.tree, fields=req.fields, names=req.names)
    done = 0
    for f, t in mapping.items():
        pkt = again.packets.get(t)
        if pkt is not None and pkt.same_packet(*lengths[cid, f]):
            packets[f] = pkt
            done += 1
    return done


def _value(values: list[str]) -> str | list[str] | None:
    return None if not values else values[0] if len(values) == 1 else values


def _print(rows: list[tuple], results: dict[int, dict], paths: dict[int, Path], req: DissectRequest) -> None:
    from forensics.cli.streaming import write_stream
    from forensics.render.rows import csv_lines, json_chunks, table_lines

    if req.json_out:
        columns = ["capture_id", "frame", "tshark_frame", "ts"] + (["fields"] if req.fields else []) + \
                  (["dissection"] if req.tree else [])

        def objects() -> list[tuple]:
            out = []
            for cid, frame, ts in rows:
                pkt = results[cid][frame]
                row = [cid, frame, pkt.frame, ts]
                if req.fields:
                    row.append({name: _value(pkt.fields.get(name, [])) for name in req.fields})
                if req.tree:
                    row.append(pkt.tree)
                out.append(tuple(row))
            return out

        write_stream(json_chunks(columns, [objects()]))
        return
    if not req.tree:
        columns = ["capture_id", "frame", "tshark_frame", "ts", *req.fields]
        batch = [(cid, frame, results[cid][frame].frame, ts,
                  *(",".join(results[cid][frame].fields.get(f, [])) or None for f in req.fields))
                 for cid, frame, ts in rows]
        if req.csv_out:
            write_stream(csv_lines(columns, [batch]))
        else:
            write_stream(line + "\n" for line in table_lines(columns, [batch]))
        return
    several = len(paths) > 1

    def text() -> Iterator[str]:
        shown = None
        for cid, frame, _ts in rows:
            if several and cid != shown:
                shown = cid
                yield f"==> capture {cid}: {paths[cid]} <==\n"
            pkt = results[cid][frame]
            yield "".join(line + "\n" for line in pkt.tree)
            for name in req.fields:
                yield f"[{name}: {','.join(pkt.fields.get(name, []))}]\n"
            yield "\n"

    write_stream(text())
