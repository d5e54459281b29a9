"""An outgoing call: the plan first, then each way it can go."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callsop.desk import selectors
from callsop.desk.models import Call, Task
from callsop.desk.services import outbound as out
from callsop.desk.services.errors import ActionError
from tests.desk.conftest import World

PLAN = {
    "plan_purpose": "提醒 InBody 檢測",
    "caller_phone": "0922-111-222",
    "plan_name": "林美華",
    "plan_name_verified": "on",
    "plan_number_verified": "on",
    "plan_salutation": "林小姐",
    "plan_outline": "確認週六上午十點的檢測",
    "plan_time_budget_min": "3",
    "plan_material": "檢測預約表",
    "plan_hard_reply": "改約下週",
}


def _planned(world: World, **changes: str) -> Call:
    return out.outbound_plan(club=world.xinyi, clerk=world.alice, data={**PLAN, **changes})


def test_dialling_waits_for_a_complete_plan(world: World, t0: datetime) -> None:
    call = _planned(world, plan_outline="", plan_number_verified="")
    with pytest.raises(ActionError) as err:
        out.outbound_dial(call=call, now=t0)
    assert err.value.field == "plan_outline"
    assert {field for field, _ in out.plan_gaps(call)} == {"plan_outline", "plan_number_verified"}
    call.refresh_from_db()
    assert call.state == Call.State.PLANNING and not call.events.exists()


def test_no_answer_gives_a_retry_due_in_four_minutes(world: World, t0: datetime) -> None:
    call = out.outbound_dial(call=_planned(world), now=t0)
    task = out.outbound_no_answer(call=call, now=t0 + timedelta(seconds=30))
    assert task.kind == Task.Kind.RETRY
    assert task.due == t0 + timedelta(seconds=30 + 240)
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.NO_ANSWER
    tz = ZoneInfo("Asia/Taipei")
    soon = selectors.inbox(world.alice, t0 + timedelta(minutes=2), tz)
    assert task in soon.tasks_later and task not in soon.tasks_due
    due = selectors.inbox(world.alice, t0 + timedelta(seconds=30 + 240), tz)
    assert task in due.tasks_due
    late = selectors.inbox(world.alice, t0 + timedelta(minutes=30), tz)
    assert task in late.tasks_overdue
    # Another club's clerk never sees it.
    assert not selectors.inbox(world.charlie, t0 + timedelta(minutes=30), tz).tasks_overdue


def test_giving_up_too_soon_fails_the_ten_rings_rule(world: World, t0: datetime) -> None:
    call = out.outbound_dial(call=_planned(world), now=t0)
    out.outbound_no_answer(call=call, now=t0 + timedelta(seconds=12))
    call.refresh_from_db()
    verdicts = {f["rule"]: f["verdict"] for f in call.scorecard.findings}
    assert verdicts["outbound.no-answer-give-up"] == "fail"
    assert verdicts["outbound.plan-complete"] == "pass"


def test_a_dropped_line_opens_the_redial_with_the_same_plan(world: World, t0: datetime) -> None:
    call = out.outbound_dial(call=_planned(world), now=t0)
    out.outbound_answered(call=call, now=t0 + timedelta(seconds=6))
    redial = out.outbound_dropped(call=call, now=t0 + timedelta(seconds=40))
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.DROPPED
    assert call.events.get(type="hangup").by == "network"
    assert redial.redial_of == call and redial.state == Call.State.PLANNING
    assert redial.plan_outline == PLAN["plan_outline"] and redial.phone_key == call.phone_key
    out.outbound_dial(call=redial, now=t0 + timedelta(seconds=55))
    call.refresh_from_db()
    # Until the redial ends its window is open; once it is placed the drop is answered.
    redial = Call.objects.get(pk=redial.pk)
    out.outbound_answered(call=redial, now=t0 + timedelta(seconds=60))
    out.outbound_finish(
        call=redial,
        next_contact_at=t0 + timedelta(days=7),
        by="customer",
        now=t0 + timedelta(seconds=120),
    )
    call.refresh_from_db()
    verdicts = {f["rule"]: f["verdict"] for f in call.scorecard.findings}
    assert verdicts["outbound.redial-after-drop"] == "pass"


def test_reaching_the_person_needs_the_next_contact(world: World, t0: datetime) -> None:
    call = out.outbound_dial(call=_planned(world), now=t0)
    out.outbound_answered(call=call, now=t0 + timedelta(seconds=6))
    with pytest.raises(ActionError) as err:
        out.outbound_finish(
            call=call, next_contact_at=t0, by="customer", now=t0 + timedelta(seconds=60)
        )
    assert err.value.field == "next_contact_at"
    task = out.outbound_finish(
        call=call,
        next_contact_at=t0 + timedelta(days=3),
        by="customer",
        now=t0 + timedelta(seconds=60),
    )
    assert task.kind == Task.Kind.FOLLOW_UP
    call.refresh_from_db()
    assert call.state == Call.State.ENDED and call.outcome == Call.Outcome.COMPLETED


def test_the_person_absent_leaves_a_message_and_a_callback(world: World, t0: datetime) -> None:
    call = out.outbound_dial(call=_planned(world), now=t0)
    out.outbound_answered(call=call, now=t0 + timedelta(seconds=6))
    with pytest.raises(ActionError):
        out.outbound_absent(call=call, message="", callback_at=t0 + timedelta(hours=2))
    task = out.outbound_absent(
        call=call,
        message="請林小姐回電",
        callback_at=t0 + timedelta(hours=2),
        now=t0 + timedelta(seconds=30),
    )
    assert task.kind == Task.Kind.CALLBACK and task.note == "請林小姐回電"
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.ABSENT


def test_a_retry_copies_the_earlier_plan(world: World, t0: datetime) -> None:
    first = out.outbound_dial(call=_planned(world), now=t0)
    out.outbound_no_answer(call=first, now=t0 + timedelta(seconds=31))
    retry = out.outbound_plan(club=world.xinyi, clerk=world.alice, redial_of=first)
    assert not out.plan_gaps(retry)
    assert retry.caller_phone == PLAN["caller_phone"]
