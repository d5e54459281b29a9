"""The pages a refused request gets from Django itself, in the desk's words."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from callsop.desk.services.errors import ActionError

ORIGIN_REFUSED = "Origin checking failed"


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form whose security check failed: nothing was stored, and the page
    says what to do (an origin the deployment does not trust names the
    setting that must list it)."""
    message = "安全檢查未通過，這次送出的內容沒有儲存：頁面可能開得太久，或在別的分頁登出後又登入。請重新整理頁面後再送一次。"
    if reason.startswith(ORIGIN_REFUSED):
        origin = request.META.get("HTTP_ORIGIN", "")
        message = (
            f"安全檢查未通過，這次送出的內容沒有儲存：這個網址（{origin}）不在"
            "CALLSOP_CSRF_TRUSTED_ORIGINS 設定裡。請管理員把它加進設定並重新啟動 callsop。"
        )
    response = render(request, "desk/refused.html", {"error": ActionError(message)}, status=403)
    response["X-Callsop-Refused"] = quote(message)  # the call screen shows it by the button
    return response
