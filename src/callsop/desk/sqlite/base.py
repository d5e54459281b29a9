"""Django's SQLite backend, with the writers of one server process queued in
Python.

SQLite lets one connection write at a time. A second writer that finds the
lock taken sleeps in SQLite's busy handler, in steps that grow to 100 ms,
however soon the lock is freed, and that sleep is what a clerk would wait
for. Here each write transaction first takes a lock shared by the process's
threads, which wakes the next writer the moment the last one commits; the
busy timeout still guards against other processes."""

from __future__ import annotations

import threading
from typing import Any

from django.db.backends.sqlite3 import base

_WRITER = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writing = False

    def _start_transaction_under_autocommit(self) -> None:
        _WRITER.acquire()
        self._writing = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._done_writing()
            raise

    def _done_writing(self) -> None:
        if self._writing:
            self._writing = False
            _WRITER.release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._done_writing()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._done_writing()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._done_writing()
