"""The PBX's call events on the desk: stored raw, applied once, in capture order."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from callsop.desk import worker
from callsop.desk.feed import DeskFeed, drain_stop
from callsop.desk.models import Call, ClubLine, PbxEvent, Scorecard
from callsop.desk.models.telephony import PbxApplyClaim
from callsop.desk.services import calls as svc
from callsop.desk.services import jobs
from callsop.desk.services.telephony import pbx_event_store, pbx_events_apply, pbx_events_store
from callsop.telephony import webhook
from callsop.telephony.dialogs import CallEvent
from tests.desk.conftest import World

LINE = "0227001234"


@pytest.fixture
def lines(world: World) -> None:
    ClubLine.objects.create(club=world.xinyi, number="227001234", kind="main")
    ClubLine.objects.create(club=world.xinyi, number="227005678", kind="consult")
    world.alice.extension = "101"
    world.alice.save()


def _ev(kind: str, at: float, **extra: str) -> CallEvent:
    fields = {"caller": "0912345678", "callee": LINE} | extra
    return CallEvent(call_id="c1@pbx", kind=kind, at=at, **fields)  # type: ignore[arg-type]


def _feed(*events: CallEvent) -> int:
    for event in events:
        pbx_event_store(source="hep", event=event)
    return pbx_events_apply()


def test_a_pbx_call_rings_is_answered_held_and_scored(
    world: World, lines: None, t0: datetime
) -> None:
    s = t0.timestamp()
    _feed(_ev("offered", s), _ev("ringing", s + 0.1))
    call = Call.objects.get()
    assert (call.state, call.source, call.caller_phone, call.club) == (
        "ringing",
        "pbx",
        "0912345678",
        world.xinyi,
    )
    _feed(
        _ev("answered", s + 10, callee="101"),
        _ev("hold", s + 20, by="callee"),
        _ev("resume", s + 95, by="callee"),
        _ev("hangup", s + 120, by="caller"),
    )
    call.refresh_from_db()
    assert call.clerk == world.alice and call.rings == 4
    assert call.hold_total_s == pytest.approx(75)
    assert [e.type for e in call.events.all()] == [
        "ringing",
        "answered",
        "hold",
        "resume",
        "hangup",
    ]
    assert call.events.get(type="hangup").by == "customer"
    verdicts = {f["rule"]: f["verdict"] for f in call.scorecard.findings}
    assert verdicts["inbound.answer-promptly"] == "fail"
    assert verdicts["hold.max-duration"] == "fail"
    assert verdicts["close.customer-hangs-up-first"] == "pass"
    assert PbxEvent.objects.filter(processed_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)  # the worker's heartbeat runs on a thread of its own
def test_with_a_worker_running_a_call_the_pbx_ends_is_graded_by_its_job(
    world: World, lines: None, t0: datetime
) -> None:
    jobs.worker_beat("worker-beside-the-feed")
    s = t0.timestamp()
    _feed(
        _ev("offered", s), _ev("answered", s + 5, callee="101"), _ev("hangup", s + 40, by="caller")
    )
    call = Call.objects.get()
    assert call.state == Call.State.ENDED
    # The feed's process spent nothing on grading: the job waits for the worker.
    assert not Scorecard.objects.filter(call=call).exists()
    queued = DBTaskResult.objects.ready().get()
    assert queued.task_path.endswith(".score_call")
    assert queued.args_kwargs["kwargs"]["call_id"] == call.pk
    assert queued.args_kwargs["kwargs"]["club_id"] == world.xinyi.pk

    worker.drain()
    verdicts = {f["rule"]: f["verdict"] for f in Scorecard.objects.get(call=call).findings}
    assert verdicts["close.customer-hangs-up-first"] == "pass"
    assert verdicts["inbound.answer-promptly"] == "pass"


def test_repeats_are_stored_once_and_change_nothing(
    world: World, lines: None, t0: datetime
) -> None:
    s = t0.timestamp()
    ring = _ev("ringing", s)
    assert pbx_event_store(source="hep", event=ring) is not None
    assert pbx_event_store(source="hep", event=ring) is None
    _feed(_ev("answered", s + 4), _ev("answered", s + 4), _ev("hangup", s + 30, by="caller"))
    _feed(_ev("hangup", s + 30, by="caller"), _ev("hangup", s + 31, by="callee"))
    call = Call.objects.get()
    assert [e.type for e in call.events.all()] == ["ringing", "answered", "hangup"]
    assert PbxEvent.objects.count() == 4
    assert PbxEvent.objects.get(kind="hangup", by="callee").outcome == "ignored: the call has ended"


def test_events_arriving_out_of_order_apply_in_capture_order(
    world: World, lines: None, t0: datetime
) -> None:
    s = t0.timestamp()
    for event in (_ev("hangup", s + 60, by="callee"), _ev("answered", s + 5), _ev("ringing", s)):
        pbx_event_store(source="webhook", event=event)
    pbx_events_apply()
    call = Call.objects.get()
    assert [e.type for e in call.events.all()] == ["ringing", "answered", "hangup"]
    assert call.events.get(type="hangup").by == "staff"
    # An event older than what the call shows, arriving late, changes nothing.
    _feed(_ev("hold", s + 30, by="callee"))
    assert call.events.count() == 3


def test_the_line_decides_the_club_and_the_kind(world: World, lines: None, t0: datetime) -> None:
    s = t0.timestamp()
    _feed(CallEvent("c2", "ringing", s, "0933", "02-2700-5678"))
    assert Call.objects.get(external_id="c2").line == "consult"
    _feed(CallEvent("c3", "ringing", s, "0933", "0288889999"))
    assert not Call.objects.filter(external_id="c3").exists()
    assert "no club's line" in PbxEvent.objects.get(call_id="c3").outcome
    _feed(CallEvent("c4", "hangup", s, "0933", LINE, by="caller"))
    assert "never saw ring" in PbxEvent.objects.get(call_id="c4").outcome


def test_a_missed_call_is_cancelled_by_the_caller(world: World, lines: None, t0: datetime) -> None:
    s = t0.timestamp()
    _feed(_ev("ringing", s), _ev("cancelled", s + 25))
    call = Call.objects.get()
    assert call.outcome == Call.Outcome.MISSED and call.answered_at is None


def test_an_answer_at_an_unknown_phone_is_claimed_on_the_desk(
    world: World, lines: None, t0: datetime
) -> None:
    s = t0.timestamp()
    _feed(_ev("ringing", s), _ev("answered", s + 3, callee="199"))
    call = Call.objects.get()
    assert call.state == "talking" and call.clerk is None
    assert "尚未認領" in world.client(world.bob).get("/desk/ringing/").content.decode()
    assert "尚未認領" not in world.client(world.charlie).get("/desk/ringing/").content.decode()
    world.client(world.alice).post(
        f"/calls/{call.pk}/claim/", {"from": "desk"}, HTTP_HX_REQUEST="true"
    )
    call.refresh_from_db()
    assert call.clerk == world.alice
    with pytest.raises(Exception, match="接聽"):
        svc.call_claim(call=call, clerk=world.bob)


def _signed(body: bytes, secret: bytes, at: float | None = None) -> dict[str, str]:
    return {"HTTP_X_CALLSOP_SIGNATURE": webhook.sign(body, secret, at or time.time())}


def test_the_webhook_takes_signed_pushes_only(
    world: World, lines: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    now = time.time()
    body = json.dumps(
        {
            "events": [
                {
                    "call_id": "w1",
                    "kind": "ringing",
                    "at": now - 5,
                    "caller": "0912",
                    "callee": LINE,
                },
                {
                    "call_id": "w1",
                    "kind": "answered",
                    "at": now - 2,
                    "caller": "0912",
                    "callee": "101",
                },
            ]
        }
    ).encode()
    monkeypatch.delenv("CALLSOP_WEBHOOK_SECRET", raising=False)
    assert (
        client.post("/telephony/webhook/", body, content_type="application/json").status_code == 503
    )
    monkeypatch.setenv("CALLSOP_WEBHOOK_SECRET", "s3cret")
    unsigned = client.post("/telephony/webhook/", body, content_type="application/json")
    assert unsigned.status_code == 401
    wrong = client.post(
        "/telephony/webhook/", body, content_type="application/json", **_signed(body, b"other")
    )
    assert wrong.status_code == 401
    stale = client.post(
        "/telephony/webhook/",
        body,
        content_type="application/json",
        **_signed(body, b"s3cret", now - 3600),
    )
    assert stale.status_code == 401 and "window" in stale.json()["error"]
    assert not PbxEvent.objects.exists()
    headers = _signed(body, b"s3cret")
    ok = client.post("/telephony/webhook/", body, content_type="application/json", **headers)
    assert ok.status_code == 202
    assert ok.json() == {"received": 2, "stored": 2, "applied": 2, "pending": 0}
    call = Call.objects.get(external_id="w1")
    assert call.clerk == world.alice and call.state == "talking"
    replay = client.post("/telephony/webhook/", body, content_type="application/json", **headers)
    assert replay.status_code == 401 and "replay" in replay.json()["error"]
    bad = b'{"call_id": "w2", "kind": "exploded", "at": 1}'
    refused = client.post(
        "/telephony/webhook/", bad, content_type="application/json", **_signed(bad, b"s3cret")
    )
    assert refused.status_code == 400 and "kind" in refused.json()["error"]
    assert PbxEvent.objects.filter(call_id="w1").first().payload["callee"] == LINE


def test_the_phone_that_answers_the_line_names_the_clerk(
    world: World, lines: None, t0: datetime
) -> None:
    s = t0.timestamp()
    _feed(_ev("ringing", s), _ev("answered", s + 5, target="101-0x556767655b70"))
    call = Call.objects.get()
    assert call.clerk == world.alice and call.line == "main"


def test_an_event_the_desk_cannot_take_does_not_hold_up_the_rest(
    world: World, lines: None, t0: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callsop.desk.services import telephony

    s = t0.timestamp()
    real = telephony._first_event

    def broken_for_c9(row: PbxEvent) -> str:
        if row.call_id == "c9":
            raise ValueError("a PBX quirk")
        return real(row)

    monkeypatch.setattr(telephony, "_first_event", broken_for_c9)
    pbx_event_store(source="hep", event=CallEvent("c9", "ringing", s, "0933", LINE))
    pbx_event_store(source="hep", event=_ev("ringing", s + 1))
    assert pbx_events_apply() == 2
    assert PbxEvent.objects.get(call_id="c9").outcome.startswith("error: ValueError")
    assert Call.objects.get().external_id == "c1@pbx"


# Fair and fast: the feed's threads and the webhook's drain, on a real database.

BACKLOG = 10_000


def _strangers(n: int, at: float) -> list[CallEvent]:
    """Offers of calls to numbers no club has: a burst of bogus INVITEs."""
    return [
        CallEvent(f"spam-{i}", "offered", at + i / 1000, "0900000000", f"0288{i:06d}")
        for i in range(n)
    ]


def _wait_for(check: Callable[[], object], seconds: float = 5.0) -> float:
    """How long until `check` holds; fails after `seconds`."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > seconds:
            raise AssertionError(f"not so within {seconds} s")
        time.sleep(0.01)
    return time.monotonic() - began


