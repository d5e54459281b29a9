"""The engine's call record, rebuilt from the desk's tables (call-record.md)."""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from callsop.desk.models import Call
from callsop.record.model import SCHEMA, CallRecord, check_record


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def record_data(call: Call) -> dict[str, Any]:
    """The record as plain JSON data, in the exchange format's field order."""
    start = call.started_at
    events = []
    for e in call.events.all():
        event: dict[str, Any] = {
            "t": round(max(0.0, (e.at - start).total_seconds()), 2),
            "type": e.type,
        }
        if e.by:
            event["by"] = e.by
        if e.to_id is not None:
            event["to"] = str(e.to_id)
        if e.summary:
            event["summary"] = e.summary
        if e.rings is not None:
            event["rings"] = e.rings
        if e.source:
            event["source"] = e.source
        events.append(event)
    note = {
        key: getattr(call, f"note_{key}")
        for key in ("when", "who", "where", "what", "why", "how")
        if getattr(call, f"note_{key}")
    }
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "id": call.record_id,
        "club": call.club.code,
        "direction": call.direction,
        "line": call.line,
        "purpose": call.purpose,
        "started_at": start.isoformat(),
        "staff": {"id": str(call.clerk_id), "name": call.clerk.name} if call.clerk else {},
        "customer": {
            "name": call.caller_name or call.plan_name or None,
            "phone": call.caller_phone or None,
            "known": call.customer_known,
        },
        "events": events,
        "utterances": call.utterances,
        "speech": call.speech or None,
        "note": {**note, "urgent": call.note_urgent} if note or call.note_urgent else None,
        "tags": list(call.tags),
        "memos": [
            {
                "for": str(m.for_staff_id),
                "from_name": m.from_name,
                "from_org": m.from_org or None,
                "phone": m.phone,
                "message": m.message,
            }
            for m in call.memos.all()
        ],
        "tasks": [
            {"kind": t.kind, "due": _iso(t.due), "phone": t.phone or None} for t in call.tasks.all()
        ],
        "escalations": [
            {"to": str(x.to_id), "at": _iso(x.at), "reason": x.reason}
            for x in call.escalations.all()
        ],
        "complaint": None,
        "plan": None,
    }
    complaint = getattr(call, "complaint", None)
    if complaint is not None:
        data["complaint"] = {"logged_at": _iso(complaint.logged_at), "summary": complaint.summary}
    if call.direction == "outbound":
        data["prearranged"] = bool(call.prearranged)
        data["plan"] = {
            "purpose": call.plan_purpose or None,
            "number_verified": call.plan_number_verified,
            "name_verified": call.plan_name_verified,
            "salutation": call.plan_salutation or None,
            "outline": call.plan_outline or None,
            "time_budget_min": call.plan_time_budget_min,
        }
    cleaned: dict[str, Any] = _drop_nones(data)
    return cleaned


def _drop_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nones(v) for v in value]
    return value


# The parts of a record an amendment can replace.
AMENDABLE_PARTS = ("customer", "note", "plan", "utterances", "speech")


def _as_of(call: Call, values: dict[str, Any]) -> Call:
    """An unsaved copy of `call` with `values` in place of its fields."""
    view = copy.copy(call)
    for name, value in values.items():
        setattr(view, name, value)
    return view


def record_export(call: Call) -> dict[str, Any]:
    """The record as the call ended, graded as it was, then its amendments:
    each lists, in the record's own shape, the parts it replaced (whole; null
    for a part it emptied), who made it, when, why, and the score before and
    after. Laid over the record in order, they give the call as amended."""
    amendments = list(call.amendments.select_related("by").order_by("number"))
    if not amendments:
        return record_data(call)
    values: dict[str, Any] = {}
    for amendment in reversed(amendments):
        values.update(amendment.before)
    data = record_data(_as_of(call, values))
    earlier = data
    listed = []
    for amendment in amendments:
        values.update(amendment.after)
        later = record_data(_as_of(call, values))
        listed.append(
            {
                "version": amendment.number,
                "at": amendment.at.isoformat(),
                "by": {"id": str(amendment.by_id), "name": amendment.by.name},
                "reason": amendment.reason,
                "replaces": {
                    part: later.get(part)
                    for part in AMENDABLE_PARTS
                    if later.get(part) != earlier.get(part)
                },
                "score": {"before": amendment.score_before, "after": amendment.score_after},
            }
        )
        earlier = later
    data["amendments"] = listed
    return data


def record_of(call: Call) -> CallRecord:
    record = msgspec.convert(record_data(call), CallRecord, strict=False)
    check_record(record)
    return record
