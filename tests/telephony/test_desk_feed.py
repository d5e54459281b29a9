"""Real SIP calls through Kamailio onto the desk: the collector's events are
stored and applied by the desk's feed, the call appears on the club's desk,
and its scorecard uses the measured times.

The club's policy shrinks time tenfold, as in test_real_sip."""

from __future__ import annotations

import time
from typing import Any

import pytest

from callsop.desk.feed import DeskFeed
from callsop.desk.models import Call, Chain, Club, PbxEvent, Staff
from callsop.desk.services.calls import call_transfer
from callsop.desk.services.policy import club_policy_save
from callsop.telephony.dialogs import CallEvent
from tests.telephony import sip_lab
from tests.telephony.sip_lab import Lab

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk_clerk(django_user_model: Any) -> Staff:
    chain = Chain.objects.create(name="康活健身會館")
    club = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    club_policy_save(club=club, text="[timing]\nring_period_s = 0.3\nmax_hold_s = 6\n")
    user = django_user_model.objects.create_user(username="alice", password="x")
    # The lab's desk phone is extension 201.
    return Staff.objects.create(user=user, chain=chain, club=club, name="陳怡君", extension="201")


def _events(lab_events: list[dict[str, Any]]) -> list[CallEvent]:
    return [CallEvent(**{k: v for k, v in e.items() if k != "emitted_at"}) for e in lab_events]


def _wait_for(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("not on the desk in time")


def test_a_held_call_reaches_the_desk_and_is_scored(lab: Lab, desk_clerk: Staff) -> None:
    events = _events(
        lab.call(
            sip_lab.CUSTOMER_IS_HELD,
            sip_lab.DESK_HOLDS,
            ring_ms=300,
            before_hold_ms=300,
            hold_ms=7000,
            talk_ms=300,
        )
    )
    feed = DeskFeed()
    try:
        fed_at = time.monotonic()
        feed(events[0])
        call = _wait_for(lambda: Call.objects.filter(source="pbx").first())
        popped_up_in = time.monotonic() - fed_at
        assert call.state == "ringing" and call.club == desk_clerk.club
        for event in events[1:]:
            feed(event)
            feed(event)  # a second capture point: the same event again
        _wait_for(lambda: Call.objects.filter(pk=call.pk, state="ended").exists())
    finally:
        feed.close()
    assert popped_up_in < 1.0
    call.refresh_from_db()
    assert call.clerk == desk_clerk
    assert [e.type for e in call.events.all()] == [
        "ringing",
        "answered",
        "hold",
        "resume",
        "hangup",
    ]
    assert 6.5 < call.hold_total_s < 9
    verdicts = {f["rule"]: f["verdict"] for f in call.scorecard.findings}
    assert verdicts["hold.max-duration"] == "fail"  # 7 s > the lab's 6 s
    # In this scenario the desk phone sends the BYE.
    assert call.events.get(type="hangup").by == "staff"
    assert verdicts["close.customer-hangs-up-first"] == "fail"
    assert PbxEvent.objects.count() == len(events)
    assert feed.repeated == len(events) - 1


def test_a_call_nobody_answers_is_missed_on_the_desk(lab: Lab, desk_clerk: Staff) -> None:
    events = _events(
        lab.call(sip_lab.CUSTOMER_GIVES_UP, sip_lab.DESK_IS_CANCELLED, give_up_ms=1500)
    )
    feed = DeskFeed()
    for event in events:
        feed(event)
    feed.close()
    call = Call.objects.get(source="pbx")
    assert call.outcome == Call.Outcome.MISSED and call.answered_at is None
    assert call.events.get(type="hangup").by == "customer"
    finding = next(f for f in call.scorecard.findings if f["rule"] == "inbound.answer-promptly")
    assert (finding["verdict"], finding["message"]) == ("na", "call never answered")
    assert 4.5 < (call.ended_at - call.started_at).total_seconds() / 0.3 < 5.5  # five rings


@pytest.mark.parametrize("briefed", [True, False], ids=["briefed-on-the-desk", "on-the-phone-only"])
def test_a_transfer_with_and_without_a_briefing(
    lab: Lab, desk_clerk: Staff, django_user_model: Any, briefed: bool
) -> None:
    user = django_user_model.objects.create_user(username="bob", password="x")
    colleague = Staff.objects.create(
        user=user, chain=desk_clerk.chain, club=desk_clerk.club, name="王淑芬", extension="205"
    )
    events = _events(
        lab.call(sip_lab.CUSTOMER_IS_TRANSFERRED, sip_lab.DESK_TRANSFERS, ring_ms=300, talk_ms=300)
    )
    before = [e for e in events if e.kind in ("offered", "ringing", "answered")]
    after = [e for e in events if e not in before]
    feed = DeskFeed()
    for event in before:
        feed(event)
    _wait_for(lambda: Call.objects.filter(source="pbx", state="talking").exists())
    if briefed:  # the clerk writes the briefing on the desk and transfers there
        call = Call.objects.get(source="pbx")
        call_transfer(call=call, to=colleague, summary="會員想改約週六的私人教練課")
    for event in after:
        feed(event)
    feed.close()
    call = Call.objects.get(source="pbx")
    transfer = call.events.get(type="transfer")
    assert transfer.to == colleague
    assert call.outcome == Call.Outcome.TRANSFERRED
    finding = next(f for f in call.scorecard.findings if f["rule"] == "inbound.warm-transfer")
    assert finding["verdict"] == ("pass" if briefed else "fail"), finding["message"]
