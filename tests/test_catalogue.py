"""The catalogue keeps the contract of rules.md and every rule carries its docs."""

from __future__ import annotations

import re

import pytest

from callsop.rules import CATALOGUE, RULES_BY_ID, SCORED
from callsop.rules.base import SOURCES, Rule

# The rule ids of rules.md: a contract. Never drop or rename one.
CONTRACT = [
    "outbound.plan-complete",
    "outbound.greeting",
    "outbound.self-introduction",
    "outbound.verify-party",
    "outbound.thank-for-fetching",
    "outbound.apologize-unscheduled",
    "outbound.next-contact",
    "outbound.no-answer-give-up",
    "outbound.retry-after-no-answer",
    "outbound.redial-after-drop",
    "inbound.answer-promptly",
    "inbound.apologize-late-answer",
    "inbound.greeting-with-club-name",
    "inbound.ask-caller-identity",
    "inbound.message-for-absent",
    "inbound.warm-transfer",
    "inbound.escalate-urgent",
    "inbound.ask-contact-details",
    "inbound.visitor-callback",
    "complaint.same-day-record",
    "complaint.listen-and-clarify",
    "hold.max-duration",
    "hold.ask-before-hold",
    "talk.no-filler-strings",
    "talk.no-arguing",
    "talk.never-guess-name",
    "talk.use-caller-name",
    "talk.polite-expressions",
    "talk.repeat-back",
    "talk.recap-key-points",
    "talk.ask-to-continue",
    "talk.dont-guess-answers",
    "talk.speech-rate",
    "talk.listen-share",
    "talk.no-talk-over",
    "close.farewell",
    "close.customer-hangs-up-first",
    "note.five-w-one-h",
    "line.business-only",
    "guide.prepare-material",
    "guide.prepare-hard-call",
    "guide.lift-left-write-right",
    "guide.know-the-club",
    "guide.visitor-first",
    "guide.quiet-near-open-line",
    "guide.smile-and-posture",
    "guide.no-speakerphone",
    "guide.no-eating",
    "guide.manners-of-speaking",
]


def test_every_contract_rule_is_in_the_catalogue() -> None:
    missing = [rule_id for rule_id in CONTRACT if rule_id not in RULES_BY_ID]
    assert not missing


def test_rule_ids_are_unique_and_well_formed() -> None:
    ids = [rule.id for rule in CATALOGUE]
    assert len(ids) == len(set(ids))
    for rule_id in ids:
        assert re.fullmatch(r"[a-z]+\.[a-z0-9]+(-[a-z0-9]+)*", rule_id), rule_id


def test_guide_rules_are_guidance_and_only_they_are() -> None:
    for rule in CATALOGUE:
        assert rule.guide == rule.id.startswith("guide."), rule.id
        assert (rule.sources == ("guide",)) == rule.guide, rule.id
    assert all(not rule.guide for rule in SCORED)


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda r: r.id)
def test_rule_has_its_docs(rule: Rule) -> None:
    assert re.fullmatch(r"[\d.()]+(, [\d.()]+)*", rule.clause), rule.clause
    assert re.search(r"[\u4e00-\u9fff]", rule.title), "title must be zh-Hant"
    assert re.search(r"[\u4e00-\u9fff]", rule.why), "why quotes the SOP"
    assert re.search(r"[\u4e00-\u9fff]", rule.applies_zh), "applies in zh-Hant"
    assert re.search(r"[\u4e00-\u9fff]", rule.checks_zh), "checks in zh-Hant"
    assert len(rule.applies) >= 8
    assert len(rule.checks) >= 8
    assert set(rule.sources) <= set(SOURCES)


@pytest.mark.parametrize("rule", SCORED, ids=lambda r: r.id)
def test_rule_options_exist_in_the_policy(rule: Rule) -> None:
    from callsop.policy import default_policy
    from callsop.report.catalogue import option_value

    for key in rule.options:
        assert option_value(default_policy(), key) is not None, key
