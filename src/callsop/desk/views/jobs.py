"""背景工作: the job queue for HQ and a club's manager (their own club's jobs)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from callsop.desk.models import Staff
from callsop.desk.services import jobs
from callsop.desk.views.common import staff_view

QUEUE_NAMES = {"default": "一般", "recordings": "錄音"}


@require_GET
@staff_view
def jobs_page(request: HttpRequest, staff: Staff) -> HttpResponseBase:
    if not staff.is_manager:
        raise PermissionDenied("the jobs page is for managers")
    data = jobs.jobs_overview(staff)
    depth = [(QUEUE_NAMES.get(q, q), n) for q, n in data["depth"]]
    queues = {QUEUE_NAMES.get(q, q): 0 for q in ("default", "recordings")}
    queues.update(dict(depth))
    return render(
        request,
        "desk/jobs.html",
        {**data, "queues": sorted(queues.items()), "queue_names": QUEUE_NAMES},
    )


@require_POST
@staff_view
def job_retry(request: HttpRequest, staff: Staff, job_id: str) -> HttpResponseBase:
    jobs.job_retry(staff, job_id)
    return redirect("jobs")
