"""The PBX's call events on the desk: stored raw, applied once, in capture order."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from django.test import Client

from callsop.desk.models import Call, ClubLine, PbxEvent
from callsop.desk.services import calls as svc
from callsop.desk.services.telephony import pbx_event_store, pbx_events_apply
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
    assert ok.status_code == 202 and ok.json() == {"received": 2, "stored": 2, "applied": 2}
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
