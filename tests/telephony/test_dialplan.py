"""The dial plan: give-up time, retries and redials by the policy."""

from __future__ import annotations

import pytest

from callsop.engine import score
from callsop.policy import default_policy
from callsop.telephony.bridge import record_of
from callsop.telephony.dialogs import CallEvent
from callsop.telephony.dialplan import Attempt, Dial, next_dial, ring_for_s


def test_it_rings_into_the_tenth_ring_and_no_further() -> None:
    policy = default_policy()
    assert ring_for_s(policy) == 28.5
    events = [
        CallEvent("c", "ringing", 100.0, "201", "0912345678"),
        CallEvent("c", "cancelled", 100.0 + ring_for_s(policy), "201", "0912345678", by="caller"),
    ]
    record = record_of(events, direction="outbound", record_id="c")
    card = score([record], policy)[0]
    assert card.verdict("outbound.no-answer-give-up") == "pass"


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "failed"])
def test_an_unanswered_attempt_is_retried_within_three_to_five_minutes(outcome: str) -> None:
    attempt = Attempt("0912345678", 0.0, 28.5, outcome)  # type: ignore[arg-type]
    assert next_dial(attempt, default_policy()) == Dial("0912345678", 28.5 + 240.0, "retry", 2)


def test_a_dropped_line_is_redialled_at_once() -> None:
    attempt = Attempt("0912345678", 0.0, 95.0, "dropped")
    assert next_dial(attempt, default_policy()) == Dial("0912345678", 95.0, "redial", 1)


@pytest.mark.parametrize(
    "attempt",
    [
        Attempt("0912345678", 0.0, 60.0, "answered"),
        Attempt("0912345678", 0.0, 28.5, "no-answer", final=True),
    ],
)
def test_answered_or_final_attempts_are_done(attempt: Attempt) -> None:
    assert next_dial(attempt, default_policy()) is None


def test_the_sops_one_retry_is_the_last() -> None:
    second = Attempt("0912345678", 300.0, 328.5, "no-answer", tries=2)
    assert next_dial(second, default_policy()) is None


def test_a_number_that_does_not_exist_is_not_tried_again() -> None:
    wrong = Attempt("0900000000", 0.0, 0.4, "failed", status=404)
    assert next_dial(wrong, default_policy()) is None
