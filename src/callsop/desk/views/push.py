"""`/desk/push/`: one Server-Sent Events stream per open desk page.

The first message after every (re)connect is `hello`: the page then
re-fetches what it shows, so nothing that changed while it was away is
missed. Then one event per hint (`ringing`, `due`, `inbox`, or `all`), only
for the clubs the user may read, and a comment every KEEPALIVE_S seconds
so proxies keep the connection open (comments are not requests).

Under ASGI (`callsop serve`) a stream is a coroutine and costs no thread;
under a WSGI server (the test live server) it holds one thread."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from callsop.desk import push
from callsop.desk.services.access import clubs_readable, staff_of

KEEPALIVE_S = 20.0
RETRY_MS = 3000


def _event(topic: str, club_id: int | None) -> str:
    return f"event: {topic}\ndata: {json.dumps({'club': club_id, 'topic': topic})}\n\n"


def _hello(clubs: frozenset[int]) -> str:
    return f"retry: {RETRY_MS}\nevent: hello\ndata: {json.dumps({'clubs': sorted(clubs)})}\n\n"


async def _async_stream(sub: push.Subscriber) -> AsyncIterator[str]:
    assert sub.aqueue is not None
    try:
        yield _hello(sub.clubs)
        while True:
            try:
                topic, club_id = await asyncio.wait_for(sub.aqueue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield _event(topic, club_id)
    finally:
        push.hub.unsubscribe(sub)


def _sync_stream(sub: push.Subscriber) -> Iterator[str]:
    try:
        yield _hello(sub.clubs)
        while True:
            try:
                topic, club_id = sub.squeue.get(timeout=KEEPALIVE_S)
            except queue.Empty:
                yield ": keep-alive\n\n"
                continue
            yield _event(topic, club_id)
    finally:
        push.hub.unsubscribe(sub)


# Streams opened at once that may hold a database connection: a chain's
# desks all reconnect together after a restart, and one connection each
# would be more than the database allows (PostgreSQL: 100 by default).
STREAM_OPENINGS = 4
_opening = threading.BoundedSemaphore(STREAM_OPENINGS)


def _clubs(request: HttpRequest) -> frozenset[int]:
    """The clubs the stream's user may hear, read a few streams at a time.
    Then the request's database connection goes back: a stream stays open
    for hours, and one connection held per open desk would soon be all the
    database has."""
    with _opening:
        try:
            return frozenset(clubs_readable(staff_of(request.user)).values_list("pk", flat=True))
        finally:
            connections.close_all()


@never_cache
@require_safe
async def stream(request: HttpRequest) -> StreamingHttpResponse:
    # In the request's own thread: the session, the user and their clubs.
    clubs = await sync_to_async(_clubs)(request)
    response: StreamingHttpResponse
    if isinstance(request, ASGIRequest):
        sub = push.hub.subscribe(clubs, loop=asyncio.get_running_loop())
        response = StreamingHttpResponse(_async_stream(sub), content_type="text/event-stream")
    else:
        sub = push.hub.subscribe(clubs)
        response = StreamingHttpResponse(_sync_stream(sub), content_type="text/event-stream")
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
