"""The clerk's desk: what rings, what is open, who is in."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from callsop.desk import selectors, validation
from callsop.desk.models import Call, Staff
from callsop.desk.services.access import staff_of
from callsop.desk.services.errors import ActionError
from callsop.desk.services.inbox import presence_set
from callsop.desk.services.tasks import due_work
from callsop.desk.views.common import staff_view, tz_of
from callsop.desk.views.search import call_list_page


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    staff = staff_of(request.user)
    return redirect("dashboard" if staff.role == Staff.Role.HQ else "desk")


@staff_view
def desk(request: HttpRequest, staff: Staff) -> HttpResponse:
    if staff.club is None:
        return redirect("dashboard")
    now = timezone.now()
    box = selectors.inbox(staff, now, tz_of(staff))
    ringing, unclaimed = selectors.ringing_and_unclaimed(staff, now)
    return render(
        request,
        "desk/desk.html",
        {
            "ringing": ringing,
            "unclaimed": unclaimed,
            "live": selectors.my_live_calls(staff),
            "inbox": box,
            "due": due_work(staff, now, tz_of(staff)),
            "colleagues": selectors.colleagues(staff),
        },
    )


@staff_view
def due(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Polled by the desk every few seconds: the 待辦 card's tasks and counts."""
    if staff.club_id is None:
        return HttpResponse(status=204)
    work = due_work(staff, timezone.now(), tz_of(staff))
    return render(request, "desk/_due.html", {"due": work})


@staff_view
def ringing(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Polled by the desk every second: the calls ringing now."""
    if staff.club_id is None:
        return render(request, "desk/_ringing.html", {"ringing": Call.objects.none()})
    ringing, unclaimed = selectors.ringing_and_unclaimed(staff, timezone.now())
    return render(request, "desk/_ringing.html", {"ringing": ringing, "unclaimed": unclaimed})


@require_POST
@staff_view
def presence(request: HttpRequest, staff: Staff) -> HttpResponse:
    try:
        note = validation.clean_text(
            "狀態說明", request.POST.get("note", ""), 100, field="note", multiline=False
        )
        presence_set(staff=staff, presence=request.POST.get("presence", ""), note=note)
    except ActionError as exc:
        return HttpResponse(exc.message, status=400)
    return HttpResponse(staff.get_presence_display())


@staff_view
def call_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    """通話紀錄, searched by number, name, clerk, dates and verdict."""
    return call_list_page(request, staff)
