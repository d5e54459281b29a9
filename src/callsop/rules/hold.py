"""§4(6) Holding: ask first, and never for more than a minute."""

from __future__ import annotations

from callsop.engine.call import Call
from callsop.engine.findings import Basis, Evidence, Outcome, failed, not_applicable, passed
from callsop.rules.base import Rule, seconds, speech


def check_max_duration(call: Call) -> Outcome:
    holds = call.timeline.holds
    if not holds:
        return not_applicable("no hold")
    limit = call.policy.timing.max_hold_s
    # Holds heard in the recording (music or silence, nobody speaking) stand
    # in for the PBX's when it told of none.
    basis: Basis | None = "voice" if call.timeline.holds_heard else None
    heard = ", heard in the recording" if basis else ""
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
    holds = call.timeline.holds
    if not holds:
        return not_applicable("no hold")
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    window = call.policy.timing.ask_before_hold_s
    asks = t.find("hold_ask", "staff")
    evidence: list[Evidence] = []
    for hold in holds:
        said = next(
            (
                h
                for h in asks
                if t.utterances[h.utterance].start <= hold.start
                and t.utterances[h.utterance].end >= hold.start - window
            ),
            None,
        )
        if said is None:
            return failed(
                f"hold at {hold.start:g} s without 請稍候 in the {window:g} s before",
                {"t": hold.start},
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
        "music or silence with nobody speaking)",
        checks="every hold lasts at most the policy's 60 s",
        applies_zh="有保留的通話（來自總機或櫃檯；若兩者皆無，則為錄音中聽到的等候音樂或靜音）",
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
        applies="calls with a hold",
        checks="staff says 請稍候 (or a variant) in the 15 s before each hold",
        applies_zh="有保留的通話",
        checks_zh="每次保留前 15 秒內，館員有說請稍候（或類似說法）",
        why="電話裏讓人稍等就不能讓人久等。禮貌用語：請稍候。",
        options=("timing.ask_before_hold_s", "phrases.hold_ask"),
        check=check_ask_before_hold,
    ),
)
