"""A call as a script of lines, holds and pauses, and its truth on a timeline.

A script is a sequence of steps. Each line starts `gap` seconds after the
end of everything said before it (a negative gap talks over the previous
line); a hold starts `gap` seconds after the last line and lasts its
seconds; a pause makes the next gap exactly its seconds (dead air). The
truth is every utterance with its true start and end, and the talk-overs,
holds and dead air that follow from the timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.audio.sound import Music, clip

Speaker = Literal["staff", "customer"]
Direction = Literal["inbound", "outbound"]

TALK_OVER_MIN_S = 0.3  # both sides at once for this long is a talk-over
DEAD_AIR_MIN_S = 3.0  # both sides silent this long, off hold, is dead air
HANGUP_AFTER_S = 1.0  # the last word to the hangup


@dataclass(frozen=True)
class Say:
    speaker: Speaker
    clip: str  # a line id of speech/lines.toml
    gap: float = 0.6


@dataclass(frozen=True)
class Hold:
    seconds: float
    music: bool = True  # False: the line is silent on hold
    pbx: bool = True  # the PBX reports the hold and the resume
    gap: float = 0.5


@dataclass(frozen=True)
class Pause:
    seconds: float


Step = Say | Hold | Pause


@dataclass(frozen=True)
class Script:
    id: str
    direction: Direction
    steps: tuple[Step, ...]
    hangup_by: Literal["staff", "customer"]
    answer_at: float = 2.5  # the recording starts with the ringing
    fields: Mapping[str, Any] = field(default_factory=dict)  # the rest of the record


@dataclass(frozen=True)
class Spoken:
    speaker: Speaker
    start: float
    end: float
    text: str
    clip: str


@dataclass(frozen=True)
class Span:
    start: float
    end: float
    kind: str = ""  # a hold's: "tonal", "hard" or "silence"

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Truth:
    duration: float  # the recording, from the ringing to the hangup
    answered: float
    utterances: tuple[Spoken, ...]
    holds: tuple[Span, ...]
    talk_overs: tuple[Span, ...]
    dead_air: tuple[Span, ...]
    pbx_holds: tuple[Span, ...]  # the holds the PBX reports


def lay_out(script: Script, music: Music = "tonal") -> Truth:
    """The script's timeline: where every line and hold falls."""
    cursor = script.answer_at + 0.3
    forced_gap: float | None = None
    spoken: list[Spoken] = []
    holds: list[Span] = []
    pbx: list[Span] = []
    for step in script.steps:
        if isinstance(step, Pause):
            forced_gap = step.seconds
            continue
        gap = step.gap if forced_gap is None else forced_gap
        forced_gap = None
        start = round(cursor + gap, 3)
        if isinstance(step, Hold):
            hold = Span(start, round(start + step.seconds, 3), music if step.music else "silence")
            holds.append(hold)
            if step.pbx:
                pbx.append(hold)
            cursor = hold.end
            continue
        line = clip(step.clip)
        end = round(start + len(line.audio) / 16000, 3)
        spoken.append(Spoken(step.speaker, start, end, line.text, step.clip))
        cursor = max(cursor, end)
    duration = round(cursor + HANGUP_AFTER_S, 3)
    return Truth(
        duration,
        script.answer_at,
        tuple(spoken),
        tuple(holds),
        talk_overs(spoken),
        dead_air(spoken, holds, script.answer_at, duration),
        tuple(pbx),
    )


def talk_overs(spoken: list[Spoken]) -> tuple[Span, ...]:
    staff = [u for u in spoken if u.speaker == "staff"]
    found = []
    for other in (u for u in spoken if u.speaker == "customer"):
        for line in staff:
            start, end = max(line.start, other.start), min(line.end, other.end)
            if end - start >= TALK_OVER_MIN_S:
                found.append(Span(start, end))
    return tuple(sorted(found, key=lambda s: s.start))


def dead_air(
    spoken: list[Spoken], holds: list[Span], answered: float, duration: float
) -> tuple[Span, ...]:
    """Stretches after the answer where nobody speaks and nobody is on hold."""
    busy = sorted([(u.start, u.end) for u in spoken] + [(h.start, h.end) for h in holds])
    found = []
    quiet_from = answered
    for start, end in busy:
        if start - quiet_from >= DEAD_AIR_MIN_S and quiet_from > answered:
            found.append(Span(round(quiet_from, 3), round(start, 3)))
        quiet_from = max(quiet_from, end)
    if duration - quiet_from >= DEAD_AIR_MIN_S:
        found.append(Span(round(quiet_from, 3), round(duration, 3)))
    return tuple(found)
