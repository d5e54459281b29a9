"""The push channel: "this part of a club's desk changed", from any process
to every open desk page of that club.

`publish(club_id, topic)` is called by the use cases (a call rings, is
answered or ends; a task is made or closed; a memo, complaint or escalation
is made). It waits for the transaction to commit, then hands the hint to a
transport that reaches every server process:

- PostgreSQL: `pg_notify('callsop_push', …)`; each server process keeps ONE
  listening connection and fans out to its own streams.
- SQLite (one server process, but the PBX feed and the worker are others):
  one line appended to `<CALLSOP_DATA_DIR>/push-events.log`; each server
  process has one thread that looks at the file's size every 0.5 s and reads
  what was added. No query per open page, none per second at all. Past
  1 MiB the file is emptied; a listener that sees it shrink tells its
  streams "all".

A stream (views/push.py) subscribes with the clubs its user may read and is
handed `(club_id, topic)` pairs. When the listener itself was cut off and
may have missed hints, every stream is told "all" and its page re-fetches
everything, as it does on every (re)connect."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

TOPICS = ("ringing", "due", "inbox")
ALL = "all"  # "you may have missed something": re-fetch every part
CHANNEL = "callsop_push"
FILE_NAME = "push-events.log"
# The hints file is started anew past this size (about 30,000 hints): the
# listeners see it shrink and tell every stream "all", so none is missed.
MAX_FILE_BYTES = 1 << 20
POLL_S = 0.5
READY_WAIT_S = 2.0  # how long a new stream waits for the listener to start


@dataclass(eq=False)
class Subscriber:
    """One open stream: the clubs it may hear, and where its hints go."""

    clubs: frozenset[int]
    loop: asyncio.AbstractEventLoop | None = None
    aqueue: asyncio.Queue[tuple[str, int | None]] | None = None
    squeue: queue.Queue[tuple[str, int | None]] = field(default_factory=queue.Queue)

    def put(self, topic: str, club_id: int | None) -> None:
        if self.loop is not None and self.aqueue is not None:
            # RuntimeError: the stream's loop has closed, the stream is going away.
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.aqueue.put_nowait, (topic, club_id))
        else:
            self.squeue.put((topic, club_id))


class Hub:
    """This process's open streams and the one listener that feeds them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()  # the listener hears what is published from now on
        self.transport = ""
        self.listening = False
        self.delivered = 0

    def subscribe(
        self, clubs: Iterable[int], *, loop: asyncio.AbstractEventLoop | None = None
    ) -> Subscriber:
        sub = Subscriber(frozenset(clubs), loop=loop)
        if loop is not None:
            sub.aqueue = asyncio.Queue()
        with self._lock:
            self._subscribers.add(sub)
            if self._listener is None or not self._listener.is_alive():
                self._stop.clear()
                self._ready.clear()
                self._listener = threading.Thread(
                    target=self._listen, name="callsop-push", daemon=True
                )
                self._listener.start()
        # What is published from now on reaches this stream: the listener has
        # taken its starting point (or could not, and says so in /healthz).
        self._ready.wait(READY_WAIT_S)
        return sub

    def stop(self) -> None:
        """Ends the listener (it starts again with the next stream): for a
        process that closes its database, as a test run does at its end."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            self._stop.set()
            listener.join(timeout=5)
        self.listening = False
        self._ready.clear()

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def streams(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def deliver(self, club_id: int | None, topic: str) -> None:
        with self._lock:
            subs = list(self._subscribers)
        for sub in subs:
            if topic == ALL or club_id in sub.clubs:
                sub.put(topic, club_id)
                self.delivered += 1

    def _listen(self) -> None:
        from django.db import connection

        vendor = connection.vendor
        if vendor == "postgresql":
            self.transport = "notify"
            _listen_postgres(self)
        else:
            self.transport = "file"
            _listen_file(self, _file_path())


hub = Hub()


def _file_path() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / FILE_NAME


def _parse(line: str) -> tuple[int | None, str] | None:
    try:
        data = json.loads(line)
        club, topic = data["club"], data["topic"]
    except (ValueError, KeyError, TypeError):
        logger.warning("push: a hint that is not ours was ignored: %r", line[:80])
        return None
    if topic not in TOPICS or not (club is None or isinstance(club, int)):
        logger.warning("push: a hint for an unknown topic was ignored: %r", line[:80])
        return None
    return club, topic


def _listen_file(hub: Hub, path: Path) -> None:
    offset = path.stat().st_size if path.exists() else 0
    hub.listening = True
    hub._ready.set()
    rest = b""
    while not hub._stop.is_set():
        try:
            size = path.stat().st_size if path.exists() else 0
            if size < offset:  # the file was started anew: read it from the top
                offset, rest = 0, b""
                hub.deliver(None, ALL)
            if size > offset:
                with path.open("rb") as f:
                    f.seek(offset)
                    chunk = f.read(size - offset)
                offset += len(chunk)
                *lines, rest = (rest + chunk).split(b"\n")
                for raw in lines:
                    parsed = _parse(raw.decode("utf-8", "replace"))
                    if parsed is not None:
                        hub.deliver(*parsed)
            hub.listening = True
        except OSError as exc:
            if hub.listening:
                logger.warning("push: %s could not be read: %s", path, exc)
            hub.listening = False
        hub._stop.wait(POLL_S)


def _conninfo() -> dict[str, Any]:
    from django.db import connections

    params = dict(connections["default"].get_connection_params())
    for key in (
        "cursor_factory",
        "context",
        "prepare_threshold",
        "server_side_binding",
        "assume_role",
        "pool",
    ):
        params.pop(key, None)
    return params


def _listen_postgres(hub: Hub) -> None:
    import psycopg

    missed = False
    while not hub._stop.is_set():
        try:
            with psycopg.connect(**_conninfo(), autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                hub.listening = True
                hub._ready.set()
                if missed:
                    hub.deliver(None, ALL)
                while not hub._stop.is_set():
                    for note in conn.notifies(timeout=POLL_S):
                        parsed = _parse(note.payload)
                        if parsed is not None:
                            hub.deliver(*parsed)
        except psycopg.Error as exc:
            if hub.listening:
                logger.warning("push: the listening connection was lost: %s", exc)
            hub.listening = False
            missed = True
            hub._stop.wait(1)


def append_hints(path: Path, lines: list[str]) -> None:
    """Adds hint lines to the hints file, in one write (lines of two
    processes never interleave); past MAX_FILE_BYTES the file is emptied."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, "".join(line + "\n" for line in lines).encode())
        if os.fstat(fd).st_size > MAX_FILE_BYTES:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def _send(hints: set[tuple[int | None, str]]) -> None:
    from django.db import DatabaseError, connection

    lines = [json.dumps({"club": club, "topic": topic}) for club, topic in sorted(hints, key=str)]
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for line in lines:
                    cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, line])
        else:
            append_hints(_file_path(), lines)
    except (DatabaseError, OSError) as exc:
        # A lost hint costs a page its instant update, not its data: the
        # fallback poll and the next (re)connect still show the change.
        logger.warning("push: a hint could not be sent: %s", exc)


def publish_many(hints: Iterable[tuple[int | None, str]]) -> None:
    """Sends hints once the current transaction commits (at once outside one)."""
    wanted = set(hints)
    for _club, topic in wanted:
        if topic not in TOPICS:
            raise ValueError(f"push: unknown topic {topic!r} (one of {', '.join(TOPICS)})")
    if wanted:
        transaction.on_commit(lambda: _send(wanted))


def publish(club_id: int | None, topic: str) -> None:
    publish_many([(club_id, topic)])


def state() -> dict[str, Any]:
    """For /healthz: how this process hears the other processes' changes
    (its listener starts with the first open desk)."""
    from django.db import connection

    return {
        "transport": hub.transport or ("notify" if connection.vendor == "postgresql" else "file"),
        "listening": hub.listening,
        "streams": hub.streams(),
    }
