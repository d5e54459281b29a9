"""One log line per request: method, path, status, milliseconds, the CPU
milliseconds the request's thread spent, user id.

    GET /desk/ringing/ 200 3.4ms cpu=2.9ms user=17
    POST /login/ 302 120.9ms cpu=118.2ms user=-

A request whose time is much more than its CPU time waited: on the
database, or for the CPU behind the process's other requests.

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
        started, cpu_started = time.perf_counter(), time.thread_time()
        response = self.get_response(request)
        ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.thread_time() - cpu_started) * 1000
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "%s %s %d %.1fms cpu=%.1fms user=%s",
                request.method,
                escape_uri_path(request.path),
                response.status_code,
                ms,
                cpu_ms,
                _user_id(request),
            )
        return response
