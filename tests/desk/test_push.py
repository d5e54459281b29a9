"""The push channel: a hint published after a commit reaches the open
streams of the clubs that may see it, through the real transport (a file
on SQLite, LISTEN/NOTIFY on PostgreSQL), and no other club's."""

from __future__ import annotations

import json
import queue
import threading
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client

from callsop.desk import push
from callsop.desk.services import calls as svc
from tests.desk.conftest import World

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_S = 5.0


def _next(sub: push.Subscriber, timeout: float = WAIT_S) -> tuple[str, int | None]:
    return sub.squeue.get(timeout=timeout)


def _none_for(sub: push.Subscriber, seconds: float = 1.5) -> None:
    with pytest.raises(queue.Empty):
        sub.squeue.get(timeout=seconds)


def test_a_hint_reaches_its_club_and_not_another(world: World) -> None:
    xinyi = push.hub.subscribe([world.xinyi.pk])
    banqiao = push.hub.subscribe([world.banqiao.pk])
    try:
        with transaction.atomic():
            push.publish(world.xinyi.pk, "ringing")
            # Nothing goes out before the commit: a rolled-back change is never pushed.
            _none_for(xinyi, 0.8)
        assert _next(xinyi) == ("ringing", world.xinyi.pk)
        _none_for(banqiao)
    finally:
        push.hub.unsubscribe(xinyi)
        push.hub.unsubscribe(banqiao)


def test_a_rolled_back_change_is_not_pushed(world: World) -> None:
    sub = push.hub.subscribe([world.xinyi.pk])
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            push.publish(world.xinyi.pk, "due")
            raise RuntimeError("the action failed")
        _none_for(sub)
    finally:
        push.hub.unsubscribe(sub)


def test_a_ringing_call_is_pushed_to_its_club(world: World) -> None:
    sub = push.hub.subscribe([world.xinyi.pk])
    other = push.hub.subscribe([world.banqiao.pk])
    try:
        call = svc.call_ring(club=world.xinyi, phone="0912345678")
        assert _next(sub) == ("ringing", world.xinyi.pk)
        svc.call_answer(call=call, clerk=world.alice)
        assert _next(sub) == ("ringing", world.xinyi.pk)
        _none_for(other, 0.5)
    finally:
        push.hub.unsubscribe(sub)
        push.hub.unsubscribe(other)


def test_an_unknown_topic_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown topic 'ringin'"):
        push.publish(1, "ringin")


def _hello(client: Client) -> tuple[dict[str, object], object]:
    response = client.get("/desk/push/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert "no-cache" in response["Cache-Control"]
    chunks = iter(response.streaming_content)
    first = next(chunks)
    text = first.decode() if isinstance(first, bytes) else str(first)
    assert text.startswith("retry: ")
    data = text.split("data: ", 1)[1].strip()
    return json.loads(data), (response, chunks)


def test_the_stream_opens_with_the_clubs_the_user_may_see(world: World) -> None:
    alice, kept = _hello(world.client(world.alice))
    assert alice == {"clubs": [world.xinyi.pk]}
    kept[0].close()
    hq, kept = _hello(world.client(world.hq))
    assert hq == {"clubs": sorted([world.xinyi.pk, world.banqiao.pk])}
    response, chunks = kept
    svc.call_ring(club=world.banqiao, phone="0912345678")
    event = next(chunks)
    text = event.decode() if isinstance(event, bytes) else str(event)
    assert text.startswith("event: ringing\n")
    assert json.loads(text.split("data: ", 1)[1]) == {"club": world.banqiao.pk, "topic": "ringing"}
    response.close()


def test_the_stream_is_refused_without_a_log_in(world: World) -> None:
    assert Client().get("/desk/push/").status_code in (302, 403)


def test_the_hints_file_is_started_anew_and_its_readers_hear_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's transport, whatever database this run uses: the file stays
    small, and a listener that finds it emptied tells every stream "all"."""
    monkeypatch.setattr(push, "MAX_FILE_BYTES", 400)
    path = tmp_path / push.FILE_NAME
    hub = push.Hub()
    listener = threading.Thread(target=push._listen_file, args=(hub, path), daemon=True)
    listener.start()
    sub = push.Subscriber(frozenset([7]))
    hub._subscribers.add(sub)
    hint = json.dumps({"club": 7, "topic": "due"})
    try:
        assert hub._ready.wait(WAIT_S)
        push.append_hints(path, [hint] * 10)  # 280 bytes: kept
        for _ in range(10):
            assert _next(sub) == ("due", 7)
        push.append_hints(path, [hint] * 5)  # past 400 bytes: emptied
        assert path.stat().st_size == 0
        assert _next(sub) == ("all", None)
        push.append_hints(path, [hint])  # and read from the top again
        assert _next(sub) == ("due", 7)
    finally:
        hub._stop.set()
        listener.join(timeout=5)
