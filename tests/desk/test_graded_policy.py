"""A call keeps the policy it was graded with: a later change of the club's
policy does not move its grade when it is scored again for another reason,
and its scorecard quotes the thresholds it was graded by."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from callsop.desk.models import Call, Scorecard
from callsop.desk.services import calls as svc
from callsop.desk.services.amendments import call_amend_details
from callsop.desk.services.policy import club_policy_save
from tests.desk.conftest import World


def _held_45_s(world: World) -> Call:
    start = timezone.now() - timedelta(minutes=10)
    call = svc.call_ring(club=world.xinyi, phone="0912-345-678", now=start)
    svc.call_answer(call=call, clerk=world.alice, now=start + timedelta(seconds=4))
    svc.call_hold(call=call, now=start + timedelta(seconds=20))
    svc.call_resume(call=call, now=start + timedelta(seconds=65))  # 45 s on hold
    svc.call_end(call=call, by="customer", now=start + timedelta(seconds=90))
    return call


def _hold_verdict(call: Call) -> str:
    card = Scorecard.objects.get(call=call)
    return next(f["verdict"] for f in card.findings if f["rule"] == "hold.max-duration")


def test_an_amendment_after_a_policy_change_keeps_the_graded_policy(world: World) -> None:
    call = _held_45_s(world)
    assert _hold_verdict(call) == "pass"  # the default allows 60 s
    club_policy_save(club=world.xinyi, text="[timing]\nmax_hold_s = 30\n", by=world.bob)
    call_amend_details(
        call=Call.objects.get(pk=call.pk),
        staff=world.alice,
        data={"note_what": "詢問課表"},
        reason="補上漏記的事由",
    )
    card = Scorecard.objects.get(call=call)
    assert card.version == 1
    assert _hold_verdict(call) == "pass"  # still judged by the 60 s it was graded with
    page = world.client(world.bob).get(f"/calls/{call.pk}/").content.decode()
    assert "等候不超過一分鐘" in page and "等候不超過 30 秒" not in page


def test_a_call_graded_after_the_change_follows_the_new_policy(world: World) -> None:
    club_policy_save(club=world.xinyi, text="[timing]\nmax_hold_s = 30\n", by=world.bob)
    call = _held_45_s(world)
    assert _hold_verdict(call) == "fail"
    page = world.client(world.bob).get(f"/calls/{call.pk}/").content.decode()
    assert "等候不超過 30 秒" in page
