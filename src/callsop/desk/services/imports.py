"""A call record from elsewhere (a PBX log, a recording, the examples) kept as a desk call."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
from django.db import transaction

from callsop.desk.models import Call, CallEvent, Club, Complaint, Escalation, Memo, Staff, Task
from callsop.desk.services.errors import ActionError
from callsop.desk.services.policy import policy_of
from callsop.desk.services.scoring import call_score
from callsop.engine.history import normalise_phone
from callsop.record.model import CallRecord
from callsop.record.reader import MAX_RECORD_BYTES, Loaded, Refusal, read_bytes
from callsop.report.messages_zh import refusal_zh

StaffOf = Callable[[str | None], Staff | None]


def _outcome(record: CallRecord, answered: bool) -> str:
    tags = set(record.tags)
    hangups = [e for e in record.events if e.type == "hangup"]
    if "wrong-number" in tags:
        return Call.Outcome.WRONG_NUMBER
    if "visitor-interrupt" in tags:
        return Call.Outcome.VISITOR
    if any(e.type == "transfer" for e in record.events):
        return Call.Outcome.TRANSFERRED
    if hangups and hangups[-1].by == "network":
        return Call.Outcome.DROPPED
    if not answered:
        return Call.Outcome.NO_ANSWER if record.direction == "outbound" else Call.Outcome.MISSED
    if record.memos:
        return Call.Outcome.MEMO
    return Call.Outcome.COMPLETED


def _utterances(record: CallRecord) -> list[dict[str, Any]]:
    return [{**msgspec.to_builtins(u), "text": u.text} for u in record.utterances]


def _speech(record: CallRecord) -> dict[str, Any] | None:
    """No `speech`, or "human": a person's transcript, which outranks a recording's."""
    speech = record.speech
    if speech is None or speech.source == "human":
        return None
    data: dict[str, Any] = msgspec.to_builtins(speech)
    return data


@transaction.atomic(durable=True)
def call_import(
    *,
    club: Club,
    record: CallRecord,
    staff_of: StaffOf,
    shift: timedelta = timedelta(0),
    now: datetime | None = None,
) -> Call:
    """Stores `record` as an ended call of `club` and scores it. `staff_of`
    maps the record's staff ids to the club's people; `shift` moves every
    time in the record (the demo places the examples in the last week)."""
    start = record.started_at + shift
    at = {e.type: start + timedelta(seconds=e.t) for e in reversed(record.events)}
    answered_at = at.get("answered")
    ends = [e.t for e in record.events] + [u.end for u in record.utterances]
    ended_at = start + timedelta(seconds=max(ends, default=0.0))
    customer = record.customer
    plan = record.plan
    note = record.note
    period = policy_of(club).timing.ring_period_s
    ringing = at.get("ringing", start)
    call = Call.objects.create(
        club=club,
        direction=record.direction or "inbound",
        state=Call.State.ENDED,
        line=record.line or "main",
        purpose=record.purpose or "business",
        prearranged=record.prearranged,
        clerk=staff_of(record.staff.id if record.staff else None),
        started_at=start,
        answered_at=answered_at,
        ended_at=ended_at,
        rings=max(1, math.ceil((answered_at - ringing).total_seconds() / period))
        if answered_at
        else None,
        caller_name=(customer.name or "") if customer else "",
        caller_phone=(customer.phone or "") if customer else "",
        phone_key=normalise_phone(customer.phone if customer else None) or "",
        customer_known=bool(customer and customer.known),
        note_when=(note.when or "") if note else "",
        note_who=(note.who or "") if note else "",
        note_where=(note.where or "") if note else "",
        note_what=(note.what or "") if note else "",
        note_why=(note.why or "") if note else "",
        note_how=(note.how or "") if note else "",
        note_urgent=bool(note and note.urgent),
        plan_purpose=(plan.purpose or "") if plan else "",
        plan_name_verified=bool(plan and plan.name_verified),
        plan_number_verified=bool(plan and plan.number_verified),
        plan_salutation=(plan.salutation or "") if plan else "",
        plan_outline=(plan.outline or "") if plan else "",
        plan_time_budget_min=round(plan.time_budget_min) if plan and plan.time_budget_min else None,
        plan_name=(customer.name or "") if plan and customer else "",
        tags=list(record.tags),
        utterances=_utterances(record),
        speech=_speech(record),
        outcome=_outcome(record, answered_at is not None),
        source="import",
        external_id=record.id,
    )
    held = None
    for e in record.events:
        when = start + timedelta(seconds=e.t)
        if e.type == "hold":
            held = when
        elif e.type == "resume" and held is not None:
            call.hold_total_s += (when - held).total_seconds()
            call.hold_count += 1
            held = None
        CallEvent.objects.create(
            call=call,
            at=when,
            type=e.type,
            by=e.by or "",
            to=staff_of(e.to) if e.to else None,
            summary=e.summary or "",
            rings=e.rings,
        )
    call.save(update_fields=["hold_total_s", "hold_count"])
    clerk = call.clerk
    for memo in record.memos:
        target = staff_of(memo.for_)
        if target is not None and clerk is not None:
            Memo.objects.create(
                club=club,
                call=call,
                for_staff=target,
                taken_by=clerk,
                from_name=memo.from_name or "",
                from_org=memo.from_org or "",
                phone=memo.phone or "",
                message=memo.message or "",
                created_at=ended_at,
            )
    for task in record.tasks:
        Task.objects.create(
            club=club,
            call=call,
            kind=task.kind,
            due=(task.due + shift) if task.due else ended_at,
            phone=task.phone or "",
            name=call.caller_name,
            assignee=clerk,
            created_at=ended_at,
        )
    for escalation in record.escalations:
        target = staff_of(escalation.to)
        if target is not None:
            Escalation.objects.create(
                club=club,
                call=call,
                to=target,
                at=(escalation.at + shift) if escalation.at else ended_at,
                reason=escalation.reason or "",
            )
    if record.complaint is not None and clerk is not None:
        Complaint.objects.create(
            club=club,
            call=call,
            logged_at=record.complaint.logged_at + shift,
            logged_by=clerk,
            summary=record.complaint.summary or "",
        )
    call_score(call=call, now=now)
    return call


MAX_TRANSCRIPT_BYTES = MAX_RECORD_BYTES


def transcript_read(*, name: str, data: bytes) -> CallRecord:
    """The one call record in an uploaded transcript (WebVTT with
    staff/customer voices, or a call record's JSON), or an ActionError
    naming the file, line and field. Touches no database."""
    if len(data) > MAX_TRANSCRIPT_BYTES:
        raise ActionError(f"{name}: 檔案太大（上限 2 MB）。", field="transcript")
    items = list(read_bytes(name, data))
    refused = [item for item in items if isinstance(item, Refusal)]
    if refused:
        raise ActionError(f"無法讀取：{refusal_zh(refused[0])}", field="transcript")
    if len(items) != 1:
        raise ActionError(f"{name}: 應只有一通電話，檔案裡有 {len(items)} 通。", field="transcript")
    loaded = items[0]
    assert isinstance(loaded, Loaded)
    if not loaded.record.utterances:
        raise ActionError(f"{name}: 檔案裡沒有任何對話。", field="transcript")
    return loaded.record
