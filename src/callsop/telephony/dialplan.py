"""What the dialer does after each outgoing attempt, by the policy (§1.4).

Nobody answers by the tenth ring: give up, and try again 3-5 minutes later,
as many tries as the policy says. The line drops: dial again at once.
Answered, marked final, or a number that does not exist: done. So is an
attempt that never dialled the number (click-to-dial through the PBX: the
clerk's own phone was not picked up): there is nothing to retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from callsop.policy import Policy

Outcome = Literal["answered", "no-answer", "busy", "failed", "dropped"]


@dataclass(frozen=True, slots=True)
class Attempt:
    number: str
    started_at: float  # epoch seconds the number was dialled
    ended_at: float
    outcome: Outcome
    final: bool = False  # staff marked it as not to be tried again
    tries: int = 1  # this attempt's place among the tries of one contact
    status: int | None = None  # the SIP status it ended with, when it failed
    dialled: bool = True  # False: the number itself was never dialled


@dataclass(frozen=True, slots=True)
class Dial:
    number: str
    at: float  # when to dial
    reason: Literal["retry", "redial"]
    tries: int = 2  # the place of the attempt it starts


# Statuses that say the number itself is wrong: trying again will not help.
WRONG_NUMBER = frozenset({404, 484, 604})


def ring_for_s(policy: Policy) -> float:
    """How long to let it ring before giving up: halfway into the policy's
    last ring (10 rings of 3 s: 28.5 s), so the give-up counts as that ring."""
    return (policy.timing.give_up_rings - 0.5) * policy.timing.ring_period_s


def next_dial(attempt: Attempt, policy: Policy) -> Dial | None:
    """The dial that should follow `attempt`, or None when it is done."""
    if attempt.outcome == "answered" or attempt.final or attempt.status in WRONG_NUMBER:
        return None
    if not attempt.dialled:
        return None
    if attempt.outcome == "dropped":
        return Dial(attempt.number, attempt.ended_at, "redial", attempt.tries)
    timing = policy.timing
    if attempt.tries >= timing.dial_tries:
        return None  # the SOP's one retry is spent: staff decide what next
    wait = (timing.retry_after_min_s + timing.retry_after_max_s) / 2  # the middle of the window
    return Dial(attempt.number, attempt.ended_at + wait, "retry", attempt.tries + 1)
