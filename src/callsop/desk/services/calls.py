"""Incoming calls on the desk: ring, answer, hold, write, hand on, end."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from callsop.desk import push
from callsop.desk.models import Call, CallEvent, Club, Complaint, Escalation, Memo, Staff, Task
from callsop.desk.services.errors import ActionError
from callsop.desk.services.policy import policy_of
from callsop.desk.services.scoring import call_score, calls_score_after
from callsop.desk.services.tasks import missed_call_callback
from callsop.engine.history import normalise_phone

CALLER_FIELDS = ("caller_name", "caller_org", "caller_purpose", "caller_phone", "caller_address")
NOTE_FIELDS = ("note_when", "note_who", "note_where", "note_what", "note_why", "note_how")
PLAN_TEXT_FIELDS = (
    "plan_purpose",
    "plan_name",
    "plan_salutation",
    "plan_outline",
    "plan_material",
    "plan_hard_reply",
)
VISITOR_CALLBACK_MIN = 15
T = TypeVar("T")


def locks_call(fn: Callable[..., T]) -> Callable[..., T]:
    """Reloads the call under a row lock inside the action's transaction, so
    two clerks pressing "answer" at once cannot both succeed."""

    @wraps(fn)
    def wrapper(*, call: Call, **kwargs: Any) -> T:
        fresh = (
            Call.objects.select_for_update(of=("self",))
            .select_related("club", "clerk")
            .get(pk=call.pk)
        )
        return fn(call=fresh, **kwargs)

    return wrapper


def moment(now: datetime | None) -> datetime:
    """The time an action happens: as given (the PBX's, a test's), or now."""
    return now if now is not None else timezone.now()


def _event(call: Call, at: datetime, type_: str, **fields: object) -> CallEvent:
    return CallEvent.objects.create(call=call, at=at, type=type_, **fields)


def _require_live(call: Call) -> None:
    if not call.is_live:
        raise ActionError("這通電話已結束。")


def _tag(call: Call, *tags: str) -> None:
    for tag in tags:
        if tag not in call.tags:
            call.tags = [*call.tags, tag]


@transaction.atomic(durable=True)
def call_ring(
    *,
    club: Club,
    phone: str = "",
    line: str = "main",
    source: str = "desk",
    external_id: str = "",
    now: datetime | None = None,
) -> Call:
    """An incoming call starts ringing: from the PBX or the clerk's button."""
    at = moment(now)
    known = _known_name(club, phone)
    call = Call.objects.create(
        club=club,
        direction="inbound",
        state=Call.State.RINGING,
        started_at=at,
        line=line,
        caller_phone=phone,
        phone_key=normalise_phone(phone) or "",
        caller_name=known,
        customer_known=bool(known),
        source=source,
        external_id=external_id,
    )
    _event(call, at, "ringing")
    push.publish(club.pk, "ringing")
    return call


def _known_name(club: Club, phone: str) -> str:
    """The name a past call to this number recorded, so the clerk may use it (§2.3(10))."""
    key = normalise_phone(phone)
    if not key:
        return ""
    past = (
        Call.objects.filter(club=club, phone_key=key, state=Call.State.ENDED)
        .exclude(caller_name="")
        .order_by("-started_at")
        .values_list("caller_name", flat=True)
        .first()
    )
    return past or ""


@transaction.atomic(durable=True)
@locks_call
def call_answer(*, call: Call, clerk: Staff | None, now: datetime | None = None) -> Call:
    """The call is answered; `clerk` is None when the PBX reports an answer at
    a phone no one is known at, and a clerk claims the call afterwards."""
    if call.state != Call.State.RINGING:
        raise ActionError("這通電話已有人接聽或已結束。")
    at = moment(now)
    period = policy_of(call.club).timing.ring_period_s
    call.clerk = clerk
    call.answered_at = at
    call.rings = max(1, math.ceil((at - call.started_at).total_seconds() / period))
    call.state = Call.State.TALKING
    call.save()
    _event(call, at, "answered")
    push.publish(call.club_id, "ringing")
    return call


@transaction.atomic(durable=True)
@locks_call
def call_claim(*, call: Call, clerk: Staff) -> Call:
    """A clerk takes a call the PBX answered without saying at whose phone."""
    if call.clerk_id is not None and call.clerk_id != clerk.pk:
        raise ActionError(f"這通電話由{call.clerk.name if call.clerk else ''}接聽。")
    if call.club_id != clerk.club_id:
        raise ActionError("只能認領本館的電話。")
    call.clerk = clerk
    call.save(update_fields=["clerk", "updated_at"])
    push.publish(call.club_id, "ringing")
    return call


