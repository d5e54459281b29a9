"""The PBX's events into the desk, off the collector's loop and the request.

The collector must never wait on a database, so events go through a queue
to a thread that stores each burst in a few inserts and at once applies the
calls in it: a call that is ringing is on the desk within milliseconds,
whatever waits behind it. A second thread drains what is left (a backlog
stored while the desk was down, a webhook's big batch, calls another
applier held) without waiting for new events; `Drainer` is that thread on
its own, for the web server's webhook."""

from __future__ import annotations

import logging
import queue
import threading
import time

from django.db import close_old_connections, connections

from callsop.desk.services.telephony import pbx_calls_apply, pbx_events_apply, pbx_events_store
from callsop.telephony.dialogs import CallEvent

logger = logging.getLogger(__name__)

_STOP = object()
BURST = 2000  # events one store takes from the queue
BUSY_RETRY_S = 0.05  # how soon a call another applier held is tried again
IDLE_CHECK_S = 5.0  # how often an idle drainer looks for events others stored
FAILED_PAUSE_S = 0.5  # after a database error, before trying again


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

    def _run(self) -> None:
        stopping = False
        while not stopping or (self._left_over() and time.monotonic() < self._deadline):
            burst, stopping = self._take(stopping)
            if burst or self._left_over():
                self._feed(burst)
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
        try:
            done = pbx_calls_apply(call_ids=call_ids, limit=BURST)
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
