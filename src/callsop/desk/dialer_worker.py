"""`callsop dialer`: places the desk's outgoing calls through the PBX.

One dialer, one call at a time, on this thread: the club's own SIP user
agent (pjsua2, `Dialer`) or Asterisk's AMI Originate from the clerk's own
phone (`AmiDialer`). It takes the next dial job that is due, dials, tells
the desk when the far end answers, keeps the line until the clerk ends the
call on the desk, and reports how the attempt ended; the desk queues the
retry or redial."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from django.db import close_old_connections

from callsop.desk.models import DialJob
from callsop.desk.services.dialing import (
    dial_answered,
    dial_finished,
    dial_job_start,
    dial_job_take,
    dial_keep_talking,
    dial_ringing,
)
from callsop.desk.services.policy import policy_of
from callsop.telephony.ami_dialer import AmiError
from callsop.telephony.dialplan import Attempt, ring_for_s

_log = logging.getLogger(__name__)


class Placer(Protocol):
    """What places one call and says how it ended (`Dialer`, `AmiDialer`)."""

    def place(
        self,
        number: str,
        *,
        ring_for_s: float,
        timeout_s: float = ...,
        tries: int = ...,
        on_answered: Callable[[float], None] | None = ...,
        keep_talking: Callable[[], bool] | None = ...,
        on_ringing: Callable[[float], None] | None = ...,
    ) -> Attempt: ...


def _place(dialer: Placer, job: DialJob, log: Callable[[str], None]) -> Attempt:
    call = dial_job_start(job=job)
    number = "".join(ch for ch in call.caller_phone if ch.isdigit() or ch == "+")

    def answered(at: float) -> None:
        dial_answered(job=job, at=at)

    def ringing(at: float) -> None:
        dial_ringing(job=job, at=at)

    def keep_talking() -> bool:
        return dial_keep_talking(job=job)

    try:
        return dialer.place(
            number,
            ring_for_s=ring_for_s(policy_of(call.club)),
            tries=job.tries,
            timeout_s=120.0,
            on_answered=answered,
            keep_talking=keep_talking,
            on_ringing=ringing,
        )
    except AmiError as exc:
        # The PBX refused the call or could not be followed to its end: the
        # attempt as far as it went, or one that never dialled the number.
        log(f"call {call.pk} to {number}: {exc}")
        now = time.time()
        return exc.attempt or Attempt(number, now, now, "failed", tries=job.tries, dialled=False)


def run(
    dialer: Placer,
    *,
    stop: Callable[[], bool],
    poll_s: float = 0.5,
    log: Callable[[str], None] = _log.warning,
) -> int:
    """Places calls until `stop()`; how many. A call the PBX refused is
    reported through `log` and counted."""
    placed = 0
    while not stop():
        job = dial_job_take()
        if job is None:
            close_old_connections()
            time.sleep(poll_s)
            continue
        attempt = _place(dialer, job, log)
        dial_finished(job=job, attempt=attempt)
        placed += 1
    return placed
