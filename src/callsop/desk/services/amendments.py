"""Amendments: what is added to a call after it ended, kept beside the original.

A call's caller details, 5W1H note, plan and transcript are locked when it
ends, and its scorecard is kept as graded (after the short wrap-up in which
its own clerk still finishes the note as part of the call: services.calls
wrap_up_left; a first amendment ends that too). Only the call's own clerk or the
club's manager may then amend them, with a reason: the amendment keeps the
values before and after, who and when, and the scorecard as it stood; the
call is then scored again as a new version of its scorecard. The scoring
runs after the amendment's write transaction, never inside it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from callsop.desk.models import Amendment, Call, Scorecard, Staff
from callsop.desk.services import imports
from callsop.desk.services.calls import details_values, locks_call, moment
from callsop.desk.services.errors import ActionError
from callsop.desk.services.scoring import call_rescore

REASON_MAX = 200


def may_amend(staff: Staff, call: Call) -> bool:
    """The call's own clerk, or the manager of its club."""
    if staff.club_id != call.club_id:
        return False
    return call.clerk_id == staff.pk or staff.role == Staff.Role.MANAGER


def _check(staff: Staff, call: Call, reason: str, *, required: bool = True) -> str:
    if call.state != Call.State.ENDED:
        raise ActionError("通話還在進行中，請直接在通話畫面修改。")
    if not may_amend(staff, call):
        raise ActionError("只有接聽這通電話的館員或本館館長可以補充說明。")
    reason = reason.strip()
    if required and not reason:
        raise ActionError("請寫下補充的理由（例如：通話中記錯電話）。", field="reason")
    if "\x00" in reason:
        raise ActionError("「補充理由」含有無法儲存的字元。", field="reason")
    if len(reason) > REASON_MAX:
        raise ActionError(f"「補充理由」太長：最多 {REASON_MAX} 字。", field="reason")
    return reason


def _store(
    call: Call, staff: Staff, kind: str, reason: str, after: dict[str, Any], at: datetime
) -> Amendment:
    """The amendment, with the card as it stood, and the call changed to `after`."""
    before = {name: getattr(call, name) for name in after}
    card = Scorecard.objects.filter(call=call).first()
    number = (call.amendments.aggregate(n=Max("number"))["n"] or 0) + 1
    amendment = Amendment.objects.create(
        call=call,
        number=number,
        kind=kind,
        by=staff,
        at=at,
        reason=reason,
        before=before,
        after=after,
        score_before=card.score if card else None,
        findings_before=list(card.findings) if card else [],
        scored_before_at=card.scored_at if card else None,
    )
    for name, value in after.items():
        setattr(call, name, value)
    call.save(update_fields=[*after, "updated_at"])
    return amendment


def call_amend_details(
    *, call: Call, staff: Staff, data: dict[str, Any], reason: str, now: datetime | None = None
) -> Amendment:
    """New caller details, note or plan for an ended call, as an amendment;
    the call is then scored again. Refused whole, naming the field, if any
    value does not fit or nothing would change."""
    amendment = _amend_details(call=call, staff=staff, data=data, reason=reason, now=now)
    call_rescore(call_id=call.pk, now=now)
    amendment.refresh_from_db()
    return amendment


@transaction.atomic(durable=True)
@locks_call
def _amend_details(
    *, call: Call, staff: Staff, data: dict[str, Any], reason: str, now: datetime | None
) -> Amendment:
    reason = _check(staff, call, reason)
    after = details_values(call, data, strict=True)
    if not after:
        raise ActionError("補充內容與原紀錄相同，沒有需要更正的地方。")
    return _store(call, staff, Amendment.Kind.DETAILS, reason, after, moment(now))


def _transcript(name: str, data: bytes) -> dict[str, Any]:
    """A transcript file as the call's `utterances` and `speech`; refused
    naming the file, line and field (services.imports.transcript_read)."""
    record = imports.transcript_read(name=name, data=data)
    return {"utterances": imports._utterances(record), "speech": imports._speech(record)}


def call_amend_transcript(
    *,
    call: Call,
    staff: Staff,
    name: str,
    data: bytes,
    reason: str = "",
    now: datetime | None = None,
) -> Amendment:
    """A transcript for an ended call, as an amendment, then scored again.
    The file is read before anything is written. Replacing a transcript the
    call already has needs a reason; the first one for a call that had none
    completes the record, and a reason is optional."""
    _check(staff, call, reason, required=bool(call.utterances))
    transcript = _transcript(name, data)
    amendment = _amend_transcript(
        call=call, staff=staff, transcript=transcript, reason=reason, now=now
    )
    call_rescore(call_id=call.pk, now=now)
    amendment.refresh_from_db()
    return amendment


@transaction.atomic(durable=True)
@locks_call
def _amend_transcript(
    *, call: Call, staff: Staff, transcript: dict[str, Any], reason: str, now: datetime | None
) -> Amendment:
    reason = _check(staff, call, reason, required=bool(call.utterances))
    return _store(call, staff, Amendment.Kind.TRANSCRIPT, reason, transcript, moment(now))


def amendments_settle(call: Call) -> bool:
    """Scores again a call whose latest amendment is not yet scored (the
    server stopped between the two); True if it did."""
    card = Scorecard.objects.filter(call=call).only("version").first()
    latest = call.amendments.aggregate(n=Max("number"))["n"]
    if latest is None or (card is not None and card.version >= latest):
        return False
    call_rescore(call_id=call.pk)
    return True
