"""The PBX's call events on the desk: stored raw, then applied to the desk's calls.

Each event is stored first under a key that a repeat shares, so a repeat is
never stored twice. Applying one is idempotent by the call's state (an
answer for a call already talking, a hang-up for one already ended, an event
older than the one applied change nothing), so if the process stops between
acting and marking the event done, applying it again changes nothing either:
every event takes effect exactly once. Events are applied in capture order
per call, whatever order they arrived in."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from callsop.desk.models import Call, CallEvent, ClubLine, PbxEvent, Staff
from callsop.desk.services import calls as svc
from callsop.desk.services import outbound
from callsop.desk.services.errors import ActionError
from callsop.engine.history import normalise_phone
from callsop.telephony.dialogs import CallEvent as PbxCallEvent

logger = logging.getLogger(__name__)


def _key(source: str, event: PbxCallEvent) -> str:
    parts = (event.call_id, event.kind, f"{event.at:.3f}", event.by or "", event.target or "")
    return f"{source}:" + "|".join(parts)


def pbx_event_store(
    *, source: str, event: PbxCallEvent, payload: Mapping[str, Any] | None = None
) -> PbxEvent | None:
    """Keeps the event as received; None when it was received before."""
    row = PbxEvent(
        source=source,
        key=_key(source, event)[:300],
        call_id=event.call_id[:200],
        kind=event.kind,
        at=datetime.fromtimestamp(event.at, UTC),
        caller=(event.caller or "")[:80],
        callee=(event.callee or "")[:80],
        by=event.by or "",
        cause=(event.cause or "")[:40],
        target=(event.target or "")[:80],
        payload=dict(payload) if payload is not None else _as_payload(event),
        received_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return None
    return row


def _as_payload(event: PbxCallEvent) -> dict[str, Any]:
    return {
        "call_id": event.call_id,
        "kind": event.kind,
        "at": event.at,
        "caller": event.caller,
        "callee": event.callee,
        "by": event.by,
        "cause": event.cause,
        "target": event.target,
    }


def pbx_events_apply(*, limit: int = 1000) -> int:
    """Applies the stored events not yet applied, oldest capture first; how many."""
    done = 0
    pending = PbxEvent.objects.filter(processed_at__isnull=True).order_by("at", "pk")[:limit]
    for row in list(pending):
        try:
            outcome = _apply(row)
        except OperationalError:
            raise  # the database is busy or gone: the event waits for the next round
        except Exception as exc:
            # One event the desk cannot take must not hold up every one after it.
            logger.exception("PBX event %s (%s of %s) not applied", row.pk, row.kind, row.call_id)
            outcome = f"error: {exc!r}"
        PbxEvent.objects.filter(pk=row.pk, processed_at__isnull=True).update(
            processed_at=timezone.now(), outcome=outcome[:200]
        )
        done += 1
    return done


def _line_of(number: str) -> ClubLine | None:
    key = normalise_phone(number)
    if not key:
        return None
    return ClubLine.objects.select_related("club").filter(number=key).first()


_LEADING_EXTENSION = re.compile(r"(\d+)(?:[-_.;]|$)")


def _staff_at(extension: str, club_id: int | None = None) -> Staff | None:
    """The one member of staff at this extension. A phone's Contact may add
    an instance mark to it (baresip's 101-0x5567…): the leading digits count."""
    if not extension:
        return None
    match = _LEADING_EXTENSION.match(extension)
    if match is not None:
        extension = match.group(1)
    qs = Staff.objects.filter(extension=extension).exclude(role=Staff.Role.HQ)
    if club_id is not None:
        qs = qs.filter(club_id=club_id)
    found = list(qs[:2])
    return found[0] if len(found) == 1 else None


def _apply(row: PbxEvent) -> str:
    call = (
        Call.objects.select_related("club", "clerk")
        .filter(source="pbx", external_id=row.call_id)
        .first()
    )
    if call is None:
        return _first_event(row)
    try:
        return _next_event(call, row)
    except ActionError as exc:
        return f"ignored: {exc.message}"


def _first_event(row: PbxEvent) -> str:
    if row.kind not in ("offered", "ringing", "answered"):
        return f"ignored: {row.kind} of a call the desk never saw ring"
    line = _line_of(row.callee)
    agent = _staff_at(row.callee)
    dialler = _staff_at(row.caller) if line is None and agent is None else None
    if dialler is not None and dialler.club is not None:
        call = outbound.outbound_dialled_on_phone(
            club=dialler.club,
            clerk=dialler,
            phone=row.callee,
            external_id=row.call_id,
            now=row.at,
        )
        return f"outgoing call {call.pk} dialled at extension {row.caller}"
    club = line.club if line else (agent.club if agent else None)
    if club is None:
        return f"ignored: {row.callee or 'no number'} is no club's line or extension"
    call = svc.call_ring(
        club=club,
        phone=row.caller,
        line=line.kind if line else "main",
        source="pbx",
        external_id=row.call_id,
        now=row.at,
    )
    if row.kind == "answered":
        svc.call_answer(call=call, clerk=_staff_at(row.target, club.pk) or agent, now=row.at)
        return f"call {call.pk} rang and was answered"
    return f"call {call.pk} ringing"


def _last_applied(call: Call) -> datetime | None:
    return call.events.order_by("-at").values_list("at", flat=True).first()


def _next_event(call: Call, row: PbxEvent) -> str:
    if call.state == Call.State.ENDED:
        return "ignored: the call has ended"
    last = _last_applied(call)
    if last is not None and row.at < last:
        return "ignored: older than what the call already shows"
    kind = row.kind
    if kind in ("offered", "ringing"):
        return "ignored: already ringing"
    if kind == "answered":
        if call.state != Call.State.RINGING:
            return "ignored: already answered"
        if call.direction == "outbound":
            outbound.outbound_answered(call=call, now=row.at)
        else:
            at_phone = _staff_at(row.target, call.club_id) or _staff_at(row.callee, call.club_id)
            svc.call_answer(call=call, clerk=at_phone, now=row.at)
        return "answered"
    if kind == "hold":
        if call.state != Call.State.TALKING:
            return "ignored: not talking"
        svc.call_hold(call=call, now=row.at)
        return "held"
    if kind == "resume":
        if call.state != Call.State.HELD:
            return "ignored: not held"
        svc.call_resume(call=call, now=row.at)
        return "resumed"
    if kind == "transfer":
        _transfer(call, row)
        return "transferred"
    outbound_unanswered = call.direction == "outbound" and call.state == Call.State.RINGING
    if kind in ("cancelled", "failed") and outbound_unanswered:
        outbound.outbound_no_answer(call=call, now=row.at)  # with its retry task
        return "no answer; retry due"
    if kind in ("hangup", "cancelled", "failed"):
        svc.call_end(call=call, by=_side(call, row), now=row.at)
        return f"ended ({kind})"
    return f"ignored: unknown kind {kind}"


@transaction.atomic(durable=True)
def _transfer(call: Call, row: PbxEvent) -> None:
    """A transfer made on the phone, not through the desk, so with no briefing
    on record; the call goes on until its hang-up. (A transfer made through
    the desk ends the call there, briefing and all, so the PBX's report of it
    finds the call ended.)"""
    to = _staff_at(row.target, call.club_id)
    CallEvent.objects.create(call=call, at=row.at, type="transfer", to=to)
    call.outcome = Call.Outcome.TRANSFERRED
    call.save(update_fields=["outcome", "updated_at"])


def _side(call: Call, row: PbxEvent) -> str:
    if row.kind in ("cancelled", "failed"):
        return "customer" if call.direction == "inbound" else "staff"
    if row.cause == "network":
        return "network"
    caller_side = row.by == "caller"
    customer_called = call.direction == "inbound"
    return "customer" if caller_side == customer_called else "staff"


def pbx_live_histories(*, source: str = "hep") -> list[list[PbxCallEvent]]:
    """The stored events of each call still live on the desk, in capture
    order: what a restarted collector takes up its dialogs from."""
    live = Call.objects.filter(
        source="pbx", state__in=[Call.State.RINGING, Call.State.TALKING, Call.State.HELD]
    ).values_list("external_id", flat=True)
    rows = PbxEvent.objects.filter(source=source, call_id__in=list(live)).order_by("at", "pk")
    histories: dict[str, list[PbxCallEvent]] = {}
    for row in rows:
        histories.setdefault(row.call_id, []).append(pbx_event_from_mapping(row.payload))
    return list(histories.values())


def pbx_event_from_mapping(data: Mapping[str, Any]) -> PbxCallEvent:
    """An event from its stored payload (for re-applying, and tests)."""
    return PbxCallEvent(
        call_id=str(data["call_id"]),
        kind=data["kind"],
        at=float(data["at"]),
        caller=data.get("caller"),
        callee=data.get("callee"),
        by=data.get("by"),
        cause=data.get("cause"),
        target=data.get("target"),
    )
