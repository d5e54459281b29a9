"""Every scored rule's example calls come out as their file says."""

from __future__ import annotations

import pytest

from callsop.engine import score
from callsop.policy import default_policy
from callsop.rules import SCORED
from callsop.rules.examples import Example, all_examples


def _cases() -> list[pytest.param]:
    params = []
    for rule_id, examples in sorted(all_examples().items()):
        for n, example in enumerate(examples):
            params.append(pytest.param(example, id=f"{rule_id}-{example.expect}-{n}"))
    return params


@pytest.mark.parametrize("example", _cases())
def test_example_gets_its_verdict(example: Example) -> None:
    card = score(list(example.calls), default_policy())[0]
    finding = next(f for f in card.findings if f.rule == example.rule)
    assert finding.verdict == example.expect, finding.message


def test_every_scored_rule_has_a_passing_and_a_failing_example() -> None:
    missing = []
    examples = all_examples()
    for rule in SCORED:
        verdicts = {e.expect for e in examples.get(rule.id, ())}
        for wanted in ("pass", "fail"):
            if wanted not in verdicts:
                missing.append(f"{rule.id}: no {wanted} example")
    assert not missing, "\n".join(missing)


def test_examples_name_only_known_rules() -> None:
    known = {rule.id for rule in SCORED}
    assert set(all_examples()) <= known
