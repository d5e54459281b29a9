"""What the engine says about a call: findings, and the scorecard that holds them."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Verdict = Literal["pass", "fail", "na"]
Evidence = dict[str, Any]
# What a verdict rests on when a person's transcript was not it: a machine
# transcript's words, or voice activity alone (who spoke when).
Basis = Literal["machine", "voice"]


class Outcome(msgspec.Struct, frozen=True, gc=False):
    """A rule's verdict on one call, before the engine names the rule."""

    verdict: Verdict
    message: str
    evidence: tuple[Evidence, ...] = ()
    basis: Basis | None = None  # None: the engine judges from the rule's sources
    # A fail no single misheard word explains: it stands on a machine
    # transcript even for a rule held too weak to fail one.
    beyond_mishearing: bool = False


def passed(message: str, *evidence: Evidence, basis: Basis | None = None) -> Outcome:
    return Outcome("pass", message, evidence, basis)


def failed(
    message: str,
    *evidence: Evidence,
    basis: Basis | None = None,
    beyond_mishearing: bool = False,
) -> Outcome:
    return Outcome("fail", message, evidence, basis, beyond_mishearing)


def not_applicable(reason: str) -> Outcome:
    return Outcome("na", reason)


_DIRECTION_UNKNOWN = not_applicable("direction not known")
_OTHER_DIRECTION = {d: not_applicable(f"{d} call") for d in ("inbound", "outbound")}


def wrong_direction(direction: str | None) -> Outcome:
    """The na of a rule for the other direction's calls."""
    return _OTHER_DIRECTION[direction] if direction is not None else _DIRECTION_UNKNOWN


class Finding(msgspec.Struct, frozen=True, omit_defaults=True):
    """One rule's verdict on one call, as `call-record.md` prints it."""

    rule: str
    verdict: Verdict
    clause: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    basis: Basis | None = None


class Scorecard(msgspec.Struct, frozen=True):
    call: str
    score: float | None
    findings: tuple[Finding, ...]

    def verdict(self, rule_id: str) -> Verdict:
        for finding in self.findings:
            if finding.rule == rule_id:
                return finding.verdict
        raise KeyError(rule_id)
