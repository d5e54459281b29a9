"""One log line per request: method, path, status, milliseconds, user id.

    GET /desk/ringing/ 200 3.4ms user=17
    POST /login/ 302 120.9ms user=-

The query string is left out (a search's words, a token in a link), and the
path is written percent-encoded, so a line is always one line. The user is
the one the request was served as, or - when it was served to no one logged
in (or never looked at who it was, as a static file)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.encoding import escape_uri_path
from django.utils.functional import LazyObject, empty

logger = logging.getLogger("callsop.requests")


def _user_id(request: HttpRequest) -> str:
    user = request.__dict__.get("user")
    if isinstance(user, LazyObject):
        user = getattr(user, "_wrapped", empty)  # not loaded yet: no query just for the log
        if user is empty:
            return "-"
    if user is None or not getattr(user, "is_authenticated", False):
        return "-"
    return str(user.pk)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        ms = (time.perf_counter() - started) * 1000
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "%s %s %d %.1fms user=%s",
                request.method,
                escape_uri_path(request.path),
                response.status_code,
                ms,
                _user_id(request),
            )
        return response
