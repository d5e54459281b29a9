"""score(): every call of a batch against every scored rule."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from callsop.engine.call import Call, Compiled
from callsop.engine.findings import (
    Basis,
    Finding,
    Outcome,
    Scorecard,
    not_applicable,
    wrong_direction,
)
from callsop.engine.history import History
from callsop.policy import Policy
from callsop.record.model import CallRecord


def score(
    records: Sequence[CallRecord],
    policy: Policy,
    *,
    now: float | None = None,
    on_progress: Callable[[int], None] | None = None,
    history: History | None = None,
    first_index: int = 0,
) -> list[Scorecard]:
    """One scorecard per record, in order. The batch is scored together so
    that history rules see retries and redials.

    `now` (epoch seconds) says how far time has run: a retry or redial whose
    window is still open at `now` is `na`, not `fail`. Without it the batch
    is taken as complete. `on_progress` is told how many calls are done.

    Part of a larger batch is scored by passing that batch's `history` and
    where `records` begin in it (`first_index`)."""
    from callsop.rules import SCORED

    compiled = Compiled.of(policy)
    if history is None:
        history = History.of(records, first_index)
    weights = [policy.weight(rule.id) for rule in SCORED]
    weak = compiled.machine_weak
    # Findings are immutable, so one `na` finding serves every call it fits.
    not_applicable: dict[tuple[str, str], Finding] = {}
    cards = []
    for index, record in enumerate(records):
        call = Call(record, first_index + index, compiled, history, now)
        findings = []
        earned = possible = 0.0
        for rule, weight in zip(SCORED, weights, strict=True):
            if rule.direction is not None and record.direction != rule.direction:
                outcome: Outcome = wrong_direction(record.direction)
            else:
                assert rule.check is not None
                outcome = rule.check(call)
                # A recogniser drops and mishears short words, so on its text a
                # weak rule's fail may be the recogniser's; its pass is kept,
                # and so is a fail that one misheard word cannot explain.
                if (
                    outcome.verdict == "fail"
                    and rule.id in weak
                    and call.speech_source == "machine"
                    and not outcome.beyond_mishearing
                ):
                    outcome = TOO_WEAK
            if outcome.verdict == "na":
                key = (rule.id, outcome.message)
                finding = not_applicable.get(key)
                if finding is None:
                    finding = not_applicable[key] = Finding(
                        rule.id, "na", rule.clause, outcome.message
                    )
                findings.append(finding)
                continue
            basis = outcome.basis or _basis(call, rule.sources)
            findings.append(
                Finding(
                    rule.id, outcome.verdict, rule.clause, outcome.message, outcome.evidence, basis
                )
            )
            possible += weight
            if outcome.verdict == "pass":
                earned += weight
        value = round(100 * earned / possible, 1) if possible else None
        cards.append(Scorecard(record.id, value, tuple(findings)))
        if on_progress is not None:
            on_progress(index + 1)
    return cards


TOO_WEAK = not_applicable("the machine transcript is too weak to fail this rule")


def _basis(call: Call, sources: tuple[str, ...]) -> Basis | None:
    """What a verdict from speech rests on, when a person's transcript was
    not it and the rule did not say (a rule of timing says "voice")."""
    if "speech" not in sources or not call.recorded:
        return None
    return "voice" if call.speech_source == "voice-only" else "machine"
