"""The rule catalogue, and the club's policy as its manager edits it."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from callsop.desk.models import Staff
from callsop.desk.services.access import require_club_staff, require_manager
from callsop.desk.services.errors import ActionError
from callsop.desk.services.policy import club_policy_save, policy_of
from callsop.desk.views.common import hx_redirect, staff_view
from callsop.policy import default_policy_text
from callsop.rules import CATALOGUE


@staff_view
def policy(request: HttpRequest, staff: Staff) -> HttpResponse:
    club = require_club_staff(staff)
    error = None
    text = club.policy_toml
    if request.method == "POST":
        require_manager(staff)
        text = request.POST.get("policy_toml", "")
        try:
            club_policy_save(club=club, text=text)
            return hx_redirect(request, reverse("policy") + "?saved=1")
        except ActionError as exc:
            error = exc
    active = policy_of(club)
    return render(
        request,
        "desk/policy.html",
        {
            "club": club,
            "text": text,
            "error": error,
            "saved": request.GET.get("saved"),
            "default_text": default_policy_text(),
            "rules": [r for r in CATALOGUE],
            "active": active,
            "can_edit": staff.role == Staff.Role.MANAGER,
        },
        status=400 if error else 200,
    )


@staff_view
def rule_page(request: HttpRequest, staff: Staff, rule_id: str) -> HttpResponse:
    rule = next((r for r in CATALOGUE if r.id == rule_id), None)
    if rule is None:
        raise Http404("no such rule")
    active = policy_of(staff.club) if staff.club else None
    return render(request, "desk/rule.html", {"rule": rule, "active": active})
