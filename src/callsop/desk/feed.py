"""The PBX's events into the desk, off the collector's loop and the request.

The collector must never wait on a database, so events go through a queue
to a thread that stores each burst in a few inserts and at once applies the
calls in it: a call that is ringing is on the desk within milliseconds,
whatever waits behind it. The burst's calls are shared among a few applier
threads (one on SQLite, which takes one writer at a time), each call's
events whole to one of them, so calls are applied side by side and each
call's events in capture order. A call that ends is scored by a thread of
its own after its events are applied, so a burst of endings holds up no
call that rings. A second thread drains what is left (a backlog stored
while the desk was down, a webhook's big batch, calls another applier
held) without waiting for new events; `Drainer` is that thread on its own,
for the web server's webhook."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime

from django.db import close_old_connections, connection, connections

from callsop.desk.services.telephony import (
    ApplyRound,
    Ended,
    pbx_calls_apply,
    pbx_calls_score,
    pbx_calls_unscored,
    pbx_events_apply,
    pbx_events_store,
)
from callsop.telephony.dialogs import CallEvent

logger = logging.getLogger(__name__)

_STOP = object()
BURST = 2000  # events one store takes from the queue
BUSY_RETRY_S = 0.05  # how soon a call another applier held is tried again
IDLE_CHECK_S = 5.0  # how often an idle drainer looks for events others stored
FAILED_PAUSE_S = 0.5  # after a database error, before trying again
APPLIERS = 4  # threads applying one burst's calls side by side (one on SQLite)
CALLS_PER_APPLIER = 4  # a burst of fewer calls than this for each is shared by fewer
UNSCORED_CHECK_S = 300.0  # how often the scorer looks for ended calls left unscored


def appliers_for_database() -> int:
    """APPLIERS, or CALLSOP_PBX_APPLIERS (1 to 16) where it is set; one on SQLite."""
    if connection.vendor == "sqlite":
        return 1
    told = os.environ.get("CALLSOP_PBX_APPLIERS", "")
    return max(1, min(16, int(told))) if told.isdigit() else APPLIERS


class _Appliers:
    """A few threads, each applying the part of a burst's calls given it;
    each part's ended calls go to `ended` as soon as that part is applied."""

    def __init__(self, count: int, ended: Callable[[list[Ended]], None]) -> None:
        self._jobs: list[queue.Queue[tuple[list[str], Future[ApplyRound]] | None]] = []
        self._threads: list[threading.Thread] = []
        for n in range(count):
            jobs: queue.Queue[tuple[list[str], Future[ApplyRound]] | None] = queue.Queue()
            thread = threading.Thread(
                target=self._run, args=(jobs, ended), name=f"desk-apply-{n}", daemon=True
            )
            self._jobs.append(jobs)
            self._threads.append(thread)
            thread.start()

    def apply(self, call_ids: list[str]) -> ApplyRound:
        """Applies these calls, each whole on one thread; raises what an
        applier raised, once all are done."""
        # A part costs its claim and its reads: a few calls go to one thread.
        count = max(1, min(len(self._jobs), len(call_ids) // CALLS_PER_APPLIER))
        parts: list[list[str]] = [[] for _ in range(count)]
        for call_id in call_ids:
            parts[zlib.crc32(call_id.encode()) % len(parts)].append(call_id)
        futures = []
        for jobs, part in zip(self._jobs, parts, strict=False):
            if part:
                future: Future[ApplyRound] = Future()
                jobs.put((part, future))
                futures.append(future)
        done, failed = ApplyRound(), None
        for future in futures:
            try:
                done.add(future.result())
            except Exception as exc:  # the others finish; the burst is held
                failed = exc
        if failed is not None:
            raise failed
        return done

    def close(self, timeout: float) -> None:
        for jobs in self._jobs:
            jobs.put(None)
        ends = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.1, ends - time.monotonic()))

    @staticmethod
    def _run(
        jobs: queue.Queue[tuple[list[str], Future[ApplyRound]] | None],
        ended: Callable[[list[Ended]], None],
    ) -> None:
        while (job := jobs.get()) is not None:
            part, future = job
            try:
                done = pbx_calls_apply(call_ids=part, limit=BURST, score=False)
                ended(done.ended)
                future.set_result(done)
            except Exception as exc:
                close_old_connections()
                future.set_exception(exc)
        connections.close_all()


_NOTHING: Ended = (0, datetime.min)  # no call ended within UNSCORED_CHECK_S


