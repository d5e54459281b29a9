"""The inbox: memos, tasks due and overdue, complaints, escalations, disputes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from callsop.desk import selectors, validation
from callsop.desk.models import Staff
from callsop.desk.services import inbox as svc
from callsop.desk.services.access import (
    complaint_for,
    escalation_for,
    memo_for,
    require_club_staff,
    task_for,
)
from callsop.desk.services.errors import ActionError
from callsop.desk.services.outbound import outbound_plan
from callsop.desk.views.common import hx_redirect, staff_view, tz_of


@staff_view
def inbox(request: HttpRequest, staff: Staff) -> HttpResponse:
    require_club_staff(staff)
    box = selectors.inbox(staff, timezone.now(), tz_of(staff))
    return render(request, "desk/inbox.html", {"inbox": box})


def _back(request: HttpRequest) -> HttpResponse:
    return hx_redirect(request, reverse("inbox"))


@require_POST
@staff_view
def memo_ack(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    svc.memo_acknowledge(memo=memo_for(staff, pk, write=True), staff=staff)
    return _back(request)


@require_POST
@staff_view
def memo_done(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    svc.memo_called_back(memo=memo_for(staff, pk, write=True), staff=staff)
    return _back(request)


@require_POST
@staff_view
def task_close(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    svc.task_done(task=task_for(staff, pk, write=True), staff=staff)
    return _back(request)


@require_POST
@staff_view
def task_dial(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    """Starts the call a task asks for: a retry or callback copies the earlier plan."""
    club = require_club_staff(staff)
    task = task_for(staff, pk, write=True)
    earlier = task.call
    if earlier is not None and earlier.direction == "outbound":
        call = outbound_plan(club=club, clerk=staff, redial_of=earlier)
    else:
        call = outbound_plan(
            club=club,
            clerk=staff,
            data={
                "caller_phone": task.phone,
                "plan_name": task.name,
                "caller_name": task.name,
                "plan_purpose": task.note,
                "prearranged": "on",
            },
        )
    svc.task_done(task=task, call=call, staff=staff)
    return hx_redirect(request, reverse("call", args=[call.pk]))


@require_POST
@staff_view
def complaint_update(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    complaint = complaint_for(staff, pk, write=True)
    try:
        validation.check_form("complaint-update", request.POST)
        svc.complaint_follow_up(
            complaint=complaint,
            state=request.POST.get("state", ""),
            follow_up=request.POST.get("follow_up", ""),
            staff=staff,
        )
    except ActionError as exc:
        box = selectors.inbox(staff, timezone.now(), tz_of(staff))
        return render(
            request,
            "desk/inbox.html",
            {"inbox": box, "error": exc, "error_complaint": complaint.pk},
            status=400,
        )
    return _back(request)


@require_POST
@staff_view
def escalation_seen(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    svc.escalation_seen(escalation=escalation_for(staff, pk), staff=staff)
    return _back(request)
