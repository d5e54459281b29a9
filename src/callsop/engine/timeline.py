"""Telephony facts of one call, read from its events."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from callsop.record.model import CallRecord, Event


@dataclass(frozen=True, slots=True)
class Hold:
    start: float
    end: float | None  # None: the call ended on hold with no time known
    resumed: bool


def rings_between(start: float, end: float, period: float) -> int:
    """Rings heard from `start` to `end`: ceil(seconds / period), to the millisecond."""
    seconds = round(end - start, 3)
    return max(0, math.ceil(seconds / period - 1e-9))


class Timeline:
    def __init__(self, record: CallRecord) -> None:
        events = list(record.events)
        if any(e.source == "audio" for e in events):
            events = _reported_holds_first(events)
        if any(a.t > b.t for a, b in itertools.pairwise(events)):
            events.sort(key=lambda e: e.t)
        self.events = events
        self.reported = [e for e in events if e.source is None]  # by the PBX or the desk
        first: dict[str, Event] = {}
        for event in reversed(events):  # the earliest of each type stays
            first[event.type] = event
        self.dialing = first.get("dialing")
        self.ringing = first.get("ringing")
        self.answered = first.get("answered")
        self.hangup = first.get("hangup")
        self.transfers = [e for e in events if e.type == "transfer"] if "transfer" in first else []
        self.holds = _holds(events, self.hangup) if "hold" in first else []

    @property
    def has_events(self) -> bool:
        """Whether the PBX or the desk told of the call (holds heard in its
        recording alone do not say whether it was answered)."""
        return bool(self.reported)

    @property
    def holds_heard(self) -> bool:
        """The holds come from the recording, not from the PBX."""
        return any(e.source == "audio" for e in self.events if e.type == "hold")

    def ring_count(self, end: float, period: float) -> int | None:
        """Rings from the ringing event to `end`, or the PBX's own count."""
        if self.ringing is None:
            return None
        if self.ringing.rings is not None:
            return self.ringing.rings
        return rings_between(self.ringing.t, end, period)


def _reported_holds_first(events: list[Event]) -> list[Event]:
    """Holds the PBX or the desk reported outrank holds heard in the
    recording: when there are any, the heard ones are dropped."""
    if any(e.type in ("hold", "resume") and e.source is None for e in events):
        return [e for e in events if e.source is None or e.type not in ("hold", "resume")]
    return events


def _holds(events: list[Event], hangup: Event | None) -> list[Hold]:
    holds: list[Hold] = []
    open_at: float | None = None
    for event in events:
        if event.type == "hold" and open_at is None:
            open_at = event.t
        elif event.type in ("resume", "transfer", "hangup") and open_at is not None:
            holds.append(Hold(open_at, event.t, event.type == "resume"))
            open_at = None
    if open_at is not None:
        holds.append(Hold(open_at, hangup.t if hangup else None, False))
    return holds