@transaction.atomic(durable=True)
@locks_call
def call_hold(*, call: Call, now: datetime | None = None) -> Call:
    if call.state != Call.State.TALKING:
        raise ActionError("只有通話中才能保留。")
    call.state = Call.State.HELD
    call.save(update_fields=["state", "updated_at"])
    _event(call, moment(now), "hold")
    return call


@transaction.atomic(durable=True)
@locks_call
def call_resume(*, call: Call, now: datetime | None = None) -> Call:
    if call.state != Call.State.HELD:
        raise ActionError("這通電話沒有在保留中。")
    _close_hold(call, moment(now))
    call.state = Call.State.TALKING
    call.save(update_fields=["state", "hold_total_s", "hold_count", "updated_at"])
    return call


def _close_hold(call: Call, at: datetime) -> None:
    """The hold ends at `at`: its length is added up and the resume recorded."""
    held_at = call.events.filter(type="hold").order_by("-at").values_list("at", flat=True).first()
    if held_at is not None:
        call.hold_total_s += max(0.0, (at - held_at).total_seconds())
        call.hold_count += 1
    _event(call, at, "resume")


FLAG_FIELDS = ("note_urgent", "plan_name_verified", "plan_number_verified", "prearranged")
DETAILS_LOCKED = (
    "這通電話已結束，來電資料與 5W1H 記事已鎖定，不再修改；"
    "如需更正，請在評分頁的「補充說明」寫下更正內容與理由。"
)


def wrap_up_left(call: Call, now: datetime | None = None) -> float:
    """Seconds left of the call's wrap-up: the time after its end
    (CALLSOP_WRAP_UP_S) in which its own clerk still finishes the caller
    details and the 5W1H note as part of the call; 0 once over, for a call not
    ended, one no clerk took, or one already amended."""
    if call.state != Call.State.ENDED or call.ended_at is None or call.clerk_id is None:
        return 0.0
    left = settings.CALLSOP_WRAP_UP_S - (moment(now) - call.ended_at).total_seconds()
    if left <= 0 or call.amendments.exists():
        return 0.0
    return left


def in_wrap_up(call: Call, staff: Staff | None, now: datetime | None = None) -> bool:
    """Whether `staff` may still write the ended call's details as part of the call."""
    return staff is not None and staff.pk == call.clerk_id and wrap_up_left(call, now) > 0


def call_details_save(
    *, call: Call, data: dict[str, str], staff: Staff | None = None, now: datetime | None = None
) -> Call:
    """Saves what the clerk has typed so far: caller, 5W1H note, plan.

    Called as the clerk types, so while the call is live (or being planned)
    it never refuses: a half-written note is kept as it is. Unknown keys are
    ignored. Once the call has ended, its own clerk (`staff`) may still save
    during the wrap-up (wrap_up_left): the values are the call's as it ended,
    no amendment, and the call is scored again after the write (by a worker
    when one runs).
    Anyone else, or after the wrap-up, is refused, storing nothing: a change
    is then an amendment (services.amendments)."""
    call, changed = _details_save(call=call, data=data, staff=staff, now=now)
    if changed:
        calls_score_after([(call.pk, now or timezone.now())])
        call.refresh_from_db()
    return call


@transaction.atomic(durable=True)
@locks_call
def _details_save(
    *, call: Call, data: dict[str, str], staff: Staff | None, now: datetime | None
) -> tuple[Call, bool]:
    """The save itself; True with it when an ended call changed and needs scoring again."""
    if call.state == Call.State.ENDED:
        if not in_wrap_up(call, staff, now):
            raise ActionError(DETAILS_LOCKED)
        return call, bool(apply_details(call, data))
    apply_details(call, data)
    return call, False


