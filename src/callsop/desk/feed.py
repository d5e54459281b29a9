"""The collector's events into the desk, off the collector's loop.

The collector must never wait on a database, so events go through a queue
to one thread that stores each raw and applies what is pending."""

from __future__ import annotations

import queue
import threading

from django.db import close_old_connections

from callsop.desk.services.telephony import pbx_event_store, pbx_events_apply
from callsop.telephony.dialogs import CallEvent

_STOP = object()


class DeskFeed:
    def __init__(self, source: str = "hep") -> None:
        self.source = source
        self.stored = 0
        self.repeated = 0
        self.failed = 0
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="desk-feed", daemon=True)
        self._thread.start()

    def __call__(self, event: CallEvent) -> None:
        self._queue.put(event)

    def close(self, timeout: float = 10.0) -> None:
        """Applies what is queued, then stops."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            while not self._queue.empty():  # store a burst, then apply it at once
                more = self._queue.get()
                if more is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.append(more)
            try:
                for event in batch:
                    assert isinstance(event, CallEvent)
                    if pbx_event_store(source=self.source, event=event) is None:
                        self.repeated += 1
                    else:
                        self.stored += 1
                pbx_events_apply()
            except Exception:  # a database hiccup: the stored events are applied next time
                self.failed += 1
                close_old_connections()
        close_old_connections()
