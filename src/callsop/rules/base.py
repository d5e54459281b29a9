"""What a rule is: its id, clause, docs and check. Every rule has the same doc
skeleton, from which `callsop rules ID` and the web catalogue are made."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callsop.engine.call import Call
from callsop.engine.findings import Outcome, failed, not_applicable, passed
from callsop.engine.transcript import Transcript

Check = Callable[[Call], Outcome]

SOURCES = ("events", "speech", "record", "history", "guide")


@dataclass(frozen=True)
class Rule:
    id: str
    clause: str
    title: str  # zh-Hant, a few words for tables and the desk
    sources: tuple[str, ...]
    applies: str  # when the rule applies; otherwise the verdict is na
    checks: str  # what passes
    why: str  # the SOP's own words
    applies_zh: str = ""  # `applies` in Traditional Chinese, shown to clerks and managers
    checks_zh: str = ""  # `checks` in Traditional Chinese
    options: tuple[str, ...] = ()  # policy keys the rule reads
    check: Check | None = None  # None: guidance only, never scored
    # Only calls of this direction: score() gives the others na ("inbound
    # call") without running `check`, which may take the direction as given.
    direction: str | None = None

    @property
    def guide(self) -> bool:
        return self.check is None


NO_SPEECH = not_applicable("no transcript: the call has no utterances")
NO_WORDS = not_applicable("voice only: the recording tells who spoke when, not the words")
ONE_TRACK = not_applicable("one track: the recording does not tell staff from customer")


def answered_or_na(call: Call) -> Outcome | None:
    """None when the call was answered, else the na that says why not."""
    if call.answered is True:
        return None
    if call.answered is False:
        return not_applicable("call never answered")
    return not_applicable("no events or speech show whether the call was answered")


def speech(call: Call) -> Transcript | Outcome:
    """The words of the call, or the na that says why a rule cannot read them."""
    if call.one_track:
        return ONE_TRACK
    if call.transcript is not None:
        return call.transcript
    return NO_WORDS if call.record.utterances else NO_SPEECH


def voice(call: Call) -> Transcript | Outcome:
    """Who spoke when (words or not), for the rules of timing and share."""
    if call.one_track:
        return ONE_TRACK
    return call.voice if call.voice is not None else NO_SPEECH


def seconds(value: float) -> str:
    """Seconds as a person reads them: 34 s, 75 s, 4 min 10 s."""
    value = round(value)
    if value < 120:
        return f"{value} s"
    minutes, rest = divmod(value, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def staff_turn_says(call: Call, which: int, list_name: str, missing: str, found: str) -> Outcome:
    """Whether the staff's turn `which` (0 the first, -1 the last) holds a
    phrase of `list_name`; `found` may name the phrase as {phrase}."""
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    if not t.staff:
        return failed("staff never spoke")
    turn = t.staff[which]
    hit = t.first(list_name, [turn])
    if hit is None:
        return failed(missing, t.turn(turn))
    return passed(found.format(phrase=hit.phrase), t.evidence(hit))
