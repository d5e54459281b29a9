"""Scoring a whole batch from the command line, on every core for big ones.

Scoring is CPU-bound and each call is scored on its own once the batch's
history is known, so a large batch is cut into one contiguous share per
worker process. Each worker cuts and decodes its share and reports the
contacts history needs; the parent builds the one history and hands it
back; each worker scores its share and, in turn, writes its scorecards as
JSON Lines. The output is the same, byte for byte, as on one core.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from typing import Any, BinaryIO

import msgspec

from callsop.engine import Scorecard, score
from callsop.engine.call import Compiled
from callsop.engine.history import Contact, History, contact_of
from callsop.policy import Policy
from callsop.record.model import CallRecord
from callsop.record.reader import LineRange, Loaded, Piece, Refusal, decode_piece

PARALLEL_FROM = 2000  # calls; below this, starting workers costs more than it saves
Progress = Callable[[int], None]
Unit = LineRange | Piece | Refusal

_encode = msgspec.json.Encoder().encode


@dataclass
class Scored:
    refusals: list[Refusal]
    cards: list[Scorecard]  # empty when the scorecards went out as JSON Lines
    lines: list[bytes]  # JSON Lines, when asked for and not written out
    count: int


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def records_in(units: Sequence[Unit]) -> int:
    """How many records the units hold, about (lines, for JSON Lines)."""
    return sum(_lines_in(u) if isinstance(u, LineRange) else 1 for u in units)


def _lines_in(lines: LineRange) -> int:
    count = lines.data.count(b"\n", lines.lo, lines.hi)
    unterminated = lines.hi > lines.lo and lines.data[lines.hi - 1 : lines.hi] != b"\n"
    return count + unterminated


def score_units(
    units: Sequence[Unit],
    policy: Policy,
    *,
    now: float | None = None,
    jobs: int = 1,
    as_json: bool = False,
    out: BinaryIO | None = None,
    on_progress: Progress | None = None,
) -> Scored:
    """Decodes and scores every record: refusals in input order, and the
    scorecards of the rest, as JSON Lines when `as_json`. With `out`, the
    lines are written there in input order instead of returned."""
    count = records_in(units)
    jobs = min(jobs, max(1, count // (PARALLEL_FROM // 2)))
    if jobs > 1 and count >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
        return _in_parallel(units, policy, now, jobs, as_json, out, on_progress)
    with _no_gc_pauses():
        items, _ = _decode(units)
        records: list[CallRecord | None] = [i.record for _, i in items if isinstance(i, Loaded)]
        refusals = [i for _, i in items if isinstance(i, Refusal)]
        del items
        history = History.of([r for r in records if r is not None])
        fd = None
        if as_json and out is not None:
            out.flush()
            fd = out.fileno()
        emitted = _score_in_chunks(records, policy, now, history, 0, as_json, fd, on_progress)
    count = len(records)
    if not as_json:
        return Scored(refusals, emitted, [], count)  # type: ignore[arg-type]
    return Scored(refusals, [], emitted, count)  # type: ignore[arg-type]


CHUNK = 250  # calls scored, written and let go at a time


def _score_in_chunks(
    records: list[CallRecord | None],
    policy: Policy,
    now: float | None,
    history: History,
    first_index: int,
    as_json: bool,
    fd: int | None,
    on_progress: Progress | None,
) -> list[Scorecard] | list[bytes]:
    """Scores `records` a chunk at a time, letting each chunk's records go
    once scored. With `fd`, JSON Lines are written as they come and nothing
    is kept; otherwise the scorecards (or their lines) are returned."""
    kept: list[Any] = []
    for start in range(0, len(records), CHUNK):
        chunk = [r for r in records[start : start + CHUNK] if r is not None]
        records[start : start + CHUNK] = [None] * len(chunk)

        def progress(done: int, start: int = start) -> None:
            if on_progress is not None:
                on_progress(start + done)

        cards = score(
            chunk,
            policy,
            now=now,
            history=history,
            first_index=first_index + start,
            on_progress=progress,
        )
        if not as_json:
            kept += cards
        elif fd is None:
            kept += [_encode(c) for c in cards]
        else:
            _write(fd, [_encode(c) for c in cards])
    return kept


def _decode(
    units: Sequence[Unit],
) -> tuple[list[tuple[int, Loaded | Refusal]], dict[int, tuple[int, int]]]:
    """Each record decoded, with the position of the unit it came from, and
    for each line range, how many lines and records it held."""
    items: list[tuple[int, Loaded | Refusal]] = []
    sizes: dict[int, tuple[int, int]] = {}
    for position, unit in enumerate(units):
        if isinstance(unit, LineRange):
            pieces, lines = unit.pieces()
            sizes[position] = (lines, len(pieces))
            items += [(position, decode_piece(p)) for p in pieces]
        elif isinstance(unit, Piece):
            items.append((position, decode_piece(unit)))
        else:
            items.append((position, unit))
    return items, sizes


def _write(fd: int, lines: list[bytes]) -> None:
    data = memoryview(b"".join(line + b"\n" for line in lines))
    while data:
        data = data[os.write(fd, data) :]


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """No cyclic garbage collection while a batch is scored.

    A batch keeps every record alive until it is printed, and the collector
    would walk them all again and again (a fifth of the time on 10,000
    calls). Scoring makes no reference cycles, so nothing piles up."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _shares(units: Sequence[Unit], jobs: int) -> list[list[Unit]]:
    """The units cut into `jobs` contiguous shares of about equal bytes; a
    line range that straddles a cut is split at a line start."""
    weight = [
        u.hi - u.lo if isinstance(u, LineRange) else len(getattr(u, "data", b"")) for u in units
    ]
    total = sum(weight) or 1
    shares: list[list[Unit]] = [[] for _ in range(jobs)]
    done = 0
    for unit, size in zip(units, weight, strict=True):
        while True:
            share = min(jobs - 1, done * jobs // total)
            edge = (share + 1) * total // jobs  # where this share ends
            if not isinstance(unit, LineRange) or share == jobs - 1 or done + size <= edge:
                shares[share].append(unit)
                done += size
                break
            head, unit = unit.cut(unit.lo + edge - done)
            shares[share].append(head)
            done += head.hi - head.lo
            size = unit.hi - unit.lo
            if size == 0:
                break
            done = max(done, edge)  # the rest starts the next share
    return shares


# Set before the workers fork, so they inherit the batch instead of copying it.
_JOB: tuple[list[list[Unit]], Policy, float | None, bool, int | None] | None = None


def _worker(k: int, conn: Connection, done: Any, turn: Any, next_turn: Any) -> None:
    """Scores share `k`. Writing straight out, a worker writes once `turn`
    is set and then sets `next_turn`, so the lines keep the input order."""
    assert _JOB is not None
    shares, policy, now, as_json, fd = _JOB
    gc.disable()  # see _no_gc_pauses; the worker exits when done
    try:
        items, sizes = _decode(shares[k])
        records: list[CallRecord | None] = [i.record for _, i in items if isinstance(i, Loaded)]
        refusals = [(at, i) for at, i in items if isinstance(i, Refusal)]
        del items
        contacts = [c for c in (contact_of(n, r) for n, r in enumerate(records) if r) if c]
        count = len(records)
        conn.send((refusals, sizes, contacts, count))
        history, first_index = conn.recv()
        reported = 0

        def progress(scored: int) -> None:
            nonlocal reported
            if scored - reported >= 50 or scored == count:
                with done.get_lock():
                    done.value += scored - reported
                reported = scored

        # Lines are kept (fd None) until this worker's turn to write comes.
        emitted = _score_in_chunks(
            records, policy, now, history, first_index, as_json, None, progress
        )
        if as_json and fd is not None:
            turn.wait()
            _write(fd, emitted)  # type: ignore[arg-type]
            conn.send([])
        else:
            conn.send(emitted)
    except BrokenPipeError:  # the reader of the output went away (… | head)
        conn.send(_BROKEN_PIPE)
    except BaseException:  # the parent re-raises it with the worker's traceback
        conn.send(RuntimeError(traceback.format_exc()))
    finally:
        next_turn.set()  # never leave the next worker waiting
        conn.close()


_BROKEN_PIPE = "broken pipe"


def _receive(conn: Connection) -> Any:
    message = conn.recv()
    if message == _BROKEN_PIPE:
        raise BrokenPipeError
    if isinstance(message, RuntimeError):
        raise RuntimeError(f"a scoring worker failed:\n{message}")
    return message


def _number_refusals(shares: list[list[Unit]], decoded: list[Any]) -> list[Refusal]:
    """Refusals from line ranges carry numbers counted from their range's
    first line: add the lines and records of the same file before it."""
    lines_before: dict[str, int] = {}
    records_before: dict[str, int] = {}
    refusals: list[Refusal] = []
    for share, (part_refusals, sizes, _, _) in zip(shares, decoded, strict=True):
        by_unit: dict[int, list[Refusal]] = {}
        for at, refusal in part_refusals:
            by_unit.setdefault(at, []).append(refusal)
        for at, unit in enumerate(share):
            found = by_unit.get(at, [])
            if isinstance(unit, LineRange):
                if unit.lo == 0:  # a file (or the same file again) begins
                    lines_before[unit.source] = records_before[unit.source] = 0
                lines = lines_before.get(unit.source, 0)
                records = records_before.get(unit.source, 0)
                found = [
                    replace(r, line=(r.line or 0) + lines, index=r.index + records) for r in found
                ]
                lines_before[unit.source] = lines + sizes[at][0]
                records_before[unit.source] = records + sizes[at][1]
            refusals += found
    return refusals


def _in_parallel(
    units: Sequence[Unit],
    policy: Policy,
    now: float | None,
    jobs: int,
    as_json: bool,
    out: BinaryIO | None,
    on_progress: Progress | None,
) -> Scored:
    global _JOB
    Compiled.of(policy)  # compiled once here, inherited by every worker
    context = multiprocessing.get_context("fork")
    done = context.Value("i", 0)
    turns = [context.Event() for _ in range(jobs + 1)]
    turns[0].set()
    shares = _shares(units, jobs)
    fd = None
    if out is not None and as_json:
        out.flush()  # nothing buffered may be written twice by the forked workers
        fd = out.fileno()
    _JOB = (shares, policy, now, as_json, fd)
    conns, workers = [], []
    try:
        for k in range(jobs):
            parent, child = context.Pipe()
            worker = context.Process(target=_worker, args=(k, child, done, turns[k], turns[k + 1]))
            worker.start()
            child.close()
            conns.append(parent)
            workers.append(worker)
        decoded = [_receive(conn) for conn in conns]
        contacts: list[Contact] = []
        firsts, first = [], 0
        for _, _, part_contacts, loaded in decoded:
            contacts += [msgspec.structs.replace(c, index=c.index + first) for c in part_contacts]
            firsts.append(first)
            first += loaded
        history = History(contacts)
        for conn, first_index in zip(conns, firsts, strict=True):
            conn.send((history, first_index))
        results: dict[int, Any] = {}
        while len(results) < len(conns):
            ready = wait([c for k, c in enumerate(conns) if k not in results], timeout=0.2)
            if on_progress is not None:
                on_progress(done.value)
            for k, conn in enumerate(conns):
                if conn in ready:
                    results[k] = _receive(conn)
        parts = [results[k] for k in range(len(conns))]
    finally:
        _JOB = None
        if sys.exc_info()[0] is not None:  # failing: stop the rest at once
            for worker in workers:
                worker.kill()
        for worker in workers:
            worker.join()
    if on_progress is not None:
        on_progress(first)
    refusals = _number_refusals(shares, decoded)
    flat = [entry for part in parts for entry in part]
    if as_json:
        return Scored(refusals, [], flat, first)
    return Scored(refusals, flat, [], first)