def _pending() -> int:
    return PbxEvent.objects.filter(processed_at__isnull=True).count()


@pytest.fixture
def feed() -> Iterator[DeskFeed]:
    running = DeskFeed()
    yield running
    running.close()


@pytest.mark.django_db(transaction=True)
def test_a_live_call_rings_through_a_backlog_of_strangers(
    world: World, lines: None, feed: DeskFeed
) -> None:
    s = time.time()
    assert pbx_events_store(source="hep", events=_strangers(BACKLOG, s - 60)) == BACKLOG
    feed(_ev("offered", s))
    rang_in = _wait_for(lambda: Call.objects.filter(external_id="c1@pbx").exists())
    assert rang_in < 1.0
    assert Call.objects.get().state == "ringing"
    _wait_for(lambda: _pending() == 0, seconds=60)  # no new event arrives meanwhile
    live = PbxEvent.objects.get(call_id="c1@pbx")
    last_stranger = PbxEvent.objects.exclude(call_id="c1@pbx").latest("processed_at")
    assert live.processed_at is not None and last_stranger.processed_at is not None
    assert live.processed_at < last_stranger.processed_at  # the live call did not wait
    assert "no club's line" in last_stranger.outcome
    assert feed.stored == 1 and feed.repeated == 0


@pytest.mark.django_db(transaction=True)
def test_a_call_another_applier_holds_is_applied_when_it_lets_go(
    world: World, lines: None, feed: DeskFeed
) -> None:
    s = time.time()
    claim = PbxApplyClaim.objects.create(
        call_id="c1@pbx", holder="another", taken_at=timezone.now()
    )
    feed(_ev("offered", s))
    _wait_for(lambda: PbxEvent.objects.filter(call_id="c1@pbx").exists())
    assert not Call.objects.exists()  # the other applier has the call
    claim.delete()
    _wait_for(lambda: Call.objects.filter(external_id="c1@pbx").exists())
    # A claim left by an applier that stopped is taken over once stale.
    _wait_for(lambda: not PbxApplyClaim.objects.exists())  # the feed let go of it
    PbxApplyClaim.objects.create(
        call_id="c1@pbx", holder="stopped", taken_at=timezone.now() - timedelta(minutes=5)
    )
    feed(_ev("answered", s + 2, callee="101"))
    _wait_for(lambda: Call.objects.filter(state="talking").exists())
    _wait_for(lambda: not PbxApplyClaim.objects.exists())  # and let go of it in turn