class Scorer:
    """Scores the calls the PBX ended, in the order they ended, on a thread
    of its own; on start (and every UNSCORED_CHECK_S) it takes up ended
    calls an applier that stopped left unscored."""

    def __init__(self) -> None:
        self.scored = 0
        self._queue: queue.Queue[Ended | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="desk-score", daemon=True)
        self._thread.start()

    def __call__(self, ended: list[Ended]) -> None:
        for item in ended:
            self._queue.put(item)

    def stop(self, timeout: float) -> None:
        """Scores what is queued (within `timeout`), then stops; what is left
        is taken up at the next start."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        self._sweep()
        swept = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=UNSCORED_CHECK_S)
            except queue.Empty:
                item = _NOTHING
            if item is None:
                break
            if item is not _NOTHING:
                self._score([item, *self._ready()])
            if time.monotonic() - swept > UNSCORED_CHECK_S:
                self._sweep()
                swept = time.monotonic()
        connections.close_all()

    def _ready(self) -> list[Ended]:
        taken: list[Ended] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return taken
            if item is None:
                self._queue.put(None)  # stop after these
                return taken
            taken.append(item)

    def _sweep(self) -> None:
        self._score(None)

    def _score(self, ended: list[Ended] | None) -> None:
        try:
            self.scored += pbx_calls_score(pbx_calls_unscored() if ended is None else ended)
        except Exception:  # the database is gone: the next sweep takes them up
            logger.exception("ended calls not scored; left for the next sweep")
            close_old_connections()


class Drainer:
    """Applies pending events round after round until none is left, then
    waits to be woken (or IDLE_CHECK_S)."""

    def __init__(self, name: str = "desk-drain") -> None:
        self.applied = 0
        self.failed = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stops after the round under way."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            if self._round():
                continue
            connections.close_all()  # idle: hold no connection (a test database is dropped)
            self._wake.wait(IDLE_CHECK_S)
        connections.close_all()

    def _round(self) -> bool:
        """True when it applied something, so another round follows at once."""
        try:
            applied = pbx_events_apply()
        except Exception:  # a database hiccup: the events wait for the next round
            logger.exception("PBX events not applied; trying again")
            self.failed += 1
            close_old_connections()
            self._stopping.wait(FAILED_PAUSE_S)
            return False
        self.applied += applied
        return applied > 0


_web_drainer: Drainer | None = None
_web_lock = threading.Lock()


def drain_soon() -> None:
    """Wakes this process's drainer (started on first use): the webhook's
    events are applied right after its answer, not at the next push."""
    global _web_drainer
    with _web_lock:
        if _web_drainer is None:
            _web_drainer = Drainer(name="webhook-drain")
    _web_drainer.wake()


def drain_stop() -> None:
    """Stops this process's drainer, if it runs (at shutdown; in tests)."""
    global _web_drainer
    with _web_lock:
        drainer, _web_drainer = _web_drainer, None
    if drainer is not None:
        drainer.stop()


class DeskFeed:
    def __init__(self, source: str = "hep") -> None:
        self.source = source
        self.stored = 0
        self.repeated = 0
        self.failed = 0
        self._queue: queue.Queue[object] = queue.Queue()
        self._held: list[str] = []  # calls another applier had: tried again soon
        self._unstored: list[CallEvent] = []  # a burst the database refused: stored again
        self._deadline = float("inf")
        self._drainer = Drainer()
        self._scorer = Scorer()
        self._appliers: _Appliers | None = None
        self._thread = threading.Thread(target=self._run, name="desk-feed", daemon=True)
        self._thread.start()

    def __call__(self, event: CallEvent) -> None:
        self._queue.put(event)

    def close(self, timeout: float = 10.0) -> None:
        """Stores and applies what is queued, then stops; a backlog still
        pending waits in the database for the next start."""
        self._deadline = time.monotonic() + timeout
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._drainer.stop(max(0.1, self._deadline - time.monotonic()))
        self._scorer.stop(max(0.1, self._deadline - time.monotonic()))

    @property
    def scored(self) -> int:
        return self._scorer.scored

    def _run(self) -> None:
        stopping = False
        try:
            self._appliers = _Appliers(appliers_for_database(), self._scorer)
            while not stopping or (self._left_over() and time.monotonic() < self._deadline):
                burst, stopping = self._take(stopping)
                if burst or self._left_over():
                    self._feed(burst)
        finally:
            if self._appliers is not None:
                self._appliers.close(max(0.1, self._deadline - time.monotonic()))
            connections.close_all()

    def _left_over(self) -> bool:
        return bool(self._held or self._unstored)

    def _take(self, stopping: bool) -> tuple[list[CallEvent], bool]:
        """What is queued: waits for the first event unless calls are held."""
        burst: list[CallEvent] = []
        waiting = self._left_over() or stopping
        try:
            item = self._queue.get(timeout=BUSY_RETRY_S) if waiting else self._queue.get()
            while item is not _STOP:
                assert isinstance(item, CallEvent)
                burst.append(item)
                if len(burst) == BURST:
                    break
                item = self._queue.get_nowait()  # the rest: what is already there
            else:
                return burst, True
        except queue.Empty:
            pass
        return burst, stopping

    def _feed(self, burst: list[CallEvent]) -> None:
        events = self._unstored + burst
        try:
            stored = pbx_events_store(source=self.source, events=events) if events else 0
        except Exception:  # a database hiccup: kept, and stored again shortly
            self._failed("stored", events)
            return
        self.stored += stored
        self.repeated += len(events) - stored
        self._unstored = []
        call_ids = list(dict.fromkeys([e.call_id[:200] for e in events] + self._held))
        assert self._appliers is not None
        try:
            done = self._appliers.apply(call_ids)
        except Exception:  # stored: applied when the database is back
            self._failed("applied", [])
            self._held = call_ids
            return
        self._held = done.busy
        if done.applied >= BURST:  # more than a burst's worth waited: the drainer takes the rest
            self._drainer.wake()

    def _failed(self, what: str, unstored: list[CallEvent]) -> None:
        logger.exception("PBX events not %s; trying again", what)
        self.failed += 1
        self._unstored = unstored
        close_old_connections()
        time.sleep(FAILED_PAUSE_S)
