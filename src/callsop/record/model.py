"""Typed, immutable call records (see the spec's call-record.md).

msgspec decodes and validates in one pass; unknown fields are ignored.
Semantic checks that a type cannot express live in `check_record`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

SCHEMA: Final = "callsop.call/1"

Seconds = Annotated[float, msgspec.Meta(ge=0)]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]
Direction = Literal["inbound", "outbound"]
Speaker = Literal["staff", "customer", "other"]
HangupSide = Literal["staff", "customer", "network"]
EventType = Literal["dialing", "ringing", "answered", "hold", "resume", "transfer", "hangup"]
TaskKind = Literal["callback", "retry", "follow-up"]
# What was heard in a recording rather than reported by the PBX or the desk.
Origin = Literal["audio"]
SpeechSource = Literal["human", "machine", "voice-only"]


class Event(msgspec.Struct, frozen=True, omit_defaults=True):
    t: Seconds
    type: EventType
    rings: Annotated[int, msgspec.Meta(ge=0)] | None = None
    by: HangupSide | None = None
    to: str | None = None
    summary: str | None = None
    source: Origin | None = None


class Utterance(msgspec.Struct, frozen=True, omit_defaults=True):
    speaker: Speaker
    start: Seconds
    end: Seconds
    text: str = ""  # empty: voice only, who spoke when without the words
    syllables: Annotated[int, msgspec.Meta(ge=0)] | None = None  # one Chinese character each
    source: Origin | None = None


class Speech(msgspec.Struct, frozen=True, omit_defaults=True):
    """Where a record's utterances came from. No `speech` means a person's transcript."""

    source: SpeechSource = "human"
    engine: str | None = None  # the recogniser, for a machine transcript
    recording: str | None = None  # the file, or its id


class Staff(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str | None = None
    name: str | None = None


class Customer(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str | None = None
    phone: str | None = None
    known: bool = False


class Note(msgspec.Struct, frozen=True, omit_defaults=True):
    when: str | None = None
    who: str | None = None
    where: str | None = None
    what: str | None = None
    why: str | None = None
    how: str | None = None
    urgent: bool = False


class Memo(msgspec.Struct, frozen=True, omit_defaults=True, rename={"for_": "for"}):
    for_: str | None = None
    from_name: str | None = None
    from_org: str | None = None
    phone: str | None = None
    message: str | None = None


class Task(msgspec.Struct, frozen=True, omit_defaults=True):
    kind: TaskKind
    due: AwareTime | None = None
    phone: str | None = None


class Escalation(msgspec.Struct, frozen=True, omit_defaults=True):
    to: str | None = None
    at: AwareTime | None = None
    reason: str | None = None


class Complaint(msgspec.Struct, frozen=True, omit_defaults=True):
    logged_at: AwareTime
    summary: str | None = None


class Plan(msgspec.Struct, frozen=True, omit_defaults=True):
    purpose: str | None = None
    number_verified: bool = False
    name_verified: bool = False
    salutation: str | None = None
    outline: str | None = None
    time_budget_min: Annotated[float, msgspec.Meta(ge=0)] | None = None


class CallRecord(msgspec.Struct, frozen=True, omit_defaults=True):
    schema: Literal["callsop.call/1"]
    id: Annotated[str, msgspec.Meta(min_length=1)]
    started_at: AwareTime
    direction: Direction | None = None
    club: str | None = None
    line: str | None = None
    purpose: Literal["business", "personal"] | None = None
    prearranged: bool | None = None
    staff: Staff | None = None
    customer: Customer | None = None
    events: tuple[Event, ...] = ()
    utterances: tuple[Utterance, ...] = ()
    speech: Speech | None = None
    note: Note | None = None
    tags: tuple[str, ...] = ()
    memos: tuple[Memo, ...] = ()
    tasks: tuple[Task, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    complaint: Complaint | None = None
    plan: Plan | None = None


class RecordError(ValueError):
    """A record that breaks the schema; `field` is a dotted path into it."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_record(record: CallRecord, *, require_direction: bool = True) -> None:
    """Checks what the types cannot: required direction, time order of each turn."""
    if require_direction and record.direction is None:
        raise RecordError("direction", 'required: "inbound" or "outbound"')
    for i, u in enumerate(record.utterances):
        if u.end < u.start:
            raise RecordError(
                f"utterances[{i}].end", f"ends at {u.end} s, before it starts ({u.start} s)"
            )
