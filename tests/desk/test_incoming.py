"""An incoming call on the desk, from the ring to the scorecard."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from callsop.desk.models import Call, Complaint, Escalation, Memo, Task
from callsop.desk.services import calls as svc
from callsop.desk.services.errors import ActionError
from callsop.rules import SCORED
from tests.desk.conftest import World


def _answered(world: World, t0: datetime, *, after_s: float = 5) -> Call:
    call = svc.call_ring(club=world.xinyi, phone="0912-345-678", now=t0)
    return svc.call_answer(call=call, clerk=world.alice, now=t0 + timedelta(seconds=after_s))


def test_rings_are_counted_from_the_ringing_time(world: World, t0: datetime) -> None:
    call = _answered(world, t0, after_s=10)
    assert call.state == Call.State.TALKING
    assert call.clerk == world.alice
    assert call.rings == 4  # ceil(10 s / 3 s)
    assert [e.type for e in call.events.all()] == ["ringing", "answered"]


def test_a_call_is_answered_once(world: World, t0: datetime) -> None:
    call = _answered(world, t0)
    with pytest.raises(ActionError, match="已有人接聽"):
        svc.call_answer(call=call, clerk=world.bob, now=t0 + timedelta(seconds=6))
    call.refresh_from_db()
    assert call.clerk == world.alice


def test_holds_add_up_and_a_held_call_ending_closes_the_hold(world: World, t0: datetime) -> None:
    call = _answered(world, t0)
    svc.call_hold(call=call, now=t0 + timedelta(seconds=20))
    svc.call_resume(call=call, now=t0 + timedelta(seconds=40))
    svc.call_hold(call=call, now=t0 + timedelta(seconds=50))
    call = svc.call_end(by="customer", call=call, now=t0 + timedelta(seconds=60))
    assert call.hold_count == 2
    assert call.hold_total_s == pytest.approx(30)
    assert [e.type for e in call.events.all()][-2:] == ["resume", "hangup"]


def test_resume_without_hold_is_refused(world: World, t0: datetime) -> None:
    call = _answered(world, t0)
    with pytest.raises(ActionError):
        svc.call_resume(call=call, now=t0 + timedelta(seconds=9))


def test_ending_a_call_scores_every_rule_once(world: World, t0: datetime) -> None:
    call = _answered(world, t0, after_s=13)
    call = svc.call_end(call=call, by="staff", now=t0 + timedelta(seconds=90))
    card = call.scorecard
    assert [f["rule"] for f in card.findings] == [r.id for r in SCORED]
    verdicts = {f["rule"]: f["verdict"] for f in card.findings}
    assert verdicts["inbound.answer-promptly"] == "fail"  # 5 rings > 3
    assert verdicts["close.customer-hangs-up-first"] == "fail"
    assert card.score is not None and 0 <= card.score < 100


def test_a_known_number_brings_its_name_but_a_typed_name_is_asked(
    world: World, t0: datetime
) -> None:
    first = _answered(world, t0)
    svc.call_details_save(call=first, data={"caller_name": "王大明"})
    svc.call_end(by="customer", call=first, now=t0 + timedelta(seconds=60))
    again = svc.call_ring(club=world.xinyi, phone="+886 912 345 678", now=t0 + timedelta(hours=1))
    assert again.caller_name == "王大明" and again.customer_known
    other_club = svc.call_ring(club=world.banqiao, phone="0912345678", now=t0 + timedelta(hours=1))
    assert other_club.caller_name == "" and not other_club.customer_known
    svc.call_details_save(call=again, data={"caller_name": "王小明"})
    again.refresh_from_db()
    assert not again.customer_known


def test_details_are_kept_as_typed_and_never_refused(world: World, t0: datetime) -> None:
    call = _answered(world, t0)
    svc.call_details_save(
        call=call, data={"note_what": "詢問體驗", "note_urgent": "on", "bogus": "x"}
    )
    call.refresh_from_db()
    assert call.note_what == "詢問體驗" and call.note_urgent
    svc.call_details_save(call=call, data={"note_what": "詢問體驗課時間", "note_urgent": ""})
    call.refresh_from_db()
    assert call.note_what == "詢問體驗課時間" and not call.note_urgent


def test_a_memo_needs_name_number_and_message(world: World, t0: datetime) -> None:
    call = _answered(world, t0)
    base = {"call": call, "taken_by": world.alice, "for_staff": world.dora}
    with pytest.raises(ActionError) as err:
        svc.memo_take(**base, from_name=" ", phone="0912", message="請回電")
    assert err.value.field == "from_name"
    with pytest.raises(ActionError) as err:
        svc.memo_take(**base, from_name="王先生", phone="", message="請回電")
    assert err.value.field == "phone"
    assert not Memo.objects.exists()
    memo = svc.memo_take(
        **base,
        from_name="王先生",
        from_org="大安公司",
        phone="0912345678",
        message="請回電",
        urgent=True,
    )
    assert memo.for_staff == world.dora and memo.urgent
    call.refresh_from_db()
    assert {"asks-for-person", "person-absent"} <= set(call.tags)
    assert call.caller_name == "王先生"


def test_a_memo_goes_only_to_the_same_club(world: World, t0: datetime) -> None:
    call = _answered(world, t0)
    with pytest.raises(ActionError):
        svc.memo_take(
            call=call,
            taken_by=world.alice,
            for_staff=world.charlie,
            from_name="王先生",
            phone="0912",
            message="請回電",
        )


def test_a_transfer_needs_a_summary_and_someone_in(world: World, t0: datetime) -> None:
    call = _answered(world, t0)
    with pytest.raises(ActionError) as err:
        svc.call_transfer(call=call, to=world.bob, summary="  ", now=t0 + timedelta(seconds=30))
    assert err.value.field == "summary"
    with pytest.raises(ActionError, match="外出"):
        svc.call_transfer(call=call, to=world.dora, summary="會員想改約私人課", now=t0)
    call.refresh_from_db()
    assert call.state == Call.State.TALKING
    call = svc.call_transfer(
        call=call, to=world.bob, summary="會員想改約私人課", now=t0 + timedelta(seconds=30)
    )
    transfer = call.events.get(type="transfer")
    assert transfer.to == world.bob and transfer.summary == "會員想改約私人課"
    assert call.state == Call.State.ENDED and call.outcome == Call.Outcome.TRANSFERRED
    verdicts = {f["rule"]: f["verdict"] for f in call.scorecard.findings}
    assert verdicts["inbound.warm-transfer"] == "pass"


def test_escalation_reaches_the_manager_and_marks_the_note_urgent(
    world: World, t0: datetime
) -> None:
    call = _answered(world, t0)
    with pytest.raises(ActionError):
        svc.call_escalate(call=call, reason="")
    escalation = svc.call_escalate(call=call, reason="置物櫃遭竊", now=t0 + timedelta(seconds=20))
    assert escalation.to == world.bob
    call.refresh_from_db()
    assert call.note_urgent
    assert Escalation.objects.count() == 1


def test_a_complaint_is_logged_the_same_day_once(world: World, t0: datetime) -> None:
    call = _answered(world, t0)
    svc.complaint_log(
        call=call, clerk=world.alice, summary="教練遲到", now=t0 + timedelta(seconds=30)
    )
    svc.complaint_log(
        call=call, clerk=world.alice, summary="教練遲到二十分鐘", now=t0 + timedelta(seconds=40)
    )
    complaint = Complaint.objects.get()
    assert complaint.summary == "教練遲到二十分鐘" and complaint.state == Complaint.State.OPEN
    call = svc.call_end(by="customer", call=call, now=t0 + timedelta(seconds=90))
    verdicts = {f["rule"]: f["verdict"] for f in call.scorecard.findings}
    assert verdicts["complaint.same-day-record"] == "pass"


def test_a_visitor_ends_the_call_with_a_callback_task(world: World, t0: datetime) -> None:
    call = _answered(world, t0)
    svc.call_details_save(call=call, data={"caller_phone": ""})
    with pytest.raises(ActionError) as err:
        svc.call_visitor_arrived(call=call, clerk=world.alice, now=t0)
    assert err.value.field == "caller_phone"
    svc.call_details_save(call=call, data={"caller_phone": "0912345678"})
    task = svc.call_visitor_arrived(call=call, clerk=world.alice, now=t0 + timedelta(seconds=30))
    assert task.kind == Task.Kind.CALLBACK and task.due > t0
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.VISITOR and "visitor-interrupt" in call.tags


def test_a_wrong_number_is_tagged_and_ended(world: World, t0: datetime) -> None:
    call = _answered(world, t0)
    call = svc.call_wrong_number(call=call, now=t0 + timedelta(seconds=20))
    assert call.state == Call.State.ENDED and "wrong-number" in call.tags


def test_an_ended_call_takes_no_more_actions(world: World, t0: datetime) -> None:
    call = svc.call_end(by="customer", call=_answered(world, t0), now=t0 + timedelta(seconds=20))
    with pytest.raises(ActionError):
        svc.call_end(by="customer", call=call, now=t0 + timedelta(seconds=30))
    with pytest.raises(ActionError):
        svc.call_wrong_number(call=call, now=t0 + timedelta(seconds=30))
    with pytest.raises(ActionError):
        svc.call_hold(call=call, now=t0 + timedelta(seconds=30))
