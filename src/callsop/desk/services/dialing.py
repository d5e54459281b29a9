"""Outgoing calls placed by the club's own SIP user agent (click-to-dial).

The clerk's click queues a dial job; the dialer service (`callsop dialer`)
takes jobs as they fall due, places each call, and reports here: the answer,
and how the attempt ended. The dial plan (§1.4) then queues what follows:
the retry 3-5 minutes after no answer, the redial at once after a drop."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from callsop.desk.models import Call, DialJob, Task
from callsop.desk.services import calls as svc
from callsop.desk.services import outbound as out
from callsop.desk.services.errors import ActionError
from callsop.desk.services.policy import policy_of
from callsop.telephony.dialplan import Attempt, next_dial


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@transaction.atomic(durable=True)
def dial_job_take(*, now: datetime | None = None) -> DialJob | None:
    """The oldest job due, marked taken so no other dialer takes it."""
    at = now or timezone.now()
    job = (
        DialJob.objects.select_for_update(skip_locked=True)
        .filter(claimed_at__isnull=True, done_at__isnull=True, due__lte=at)
        .order_by("due", "pk")
        .first()
    )
    if job is None:
        return None
    job.claimed_at = at
    job.save(update_fields=["claimed_at"])
    return job


def dial_job_start(*, job: DialJob) -> Call:
    """The job's call, dialling: a retry's or redial's call is dialled now."""
    call = Call.objects.select_related("club", "clerk").get(pk=job.call_id)
    if call.state == Call.State.PLANNING:
        call = out.outbound_dial(call=call)
        # The retry the clerk would have been asked to make is being made.
        earlier = call.redial_of_id
        if earlier is not None:
            Task.objects.filter(call_id=earlier, kind=Task.Kind.RETRY, done_at__isnull=True).update(
                done_at=timezone.now(), done_call=call
            )
    return call


def dial_ringing(*, job: DialJob, at: float) -> None:
    """The customer's phone started ringing (after the clerk's own phone, on
    an AMI Originate)."""
    call = Call.objects.get(pk=job.call_id)
    if call.state == Call.State.RINGING:
        with contextlib.suppress(ActionError):  # the PBX's own report got there first
            out.outbound_ringing(call=call, now=_at(at))


def dial_answered(*, job: DialJob, at: float) -> None:
    call = Call.objects.get(pk=job.call_id)
    if call.state == Call.State.RINGING:
        with contextlib.suppress(ActionError):  # the PBX's own report got there first
            out.outbound_answered(call=call, now=_at(at))


def dial_keep_talking(*, job: DialJob) -> bool:
    """False once the clerk ended the call on the desk."""
    return Call.objects.filter(pk=job.call_id).exclude(state=Call.State.ENDED).exists()


def dial_finished(*, job: DialJob, attempt: Attempt) -> DialJob | None:
    """Puts the attempt's end on the desk and queues what the plan says comes
    next; returns that job, if any."""
    call = Call.objects.select_related("club", "clerk").get(pk=job.call_id)
    ended = _at(attempt.ended_at)
    follow: Call | None = None
    try:
        if not attempt.dialled and call.state == Call.State.RINGING:
            out.outbound_not_dialled(call=call)  # the customer was never called
        elif (
            attempt.outcome in ("no-answer", "busy", "failed") and call.state == Call.State.RINGING
        ):
            out.outbound_no_answer(call=call, now=ended)
        elif attempt.outcome == "dropped" and call.state in (Call.State.TALKING, Call.State.HELD):
            follow = out.outbound_dropped(call=call, now=ended)
        elif attempt.outcome == "answered" and call.is_live:
            svc.call_end(call=call, by="customer", now=ended)  # the customer hung up
    except ActionError:
        pass  # the clerk got there first on the desk
    plan = next_dial(replace(attempt, tries=job.tries), policy_of(call.club))
    next_job = None
    if plan is not None and call.clerk is not None:
        if follow is None:
            follow = out.outbound_plan(club=call.club, clerk=call.clerk, redial_of=call)
        next_job = DialJob.objects.create(
            call=follow, reason=plan.reason, tries=plan.tries, due=_at(plan.at)
        )
    DialJob.objects.filter(pk=job.pk).update(done_at=timezone.now(), outcome=attempt.outcome)
    return next_job


def dial_queue(*, call: Call, now: datetime | None = None) -> DialJob:
    """The clerk's click: the dialer places the call as soon as it can."""
    return DialJob.objects.create(call=call, reason="dial", tries=1, due=now or timezone.now())
