"""Outgoing calls: plan (§1.1), dial, and each way a call can go (§1.4)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from callsop.desk import push
from callsop.desk.models import Call, CallEvent, Club, Staff, Task
from callsop.desk.services.calls import _finish, _tag, apply_details, locks_call, moment
from callsop.desk.services.errors import ActionError
from callsop.desk.services.policy import policy_of
from callsop.engine.history import normalise_phone

# What the plan must hold before dialling, with the prompt for each gap.
PLAN_REQUIRED = (
    ("plan_purpose", "請寫下這通電話的目的。"),
    ("caller_phone", "請填寫對方的電話號碼。"),
    ("plan_name", "請填寫對方的姓名。"),
    ("plan_salutation", "請寫下如何稱呼對方（例如：王先生）。"),
    ("plan_outline", "請列出談話要點。"),
    ("plan_material", "請寫下要備妥的資料（沒有請填「無」）。"),
    ("plan_hard_reply", "請想好對方回絕時如何回應。"),
)


@transaction.atomic(durable=True)
def outbound_plan(
    *, club: Club, clerk: Staff, data: dict[str, str] | None = None, redial_of: Call | None = None
) -> Call:
    """A new outgoing call in planning; a retry or redial copies the earlier plan."""
    call = Call(
        club=club,
        direction="outbound",
        state=Call.State.PLANNING,
        clerk=clerk,
        started_at=timezone.now(),
        prearranged=False,
        redial_of=redial_of,
    )
    if redial_of is not None:
        _copy_plan(redial_of, call)
    call.save()
    if data:
        apply_details(call, data)
    return call


_PLAN_COPIED = (
    "caller_name",
    "caller_org",
    "caller_phone",
    "phone_key",
    "plan_purpose",
    "plan_name",
    "plan_name_verified",
    "plan_number_verified",
    "plan_salutation",
    "plan_outline",
    "plan_time_budget_min",
    "plan_material",
    "plan_hard_reply",
    "prearranged",
)


def _copy_plan(source: Call, target: Call) -> None:
    for name in _PLAN_COPIED:
        setattr(target, name, getattr(source, name))


def plan_gaps(call: Call) -> list[tuple[str, str]]:
    gaps = [(name, prompt) for name, prompt in PLAN_REQUIRED if not getattr(call, name).strip()]
    if not call.plan_number_verified:
        gaps.append(("plan_number_verified", "請核對電話號碼後打勾。"))
    if not call.plan_name_verified:
        gaps.append(("plan_name_verified", "請核對對方姓名後打勾。"))
    if not call.plan_time_budget_min:
        gaps.append(("plan_time_budget_min", "請估計通話需要幾分鐘。"))
    return gaps


@transaction.atomic(durable=True)
@locks_call
def outbound_dial(*, call: Call, now: datetime | None = None) -> Call:
    """Starts dialling; refused until the plan is complete (§1.1)."""
    if call.state != Call.State.PLANNING:
        raise ActionError("這通電話已經撥出。")
    gaps = plan_gaps(call)
    if gaps:
        field, prompt = gaps[0]
        raise ActionError(f"撥號前請完成準備：{prompt}", field=field)
    at = moment(now)
    call.started_at = at
    call.state = Call.State.RINGING
    call.caller_name = call.caller_name or call.plan_name
    call.phone_key = normalise_phone(call.caller_phone) or ""
    call.save()
    CallEvent.objects.create(call=call, at=at, type="dialing")
    CallEvent.objects.create(call=call, at=at, type="ringing")
    return call


@transaction.atomic(durable=True)
@locks_call
def outbound_ringing(*, call: Call, now: datetime | None = None) -> Call:
    """The customer's phone began ringing later than the dial: after the
    clerk's own phone was picked up (Asterisk's Originate rings it first).
    The rings are counted from here."""
    if call.state != Call.State.RINGING:
        raise ActionError("這通電話不在撥號中。")
    call.events.filter(type="ringing").update(at=moment(now))
    return call


@transaction.atomic(durable=True)
@locks_call
def outbound_not_dialled(*, call: Call) -> Call:
    """The dial never reached the customer (the clerk's own phone was not
    picked up, or the PBX refused it): back to the plan, to dial again."""
    if call.state != Call.State.RINGING:
        raise ActionError("這通電話不在撥號中。")
    call.events.filter(type__in=("dialing", "ringing")).delete()
    call.state = Call.State.PLANNING
    call.save(update_fields=["state", "updated_at"])
    return call


DIALER_WINDOW = timedelta(minutes=2)  # the PBX reports a dialer's call within this of the dial


@transaction.atomic(durable=True)
def outbound_placed_by_dialer(
    *, clerk: Staff, phone: str, external_id: str, now: datetime | None = None
) -> Call | None:
    """The PBX reports a call the desk's own dialer is placing (the clerk's
    撥號 through `callsop dialer`): that call, known from now on by the
    PBX's id, rather than a second one. None when there is none."""
    key = normalise_phone(phone)
    if not key:
        return None
    at = moment(now)
    call = (
        Call.objects.select_for_update()
        .filter(
            clerk=clerk,
            direction="outbound",
            state=Call.State.RINGING,
            source="desk",
            external_id="",
            phone_key=key,
            started_at__gte=at - DIALER_WINDOW,
            started_at__lte=at + DIALER_WINDOW,
        )
        .order_by("-started_at")
        .first()
    )
    if call is None:
        return None
    call.source, call.external_id = "pbx", external_id
    call.save(update_fields=["source", "external_id", "updated_at"])
    return call


