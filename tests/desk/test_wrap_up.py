"""The wrap-up: right after the PBX ended a call, its own clerk still finishes
the note as part of the call (version 0, scored again in place); anyone else,
or anyone later, is refused and goes through an amendment."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

from callsop.desk.models import Amendment, Call, ClubLine, Scorecard
from callsop.desk.services import calls as svc
from callsop.desk.services.amendments import call_amend_details
from callsop.desk.services.errors import ActionError
from callsop.desk.services.telephony import pbx_event_store, pbx_events_apply
from callsop.telephony.dialogs import CallEvent
from tests.desk.conftest import World
from tests.desk.test_amendments import NOTE

LINE = "0227001234"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lines(world: World) -> None:
    ClubLine.objects.create(club=world.xinyi, number="227001234", kind="main")
    world.alice.extension = "101"
    world.alice.save()


def _ev(kind: str, at: float, **extra: str) -> CallEvent:
    fields = {"caller": "0912345678", "callee": LINE} | extra
    return CallEvent(call_id="w1@pbx", kind=kind, at=at, **fields)  # type: ignore[arg-type]


def _pbx_call(ended_ago_s: float) -> Call:
    """A call the PBX rang, had answered at alice's phone and ended (the caller
    hanging up first) `ended_ago_s` seconds ago; the note is still empty."""
    end = time.time() - ended_ago_s
    for event in (
        _ev("ringing", end - 60),
        _ev("answered", end - 56, callee="101"),
        _ev("hangup", end, by="caller"),
    ):
        pbx_event_store(source="hep", event=event)
    pbx_events_apply()
    return Call.objects.get(external_id="w1@pbx")


def _verdict(card: Scorecard, rule: str) -> str:
    return next(f["verdict"] for f in card.findings if f["rule"] == rule)


def _save(world: World, who: Any, call: Call, data: dict[str, str]) -> Any:
    return world.client(who).post(f"/calls/{call.pk}/details/", data, **HX)


def test_the_clerk_finishes_the_note_after_the_pbx_ended_the_call(
    world: World, lines: None
) -> None:
    call = _pbx_call(ended_ago_s=30)
    assert call.state == Call.State.ENDED and call.clerk == world.alice
    before = Scorecard.objects.get(call=call)
    assert _verdict(before, "note.five-w-one-h") == "fail"
    response = _save(world, world.alice, call, NOTE)
    assert response.status_code == 200, response.content.decode()
    assert response.content.decode().startswith("已儲存")
    left = int(response["X-Callsop-Wrap-Up"])
    assert 60 <= left <= 90  # 120 s after the end, 30 s of it gone
    fresh = Call.objects.get(pk=call.pk)
    assert fresh.note_what == "詢問體驗課" and fresh.note_how == "回電告知時段"
    # Part of the call as it ended: scored again in place, no amendment.
    card = Scorecard.objects.get(call=call)
    assert card.version == 0
    assert _verdict(card, "note.five-w-one-h") == "pass"
    assert card.score is not None and before.score is not None and card.score > before.score
    assert card.scored_at > before.scored_at
    assert not Amendment.objects.exists()
    # The last keystrokes a moment later, too.
    again = _save(world, world.alice, call, {**NOTE, "note_how": "回電告知週六時段"})
    assert again.status_code == 200
    assert Call.objects.get(pk=call.pk).note_how == "回電告知週六時段"


def test_another_clerk_or_the_manager_is_refused_during_the_wrap_up(
    world: World, lines: None
) -> None:
    call = _pbx_call(ended_ago_s=30)
    before = Scorecard.objects.get(call=call)
    for who in (world.dora, world.bob):
        response = _save(world, who, call, NOTE)
        assert response.status_code == 409, who.name
        assert "已鎖定" in response.content.decode() and response["X-Callsop-Refused"]
    fresh = Call.objects.get(pk=call.pk)
    assert fresh.note_what == "" and fresh.updated_at == call.updated_at
    card = Scorecard.objects.get(call=call)
    assert (card.score, card.findings, card.version) == (before.score, before.findings, 0)


def test_after_the_wrap_up_the_clerk_is_refused_and_nothing_is_stored(
    world: World, lines: None
) -> None:
    call = _pbx_call(ended_ago_s=30)
    with override_settings(CALLSOP_WRAP_UP_S=20):
        response = _save(world, world.alice, call, NOTE)
    assert response.status_code == 409
    assert "已鎖定" in response.content.decode() and "補充說明" in response.content.decode()
    assert Call.objects.get(pk=call.pk).note_what == ""
    assert Scorecard.objects.get(call=call).version == 0


def test_the_window_is_counted_from_the_end(world: World, ended_call: Any) -> None:
    call = ended_call(ago_s=60, length_s=60)  # ended just now
    end = Call.objects.get(pk=call.pk).ended_at
    assert end is not None
    svc.call_details_save(
        call=call, data={"note_what": "報名"}, staff=world.alice, now=end + timedelta(seconds=119)
    )
    assert Call.objects.get(pk=call.pk).note_what == "報名"
    with pytest.raises(ActionError, match="已鎖定"):
        svc.call_details_save(
            call=call, data={"note_what": "改"}, staff=world.alice, now=end + timedelta(seconds=121)
        )
    with pytest.raises(ActionError, match="已鎖定"):  # no clerk named: no wrap-up
        svc.call_details_save(call=call, data={"note_what": "改"}, now=end)
    assert Call.objects.get(pk=call.pk).note_what == "報名"


def test_an_amendment_closes_the_wrap_up(world: World, lines: None) -> None:
    call = _pbx_call(ended_ago_s=10)
    call_amend_details(
        call=call, staff=world.alice, data={"note_what": "詢問體驗課"}, reason="先補記事由"
    )
    response = _save(world, world.alice, call, {"note_what": "詢問月費"})
    assert response.status_code == 409
    assert Call.objects.get(pk=call.pk).note_what == "詢問體驗課"
    assert Scorecard.objects.get(call=call).version == 1


def test_the_pages_during_and_after_the_wrap_up(world: World, lines: None) -> None:
    call = _pbx_call(ended_ago_s=30)
    # The clerk's scorecard opens with the note still editable, and the countdown.
    own = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    assert "評分結果" in own and "通話後整理" in own and "整理時間剩" in own
    assert 'id="details"' in own and "data-wrap-up-left=" in own
    assert f'data-save="/calls/{call.pk}/details/"' in own
    panel = world.client(world.alice).get(f"/calls/{call.pk}/panel/", **HX)
    assert panel.status_code == 200 and "通話已結束" in panel.content.decode()
    # The manager sees the scorecard, marked as still being written.
    manager = world.client(world.bob).get(f"/calls/{call.pk}/").content.decode()
    assert "評分結果" in manager and "通話結束後整理中" in manager
    assert 'id="details"' not in manager
    with override_settings(CALLSOP_WRAP_UP_S=20):
        late = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
        gone = world.client(world.alice).get(f"/calls/{call.pk}/panel/", **HX)
        settled = world.client(world.bob).get(f"/calls/{call.pk}/").content.decode()
    assert "評分結果" in late and 'id="details"' not in late and "data-amend" in late
    assert gone.status_code == 204 and gone["HX-Redirect"] == f"/calls/{call.pk}/"
    assert "通話結束後整理中" not in settled