@pytest.mark.django_db(transaction=True)
def test_one_call_keeps_capture_order_between_the_backlog_and_the_feed(
    world: World, lines: None, feed: DeskFeed
) -> None:
    s = time.time()
    pbx_events_store(source="hep", events=_strangers(2000, s - 60))
    pbx_events_store(source="hep", events=[_ev("ringing", s), _ev("answered", s + 3, callee="101")])
    feed(_ev("hold", s + 5, by="callee"))
    feed(_ev("resume", s + 9, by="callee"))
    feed(_ev("hangup", s + 12, by="caller"))
    _wait_for(lambda: Call.objects.filter(state="ended").exists())
    call = Call.objects.get()
    assert [e.type for e in call.events.all()] == [
        "ringing",
        "answered",
        "hold",
        "resume",
        "hangup",
    ]
    assert call.clerk == world.alice and call.hold_total_s == pytest.approx(4)


@pytest.mark.django_db(transaction=True)
def test_an_event_that_raises_in_the_feed_holds_up_no_other(
    world: World, lines: None, feed: DeskFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callsop.desk.services import telephony

    real = telephony._first_event

    def broken_for_c9(row: PbxEvent) -> str:
        if row.call_id == "c9":
            raise ValueError("a PBX quirk")
        return real(row)

    monkeypatch.setattr(telephony, "_first_event", broken_for_c9)
    s = time.time()
    feed(CallEvent("c9", "offered", s, "0933", LINE))
    feed(CallEvent("c9", "answered", s + 1, "0933", LINE))
    feed(_ev("offered", s + 0.5))
    feed(_ev("answered", s + 2, callee="101"))
    _wait_for(lambda: PbxEvent.objects.filter(processed_at__isnull=False).count() == 4)
    assert Call.objects.get().state == "talking"
    outcomes = list(PbxEvent.objects.filter(call_id="c9").values_list("outcome", flat=True))
    assert all(o.startswith("error: ValueError('a PBX quirk')") for o in outcomes)


def test_repeats_in_a_burst_are_stored_once(world: World, lines: None, t0: datetime) -> None:
    s = t0.timestamp()
    ring, answer = _ev("ringing", s), _ev("answered", s + 4)
    assert pbx_events_store(source="hep", events=[ring, ring, answer]) == 2
    assert pbx_events_store(source="hep", events=[answer, _ev("hangup", s + 9, by="caller")]) == 1
    assert pbx_events_store(source="ami", events=[ring]) == 1  # another source is another event
    assert PbxEvent.objects.count() == 4
    assert pbx_events_apply() == 4
    call = Call.objects.get()
    assert [e.type for e in call.events.all()] == ["ringing", "answered", "hangup"]


def test_a_transfer_applied_again_is_one_transfer(world: World, lines: None, t0: datetime) -> None:
    s = t0.timestamp()
    _feed(_ev("ringing", s), _ev("answered", s + 3, callee="101"))
    _feed(_ev("transfer", s + 8, by="callee", target="101"))
    PbxEvent.objects.filter(kind="transfer").update(processed_at=None)  # stopped before marking
    assert pbx_events_apply() == 1
    assert PbxEvent.objects.get(kind="transfer").outcome == "ignored: already transferred"
    assert Call.objects.get().events.filter(type="transfer").count() == 1


@pytest.fixture
def webhook_drain() -> Iterator[None]:
    yield
    drain_stop()  # the process's drainer holds no connection past the test


@pytest.mark.django_db(transaction=True)
def test_a_big_webhook_push_is_answered_at_once_and_applied_after(
    world: World, lines: None, monkeypatch: pytest.MonkeyPatch, webhook_drain: None
) -> None:
    monkeypatch.setenv("CALLSOP_WEBHOOK_SECRET", "s3cret")
    now = time.time()
    pushed = [
        {"call_id": e.call_id, "kind": e.kind, "at": e.at, "caller": e.caller, "callee": e.callee}
        for e in _strangers(BACKLOG - 2, now - 30)
    ]
    pushed += [
        {"call_id": "w1", "kind": "ringing", "at": now - 2, "caller": "0912", "callee": LINE},
        {"call_id": "w1", "kind": "answered", "at": now - 1, "caller": "0912", "callee": "101"},
    ]
    body = json.dumps({"events": pushed}).encode()
    answer = Client().post(
        "/telephony/webhook/", body, content_type="application/json", **_signed(body, b"s3cret")
    )
    assert answer.status_code == 202
    told = answer.json()
    assert (told["received"], told["stored"], told["applied"]) == (BACKLOG, BACKLOG, 0)
    assert 0 < told["pending"] <= BACKLOG
    # No other push comes: the drain applies them all, the ringing call first.
    _wait_for(lambda: Call.objects.filter(external_id="w1", state="talking").exists(), seconds=5)
    _wait_for(lambda: _pending() == 0, seconds=60)
    answered = PbxEvent.objects.get(call_id="w1", kind="answered")
    last = PbxEvent.objects.latest("processed_at")
    assert answered.processed_at is not None and last.processed_at is not None
    assert answered.processed_at < last.processed_at
    assert Call.objects.get().clerk == world.alice


ENDINGS = 20
SLOW_SCORE_S = 0.2  # each ended call's scoring, made slow: 20 of them take 4 s


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_endings_does_not_hold_up_a_ringing_call(
    world: World, lines: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callsop.desk.models import Scorecard
    from callsop.desk.services import telephony

    real = telephony.call_rescore

    def slow_rescore(**kwargs: object) -> object:
        time.sleep(SLOW_SCORE_S)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(telephony, "call_rescore", slow_rescore)
    feed = DeskFeed()
    try:
        s = time.time() - 30
        for i in range(ENDINGS):
            feed(CallEvent(f"e{i}", "ringing", s + i / 100, f"0911{i:06d}", LINE))
            feed(CallEvent(f"e{i}", "answered", s + 5 + i / 100, f"0911{i:06d}", "101"))
        _wait_for(lambda: Call.objects.filter(state="talking").count() == ENDINGS)
        for i in range(ENDINGS):
            feed(CallEvent(f"e{i}", "hangup", s + 20 + i / 100, f"0911{i:06d}", LINE, by="caller"))
        feed(_ev("ringing", time.time()))  # in the same burst as the endings, or the next
        rang_in = _wait_for(lambda: Call.objects.filter(external_id="c1@pbx").exists())
        scored_when_it_rang = Scorecard.objects.count()
        assert rang_in < ENDINGS * SLOW_SCORE_S / 2  # not behind the scoring of the endings
        assert scored_when_it_rang < ENDINGS  # the endings were still being scored
        _wait_for(lambda: Scorecard.objects.count() == ENDINGS, seconds=30)
        assert Call.objects.filter(state="ended").count() == ENDINGS
    finally:
        feed.close()
    assert feed.scored == ENDINGS
    call = Call.objects.get(external_id="e0")
    assert call.scorecard.findings  # scored in full, after its events
    assert Call.objects.get(external_id="c1@pbx").state == "ringing"


@pytest.mark.django_db(transaction=True)
def test_each_call_keeps_capture_order_under_parallel_appliers(
    world: World, lines: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    from callsop.desk import feed as feed_module

    monkeypatch.setattr(feed_module, "appliers_for_database", lambda: 4)
    steps = [
        ("ringing", 0.0, {}),
        ("answered", 3.0, {"callee": "101"}),
        ("hold", 5.0, {"by": "callee"}),
        ("resume", 9.0, {"by": "callee"}),
        ("hangup", 12.0, {"by": "caller"}),
    ]
    s = time.time() - 60
    calls = [f"p{i}" for i in range(24)]
    # Each call's events fed latest first, the calls interleaved: the order
    # they arrive in is no help to any applier.
    arriving = [
        CallEvent(
            c,
            kind,  # type: ignore[arg-type]
            s + at + n / 10,
            **({"caller": f"0922{n:06d}", "callee": LINE} | extra),
        )
        for kind, at, extra in reversed(steps)
        for n, c in enumerate(calls)
    ]
    random.Random(7).shuffle(arriving)
    # Another applier holds every call until all the events are stored: the
    # feed may take what arrives in several bursts, and an event not stored
    # yet is one no applier can put in order.
    held = timezone.now()
    PbxApplyClaim.objects.bulk_create(
        [PbxApplyClaim(call_id=c, holder="elsewhere", taken_at=held) for c in calls]
    )
    feed = DeskFeed()
    try:
        pbx_events_store(source="hep", events=arriving[: len(arriving) // 2])
        for event in arriving[len(arriving) // 2 :]:
            feed(event)
        _wait_for(lambda: PbxEvent.objects.count() == len(arriving), seconds=30)
        assert not Call.objects.exists()  # held: nothing applied out of order
        PbxApplyClaim.objects.filter(holder="elsewhere").delete()
        _wait_for(lambda: Call.objects.filter(state="ended").count() == len(calls), seconds=30)
    finally:
        feed.close()
    for call in Call.objects.all():
        assert [e.type for e in call.events.all()] == [k for k, _, _ in steps], call.external_id
        assert call.hold_total_s == pytest.approx(4)
    assert not PbxApplyClaim.objects.exists()
