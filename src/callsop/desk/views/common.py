"""What every view shares: the acting staff member, and how actions answer."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from callsop.desk.models import Staff
from callsop.desk.services.access import staff_of
from callsop.desk.services.errors import ActionError
from callsop.desk.services.policy import policy_of

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, Staff, P], HttpResponseBase]


def staff_view(view: View[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Logs in, finds the staff member, and passes them to the view."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        staff = staff_of(request.user)
        request.staff = staff  # type: ignore[attr-defined]  # for desk_context, without a second query
        # Every time the desk shows is the club's local time.
        with timezone.override(tz_of(staff)):
            try:
                return view(request, staff, *args, **kwargs)
            except ActionError as exc:
                # An action refused where the view has no form to show it on.
                return render(request, "desk/refused.html", {"error": exc}, status=400)

    return cast(Callable[Concatenate[HttpRequest, P], HttpResponseBase], login_required(wrapper))


def tz_of(staff: Staff) -> ZoneInfo:
    return ZoneInfo(staff.club.timezone if staff.club else "Asia/Taipei")


def desk_context(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    staff = getattr(request, "staff", None)
    if staff is None:
        staff = Staff.objects.select_related("club").filter(user_id=user.pk).first()
    if staff is None:
        return {}
    timing = policy_of(staff.club).timing if staff.club else None
    return {
        "me": staff,
        "my_club": staff.club,
        "timing": timing,
        "server_now": timezone.now().isoformat(),
        "presence_choices": Staff.Presence.choices,
    }


def client_address(request: HttpRequest) -> str:
    """The client's address behind the TLS proxy: the last X-Forwarded-For
    entry, the one the proxy itself added (those before it the client may
    have written)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.split(",")[-1].strip()
    return last or str(request.META.get("REMOTE_ADDR", ""))


def locked_out(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """The log-in page, saying the account is locked for a while (django-axes)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"登入失敗次數過多，此帳號在這台電腦暫時鎖定 {minutes} 分鐘。請稍後再試，或請館長協助。"
    )
    return render(request, "desk/login.html", {"form": None, "locked": message}, status=429)


def hx_redirect(request: HttpRequest, url: str) -> HttpResponse:
    """Sends the browser to `url`: an HX-Redirect for htmx, a 303 otherwise."""
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    response = HttpResponse(status=303)
    response["Location"] = url
    return response
