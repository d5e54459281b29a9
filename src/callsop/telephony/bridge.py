"""From a dialog's call events to the engine's call record.

The PBX knows ring, answer, hold, transfer and hang-up to the millisecond;
this turns them into the `events` of a `callsop.call/1` record, so the
timing rules are measured, not typed in. Which side is staff follows the
direction: on an incoming call the caller is the customer, on an outgoing
one the caller is the desk.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from callsop.record.model import SCHEMA, CallRecord, Customer, Direction, Event, Staff
from callsop.telephony.dialogs import CallEvent, Side

_KEPT = {"ringing", "answered", "hold", "resume", "transfer", "hangup"}


def who(side: Side | None, direction: Direction) -> str | None:
    """The record's side (staff or customer) of a dialog's side."""
    if side is None:
        return None
    caller_is_staff = direction == "outbound"
    return "staff" if (side == "caller") == caller_is_staff else "customer"


def record_of(
    events: Sequence[CallEvent], *, direction: Direction, record_id: str, club: str | None = None
) -> CallRecord:
    """The call record of one dialog's events (in the order they came).

    `started_at` is the first event; every `t` is seconds from it. An
    outgoing call starts with `dialing`; a line dropped (Q.850 cause) hangs
    up by `network`; an unanswered call that was cancelled or failed ends
    with a hang-up by whoever gave up."""
    if not events:
        raise ValueError("a call record needs at least one event")
    start = events[0].at
    out: list[Event] = []
    if direction == "outbound":
        out.append(Event(t=0.0, type="dialing"))
    for event in events:
        t = round(event.at - start, 3)
        if event.kind == "hangup":
            by = "network" if event.cause == "network" else who(event.by, direction)
            out.append(Event(t=t, type="hangup", by=by))  # type: ignore[arg-type]
        elif event.kind in ("cancelled", "failed"):
            by = who(event.by, direction) if event.by else None
            out.append(Event(t=t, type="hangup", by=by))  # type: ignore[arg-type]
        elif event.kind == "transfer":
            out.append(Event(t=t, type="transfer", to=event.target))
        elif event.kind in _KEPT:
            out.append(Event(t=t, type=event.kind))  # type: ignore[arg-type]
    first = events[0]
    customer_number = first.caller if direction == "inbound" else first.callee
    desk_number = first.callee if direction == "inbound" else first.caller
    return CallRecord(
        schema=SCHEMA,
        id=record_id,
        started_at=datetime.fromtimestamp(start, UTC),
        direction=direction,
        club=club,
        staff=Staff(id=desk_number),
        customer=Customer(phone=customer_number),
        events=tuple(out),
    )
