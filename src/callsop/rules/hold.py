"""§4(6) Holding: ask first, and never for more than a minute."""

from __future__ import annotations

from callsop.engine.call import Call
from callsop.engine.findings import Basis, Evidence, Outcome, failed, not_applicable, passed
from callsop.engine.timeline import Hold
from callsop.rules.base import Rule, seconds, speech
from callsop.rules.common import maybe_misheard
from callsop.rules.speech_acts import SpokenHold, spoken_holds

HEARD_IN_SPEECH = ", heard in speech"


def _spoken(call: Call) -> list[SpokenHold]:
    """Holds staff announced in speech (请您稍等一下 … 感谢您耐心等候, with
    the silence between), when no event told of any hold."""
    if call.timeline.holds:
        return []
    t = call.transcript
    if t is None or call.one_track:
        return []
    cached: list[SpokenHold] | None = t.memo.get("spoken_holds")
    if cached is None:
        cached = t.memo["spoken_holds"] = spoken_holds(t)
    return cached


def holds_of(call: Call) -> tuple[list[Hold], bool]:
    """The call's holds, and whether they were heard in speech alone."""
    if call.timeline.holds:
        return call.timeline.holds, False
    spoken = _spoken(call)
    return [Hold(h.start, h.end, True) for h in spoken], bool(spoken)


def check_max_duration(call: Call) -> Outcome:
    holds, in_speech = holds_of(call)
    if not holds:
        return not_applicable("no hold")
    limit = call.policy.timing.max_hold_s
    # Holds heard in the recording (music or silence, nobody speaking) stand
    # in for the PBX's when it told of none; so do holds announced in speech.
    basis: Basis | None = "voice" if call.timeline.holds_heard else None
    if in_speech and call.speech_source == "machine":
        basis = "machine"
    heard = ""
    if call.timeline.holds_heard:
        heard = ", heard in the recording"
    elif in_speech:
        heard = HEARD_IN_SPEECH
    longest = 0.0
    for hold in holds:
        if hold.end is None:
            return not_applicable(f"hold at {hold.start:g} s has no end time")
        length = hold.end - hold.start
        if length > limit:
            how = "" if hold.resumed else ", never resumed"
            return failed(
                f"hold of {seconds(length)} at {hold.start:g} s (> {seconds(limit)}){how}{heard}",
                {"t": hold.start},
                {"t": hold.end},
                basis=basis,
            )
        longest = max(longest, length)
    count = "one hold" if len(holds) == 1 else f"{len(holds)} holds, the longest"
    evidence: list[Evidence] = []
    for hold in holds:
        evidence += [{"t": hold.start}, {"t": hold.end}]
    return passed(
        f"{count} of {seconds(longest)} (≤ {seconds(limit)}){heard}", *evidence, basis=basis
    )


def check_ask_before_hold(call: Call) -> Outcome:
    holds, in_speech = holds_of(call)
    if not holds:
        return not_applicable("no hold")
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    window = call.policy.timing.ask_before_hold_s
    asks = t.find("hold_ask", "staff")
    evidence: list[Evidence] = []
    for n, hold in enumerate(holds):
        asked = _spoken(call)[n].ask if in_speech else None
        if asked is not None:
            evidence.append(t.turn(asked))
            continue
        before = [
            i
            for i in t.staff
            if t.utterances[i].start <= hold.start and t.utterances[i].end >= hold.start - window
        ]
        said = next((h for h in asks if h.utterance in before), None)
        if said is None:
            return failed(
                f"hold at {hold.start:g} s without 請稍候 in the {window:g} s before",
                {"t": hold.start},
                beyond_mishearing=not maybe_misheard(call, t, ["hold_ask"], before),
            )
        evidence.append(t.evidence(said))
    return passed("asked the caller to wait before every hold", *evidence)


RULES = (
    Rule(
        id="hold.max-duration",
        clause="4(6)",
        title="等候不超過一分鐘",
        sources=("events",),
        applies="calls with a hold (from the PBX or the desk; else heard in the recording as "
        "music or silence with nobody speaking; else announced in speech: a silence of 8 s or "
        "more after staff asks the caller to wait, or before staff thanks them for waiting)",
        checks="every hold lasts at most the policy's 60 s",
        applies_zh="有保留的通話（來自總機或櫃檯；若兩者皆無，則為錄音中聽到的等候音樂或靜音；"
        "再無，則為對話中說出的保留：館員請對方稍候後、或感謝對方耐心等候前，有 8 秒以上的靜默）",
        checks_zh="每次保留不超過設定的 60 秒",
        why="電話裏讓人稍等就不能讓人久等（不超過一分鐘）。",
        options=("timing.max_hold_s",),
        check=check_max_duration,
    ),
    Rule(
        id="hold.ask-before-hold",
        clause="4(6), 7",
        title="保留前說請稍候",
        sources=("events", "speech"),
        applies="calls with a hold (as hold.max-duration finds them)",
        checks="staff says 請稍候 (or a variant) in the 15 s before each hold",
        applies_zh="有保留的通話（認定方式同「等候不超過一分鐘」）",
        checks_zh="每次保留前 15 秒內，館員有說請稍候（或類似說法）",
        why="電話裏讓人稍等就不能讓人久等。禮貌用語：請稍候。",
        options=("timing.ask_before_hold_s", "phrases.hold_ask"),
        check=check_ask_before_hold,
    ),
)
