"""Scoring a whole batch from the command line, on every core for big ones.

Scoring is CPU-bound and each call is scored on its own once the batch's
history is known, so a large batch is cut into one contiguous part per
worker. Each worker decodes its part and reports the contacts history needs;
the parent builds the one history and hands it back; each worker scores its
part and sends back its scorecards as JSON Lines. Output order is input order.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

import msgspec

from callsop.engine import Scorecard, score
from callsop.engine.history import Contact, History, contact_of
from callsop.policy import Policy
from callsop.record.reader import Loaded, Piece, Refusal, decode_piece

PARALLEL_FROM = 2000  # calls; below this, starting workers costs more than it saves
Progress = Callable[[int], None]

_encode = msgspec.json.Encoder().encode


@dataclass
class Scored:
    refusals: list[Refusal]
    cards: list[Scorecard]  # empty when `lines` holds them, already encoded
    lines: list[bytes]
    count: int


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def score_pieces(
    pieces: Sequence[Piece | Refusal],
    policy: Policy,
    *,
    now: float | None = None,
    jobs: int = 1,
    as_json: bool = False,
    on_progress: Progress | None = None,
) -> Scored:
    """Decodes and scores every piece: refusals in input order, and the
    scorecards of the rest (as JSON Lines when `as_json`)."""
    jobs = min(jobs, max(1, len(pieces) // (PARALLEL_FROM // 2)))
    if (
        jobs > 1
        and len(pieces) >= PARALLEL_FROM
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        return _in_parallel(pieces, policy, now, jobs, as_json, on_progress)
    with _no_gc_pauses():
        items = [decode_piece(p) if isinstance(p, Piece) else p for p in pieces]
        records = [i.record for i in items if isinstance(i, Loaded)]
        refusals = [i for i in items if isinstance(i, Refusal)]
        cards = score(records, policy, now=now, on_progress=on_progress)
    if as_json:
        return Scored(refusals, [], [_encode(c) for c in cards], len(cards))
    return Scored(refusals, cards, [], len(cards))


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


# Set before the workers fork, so they inherit the batch instead of copying it.
_JOB: tuple[Sequence[Piece | Refusal], Policy, float | None, bool] | None = None


def _worker(lo: int, hi: int, conn: Connection, done: Any) -> None:
    assert _JOB is not None
    pieces, policy, now, as_json = _JOB
    gc.disable()  # see _no_gc_pauses; the worker exits when done
    try:
        items = [decode_piece(p) if isinstance(p, Piece) else p for p in pieces[lo:hi]]
        records = [i.record for i in items if isinstance(i, Loaded)]
        contacts = [c for c in (contact_of(n, r) for n, r in enumerate(records)) if c is not None]
        conn.send(([i for i in items if isinstance(i, Refusal)], contacts, len(records)))
        history, first_index = conn.recv()

        reported = 0

        def progress(count: int) -> None:
            nonlocal reported
            if count - reported >= 50 or count == len(records):
                with done.get_lock():
                    done.value += count - reported
                reported = count

        cards = score(
            records, policy, now=now, history=history, first_index=first_index, on_progress=progress
        )
        conn.send([_encode(c) for c in cards] if as_json else cards)
    except BaseException:  # the parent re-raises it with the worker's traceback
        conn.send(RuntimeError(traceback.format_exc()))
    finally:
        conn.close()


def _receive(conn: Connection) -> Any:
    message = conn.recv()
    if isinstance(message, RuntimeError):
        raise RuntimeError(f"a scoring worker failed:\n{message}")
    return message


def _in_parallel(
    pieces: Sequence[Piece | Refusal],
    policy: Policy,
    now: float | None,
    jobs: int,
    as_json: bool,
    on_progress: Progress | None,
) -> Scored:
    global _JOB
    context = multiprocessing.get_context("fork")
    done = context.Value("i", 0)
    bounds = [len(pieces) * k // jobs for k in range(jobs + 1)]
    _JOB = (pieces, policy, now, as_json)
    conns, workers = [], []
    try:
        for k in range(jobs):
            parent, child = context.Pipe()
            worker = context.Process(target=_worker, args=(bounds[k], bounds[k + 1], child, done))
            worker.start()
            child.close()
            conns.append(parent)
            workers.append(worker)
        decoded = [_receive(conn) for conn in conns]
        contacts: list[Contact] = []
        firsts, first = [], 0
        refusals: list[Refusal] = []
        for part_refusals, part_contacts, loaded in decoded:
            refusals += part_refusals
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
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
    if on_progress is not None:
        on_progress(first)
    flat = [entry for part in parts for entry in part]
    if as_json:
        return Scored(refusals, [], flat, first)
    return Scored(refusals, flat, [], first)