def details_values(call: Call, data: dict[str, str], *, strict: bool = False) -> dict[str, Any]:
    """The fields `data` would change, with their new values (the number key
    and the known-customer mark following the phone and the name). Text is
    trimmed; too long, it is cut to the field's length, or with `strict`
    refused naming the field, as is an unreadable minute count."""
    changed: dict[str, Any] = {}
    for name in (*CALLER_FIELDS, *NOTE_FIELDS, *PLAN_TEXT_FIELDS):
        if name in data:
            field = Call._meta.get_field(name)
            limit = getattr(field, "max_length", None)
            value = str(data[name]).strip()
            if strict and ("\x00" in value or (limit is not None and len(value) > limit)):
                label = str(getattr(field, "verbose_name", name))
                if "\x00" in value:
                    raise ActionError(f"「{label}」含有無法儲存的字元。", field=name)
                raise ActionError(f"「{label}」太長：最多 {limit} 字。", field=name)
            value = value[:limit]
            if getattr(call, name) != value:
                changed[name] = value
    for name in FLAG_FIELDS:
        if name in data:
            flag = data[name] in ("on", "true", "1", True)
            if getattr(call, name) != flag:
                changed[name] = flag
    if "plan_time_budget_min" in data:
        raw = str(data["plan_time_budget_min"]).strip()
        budget = int(raw) if raw.isdigit() and 0 < int(raw) <= 240 else None
        if strict and raw and budget is None:
            raise ActionError(
                "「預計通話分鐘」請填 1 到 240 的整數。", field="plan_time_budget_min"
            )
        if call.plan_time_budget_min != budget:
            changed["plan_time_budget_min"] = budget
    if "caller_phone" in changed:
        key = normalise_phone(changed["caller_phone"]) or ""
        if key != call.phone_key:
            changed["phone_key"] = key
    if "caller_name" in changed and call.customer_known:
        # A name typed over the one on file is one the clerk asked for.
        changed["customer_known"] = False
    return changed


def apply_details(call: Call, data: dict[str, str]) -> dict[str, Any]:
    """Stores what `data` changes (details_values); returns the changed fields."""
    changed = details_values(call, data)
    for name, value in changed.items():
        setattr(call, name, value)
    if changed:
        call.save(update_fields=[*changed, "updated_at"])
    return changed


def _finish(
    call: Call, at: datetime, *, by: str | None, outcome: str, tags: tuple[str, ...] = ()
) -> None:
    if call.state == Call.State.HELD:
        _close_hold(call, at)
    if by is not None:
        _event(call, at, "hangup", by=by)
    _tag(call, *tags)
    call.state = Call.State.ENDED
    call.ended_at = at
    call.outcome = call.outcome or outcome
    call.save()
    call_score(call=call, now=at)
    push.publish(call.club_id, "ringing")  # the pop-up goes; a missed call may leave a task
    push.publish(call.club_id, "due")


@transaction.atomic(durable=True)
@locks_call
def call_end(*, call: Call, by: str, now: datetime | None = None) -> Call:
    """The call ends; `by` is who hung up (the SOP: the caller first)."""
    _require_live(call)
    if by not in ("customer", "staff", "network"):
        raise ActionError("請選擇由哪一方掛斷。")
    at = moment(now)
    if call.state == Call.State.RINGING and call.direction == "inbound":
        _finish(call, at, by=by, outcome=Call.Outcome.MISSED)
        missed_call_callback(call=call, at=at)  # hung up before the answer, or rang out
        return call
    dropped = by == "network"
    _finish(call, at, by=by, outcome=Call.Outcome.DROPPED if dropped else Call.Outcome.COMPLETED)
    return call


@transaction.atomic(durable=True)
@locks_call
def call_wrong_number(*, call: Call, now: datetime | None = None) -> Call:
    _require_live(call)
    call.outcome = Call.Outcome.WRONG_NUMBER
    _finish(call, moment(now), by="customer", outcome=call.outcome, tags=("wrong-number",))
    return call


@transaction.atomic(durable=True)
@locks_call
def call_visitor_arrived(*, call: Call, clerk: Staff, now: datetime | None = None) -> Task:
    """A visitor walks in mid-call (§2.3(9)): promise a callback, end, serve the visitor."""
    _require_live(call)
    at = moment(now)
    if not call.caller_phone:
        raise ActionError("請先記下對方電話，才能稍後回電。", field="caller_phone")
    task = Task.objects.create(
        club=call.club,
        call=call,
        kind=Task.Kind.CALLBACK,
        due=at + timedelta(minutes=VISITOR_CALLBACK_MIN),
        phone=call.caller_phone,
        name=call.caller_name,
        note="訪客到達，答應稍後回電",
        assignee=clerk,
        created_at=at,
    )
    call.outcome = Call.Outcome.VISITOR
    _finish(call, at, by="staff", outcome=call.outcome, tags=("visitor-interrupt",))
    push.publish(call.club_id, "due")
    return task


