"""The rule catalogue: one explicit registry of every rule, in the order of
rules.md. Rule ids are a contract: never drop or rename one."""

from __future__ import annotations

from callsop.rules import close, complaint, guide, hold, inbound, outbound, pace, record, talk
from callsop.rules.base import Rule

CATALOGUE: tuple[Rule, ...] = (
    *outbound.RULES,
    *inbound.RULES,
    *complaint.RULES,
    *hold.RULES,
    *talk.RULES,
    *pace.RULES,
    *close.RULES,
    *record.RULES,
    *guide.RULES,
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in CATALOGUE}
SCORED: tuple[Rule, ...] = tuple(rule for rule in CATALOGUE if not rule.guide)

__all__ = ["CATALOGUE", "RULES_BY_ID", "SCORED", "Rule"]
