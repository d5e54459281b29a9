"""`callsop dialer`: places the desk's outgoing calls through the PBX.

One SIP user agent (pjsua2), one call at a time, on this thread: it takes
the next dial job that is due, dials, tells the desk when the far end
answers, keeps the line until the clerk ends the call on the desk, and
reports how the attempt ended; the desk queues the retry or redial."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import close_old_connections

from callsop.desk.models import DialJob
from callsop.desk.services.dialing import (
    dial_answered,
    dial_finished,
    dial_job_start,
    dial_job_take,
    dial_keep_talking,
)
from callsop.desk.services.policy import policy_of
from callsop.telephony.dialer import Dialer
from callsop.telephony.dialplan import Attempt, ring_for_s


def _place(dialer: Dialer, job: DialJob) -> Attempt:
    call = dial_job_start(job=job)
    number = "".join(ch for ch in call.caller_phone if ch.isdigit() or ch == "+")

    def answered(at: float) -> None:
        dial_answered(job=job, at=at)

    def keep_talking() -> bool:
        return dial_keep_talking(job=job)

    return dialer.place(
        number,
        ring_for_s=ring_for_s(policy_of(call.club)),
        tries=job.tries,
        timeout_s=120.0,
        on_answered=answered,
        keep_talking=keep_talking,
    )


def run(dialer: Dialer, *, stop: Callable[[], bool], poll_s: float = 0.5) -> int:
    """Places calls until `stop()`; how many."""
    placed = 0
    while not stop():
        job = dial_job_take()
        if job is None:
            close_old_connections()
            time.sleep(poll_s)
            continue
        attempt = _place(dialer, job)
        dial_finished(job=job, attempt=attempt)
        placed += 1
    return placed