@transaction.atomic(durable=True)
@locks_call
def memo_take(
    *,
    call: Call,
    taken_by: Staff,
    for_staff: Staff,
    from_name: str,
    from_org: str = "",
    phone: str,
    message: str,
    urgent: bool = False,
    now: datetime | None = None,
) -> Memo:
    """A message for a colleague who is out or in a meeting (§2.3(1))."""
    from_name, phone, message = from_name.strip(), phone.strip(), message.strip()
    if for_staff.club_id != call.club_id:
        raise ActionError("只能留言給本館同事。", field="for_staff")
    if not from_name:
        raise ActionError("請問對方貴姓？留言需要來電者姓名。", field="from_name")
    if not phone:
        raise ActionError("留言需要回電號碼。", field="phone")
    if not message:
        raise ActionError("請寫下留言內容。", field="message")
    at = moment(now)
    memo = Memo.objects.create(
        club=call.club,
        call=call,
        for_staff=for_staff,
        taken_by=taken_by,
        from_name=from_name,
        from_org=from_org.strip(),
        phone=phone,
        message=message,
        urgent=urgent,
        created_at=at,
    )
    _tag(call, "asks-for-person", "person-absent")
    if call.outcome == "":
        call.outcome = Call.Outcome.MEMO
    if call.state != Call.State.ENDED:  # an ended call's details are locked
        call.caller_name = call.caller_name or from_name
        call.caller_phone = call.caller_phone or phone
        call.phone_key = normalise_phone(call.caller_phone) or ""
    call.save()
    if call.state == Call.State.ENDED:
        call_score(call=call, now=at)
    push.publish(call.club_id, "inbox")
    return memo


@transaction.atomic(durable=True)
@locks_call
def call_transfer(*, call: Call, to: Staff, summary: str, now: datetime | None = None) -> Call:
    """Hands the call to a colleague after briefing them (§2.3(4)): no summary, no transfer."""
    _require_live(call)
    summary = summary.strip()
    if len(summary) < 4:
        raise ActionError("轉接前請先簡要說明對方的事由，讓同事了解情況。", field="summary")
    if to.club_id != call.club_id:
        raise ActionError("只能轉接給本館同事。", field="to")
    if to.pk == call.clerk_id:
        raise ActionError("不能轉接給自己。", field="to")
    if to.presence != Staff.Presence.IN:
        raise ActionError(f"{to.name}目前{to.get_presence_display()}，請改為留言。", field="to")
    at = moment(now)
    _event(call, at, "transfer", to=to, summary=summary)
    _tag(call, "asks-for-person")
    call.outcome = Call.Outcome.TRANSFERRED
    _finish(call, at, by=None, outcome=call.outcome)
    push.publish(call.club_id, "inbox")
    return call


@transaction.atomic(durable=True)
@locks_call
def call_escalate(*, call: Call, reason: str, now: datetime | None = None) -> Escalation:
    """An urgent matter goes to the club's manager at once."""
    reason = reason.strip()
    if not reason:
        raise ActionError("請說明需要館長處理的原因。", field="reason")
    manager = (
        Staff.objects.filter(club_id=call.club_id, role=Staff.Role.MANAGER).order_by("pk").first()
    )
    if manager is None:
        raise ActionError("本館沒有設定館長。")
    at = moment(now)
    escalation = Escalation.objects.create(
        club=call.club, call=call, to=manager, at=at, reason=reason
    )
    if not call.note_urgent and call.state != Call.State.ENDED:  # an ended call's note is locked
        call.note_urgent = True
        call.save(update_fields=["note_urgent", "updated_at"])
    push.publish(call.club_id, "inbox")
    return escalation


@transaction.atomic(durable=True)
@locks_call
def complaint_log(
    *, call: Call, clerk: Staff, summary: str, now: datetime | None = None
) -> Complaint:
    """A complaint goes into the day's log (§2.3(8)), once per call."""
    summary = summary.strip()
    if not summary:
        raise ActionError("請記下對方不滿的內容。", field="summary")
    at = moment(now)
    complaint, created = Complaint.objects.get_or_create(
        call=call,
        defaults={"club": call.club, "logged_at": at, "logged_by": clerk, "summary": summary},
    )
    if not created:
        complaint.summary = summary
        complaint.save(update_fields=["summary"])
    _tag(call, "complaint")
    call.save(update_fields=["tags", "updated_at"])
    if call.state == Call.State.ENDED:
        call_score(call=call, now=at)
    push.publish(complaint.club_id, "inbox")
    return complaint
