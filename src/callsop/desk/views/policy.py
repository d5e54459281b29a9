"""The rule catalogue, and the club's policy as its manager edits it: a form
of numbers, phrase lists and severities, with TOML to export and import."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from callsop.desk.models import Club, Staff
from callsop.desk.policy_form import PolicyForm
from callsop.desk.services.access import require_club_staff, require_manager
from callsop.desk.services.errors import ActionError
from callsop.desk.services.policy import (
    club_policy_save,
    club_policy_set,
    policy_history,
    policy_of,
)
from callsop.desk.views.common import hx_redirect, staff_view
from callsop.policy import MAX_POLICY_CHARS, PolicyError, export_policy, merge_policy
from callsop.rules import CATALOGUE

MAX_IMPORT_BYTES = MAX_POLICY_CHARS  # a policy text is read only up to this size


@staff_view
def policy(request: HttpRequest, staff: Staff) -> HttpResponse:
    club = require_club_staff(staff)
    active = policy_of(club)
    form = PolicyForm.of(active)
    import_error: ActionError | None = None
    pasted = ""
    if request.method == "POST":
        require_manager(staff)
        if "policy_toml" in request.POST or "policy_file" in request.FILES:
            pasted, import_error = _import(request, club, staff)
            if import_error is None:
                return hx_redirect(request, reverse("policy") + "?saved=imported")
        else:
            form = PolicyForm.posted(request.POST, active)
            if _save_form(form, club, staff):
                return hx_redirect(request, reverse("policy") + "?saved=form")
    failed = bool(form.errors or import_error)
    return render(
        request,
        "desk/policy.html",
        {
            "club": club,
            "form": form,
            "import_error": import_error,
            "pasted": pasted,
            "saved": request.GET.get("saved"),
            "rules": list(CATALOGUE),
            "active": active,
            "can_edit": staff.is_manager,
            "history": policy_history(club),
        },
        status=400 if failed else 200,
    )


def _save_form(form: PolicyForm, club: Club, staff: Staff) -> bool:
    tables = form.tables()
    if tables is None:
        return False
    try:
        policy = merge_policy(tables, f"{club.name} policy")
    except PolicyError as exc:
        form.blame(exc)
        return False
    club_policy_set(club=club, policy=policy, by=staff)
    return True


def _import(request: HttpRequest, club: Club, staff: Staff) -> tuple[str, ActionError | None]:
    upload = request.FILES.get("policy_file")
    text = request.POST.get("policy_toml", "")
    if upload is not None:
        if upload.size is not None and upload.size > MAX_IMPORT_BYTES:
            return "", ActionError(
                f"檔案太大：設定檔最多 {MAX_IMPORT_BYTES // 1000} KB", field="policy_file"
            )
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            return "", ActionError("檔案不是 UTF-8 文字檔", field="policy_file")
    if len(text) > MAX_IMPORT_BYTES:
        return "", ActionError(
            f"內容太長：設定最多 {MAX_IMPORT_BYTES:,} 字（目前 {len(text):,} 字）",
            field="policy_toml",
        )
    try:
        club_policy_save(club=club, text=text, by=staff)
    except ActionError as exc:
        return text, exc
    return text, None


@staff_view
def policy_export(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The club's whole policy as a TOML file, comments and all."""
    club = require_club_staff(staff)
    now = timezone.localtime()
    heading = f"{club.name}的設定，匯出於 {now:%Y-%m-%d %H:%M}"
    response = HttpResponse(
        export_policy(policy_of(club), heading), content_type="application/toml; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{club.code}-policy.toml"'
    return response


@staff_view
def rule_page(request: HttpRequest, staff: Staff, rule_id: str) -> HttpResponse:
    rule = next((r for r in CATALOGUE if r.id == rule_id), None)
    if rule is None:
        raise Http404("no such rule")
    active = policy_of(staff.club) if staff.club else None
    return render(request, "desk/rule.html", {"rule": rule, "active": active})