@transaction.atomic(durable=True)
def outbound_dialled_on_phone(
    *, club: Club, clerk: Staff, phone: str, external_id: str, now: datetime | None = None
) -> Call:
    """A call the clerk dialled on the phone itself, as the PBX reports it:
    on the desk from its first ring, with no plan behind it."""
    at = moment(now)
    call = Call.objects.create(
        club=club,
        direction="outbound",
        state=Call.State.RINGING,
        clerk=clerk,
        started_at=at,
        caller_phone=phone,
        phone_key=normalise_phone(phone) or "",
        source="pbx",
        external_id=external_id,
    )
    CallEvent.objects.create(call=call, at=at, type="dialing")
    CallEvent.objects.create(call=call, at=at, type="ringing")
    return call


@transaction.atomic(durable=True)
@locks_call
def outbound_answered(*, call: Call, now: datetime | None = None) -> Call:
    if call.state != Call.State.RINGING:
        raise ActionError("這通電話不在撥號中。")
    at = moment(now)
    call.answered_at = at
    period = policy_of(call.club).timing.ring_period_s
    rang_at = call.events.filter(type="ringing").values_list("at", flat=True).first()
    call.rings = max(1, math.ceil((at - (rang_at or call.started_at)).total_seconds() / period))
    call.state = Call.State.TALKING
    call.save()
    CallEvent.objects.create(call=call, at=at, type="answered")
    return call


@transaction.atomic(durable=True)
@locks_call
def outbound_no_answer(*, call: Call, now: datetime | None = None) -> Task:
    """Given up unanswered (§1.4(1): at 10 rings); a retry falls due 3-5 minutes later."""
    if call.state != Call.State.RINGING:
        raise ActionError("這通電話不在撥號中。")
    at = moment(now)
    timing = policy_of(call.club).timing
    wait = (timing.retry_after_min_s + timing.retry_after_max_s) / 2
    task = Task.objects.create(
        club=call.club,
        call=call,
        kind=Task.Kind.RETRY,
        due=at + timedelta(seconds=wait),
        phone=call.caller_phone,
        name=call.plan_name,
        note=call.plan_purpose,
        assignee=call.clerk,
        created_at=at,
    )
    call.outcome = Call.Outcome.NO_ANSWER
    _finish(call, at, by="staff", outcome=call.outcome)
    push.publish(task.club_id, "due")
    return task


@transaction.atomic(durable=True)
@locks_call
def outbound_dropped(*, call: Call, now: datetime | None = None) -> Call:
    """The line dropped mid-call (§1.4(5)): the clerk redials at once; the redial is returned."""
    if call.state not in (Call.State.TALKING, Call.State.HELD):
        raise ActionError("只有通話中才會斷線。")
    at = moment(now)
    call.outcome = Call.Outcome.DROPPED
    _finish(call, at, by="network", outcome=call.outcome)
    assert call.clerk is not None
    redial = Call(club=call.club, direction="outbound", state=Call.State.PLANNING)
    redial.clerk = call.clerk
    redial.started_at = at
    redial.redial_of = call
    _copy_plan(call, redial)
    redial.save()
    return redial


@transaction.atomic(durable=True)
@locks_call
def outbound_absent(
    *, call: Call, message: str, callback_at: datetime, now: datetime | None = None
) -> Task:
    """The person asked for is not there: leave a message and set the callback."""
    if call.state not in (Call.State.TALKING, Call.State.HELD):
        raise ActionError("請先接通電話。")
    message = message.strip()
    if not message:
        raise ActionError("請寫下留給對方的話。", field="message")
    at = moment(now)
    if callback_at <= at:
        raise ActionError("回電時間必須在現在之後。", field="callback_at")
    task = Task.objects.create(
        club=call.club,
        call=call,
        kind=Task.Kind.CALLBACK,
        due=callback_at,
        phone=call.caller_phone,
        name=call.plan_name,
        note=message,
        assignee=call.clerk,
        created_at=at,
    )
    _tag(call, "person-absent", "fetched")
    call.outcome = Call.Outcome.ABSENT
    _finish(call, at, by="customer", outcome=call.outcome)
    push.publish(task.club_id, "due")
    return task


@transaction.atomic(durable=True)
@locks_call
def outbound_finish(
    *, call: Call, next_contact_at: datetime, by: str, now: datetime | None = None
) -> Task:
    """The person was reached; the call ends with the next contact set (§1.4(8))."""
    if call.state not in (Call.State.TALKING, Call.State.HELD):
        raise ActionError("請先接通電話。")
    at = moment(now)
    if next_contact_at <= at:
        raise ActionError("下次聯絡時間必須在現在之後。", field="next_contact_at")
    if by not in ("customer", "staff"):
        raise ActionError("請選擇由哪一方掛斷。")
    task = Task.objects.create(
        club=call.club,
        call=call,
        kind=Task.Kind.FOLLOW_UP,
        due=next_contact_at,
        phone=call.caller_phone,
        name=call.plan_name,
        note=call.plan_purpose,
        assignee=call.clerk,
        created_at=at,
    )
    _finish(call, at, by=by, outcome=Call.Outcome.COMPLETED)
    push.publish(task.club_id, "due")
    return task
