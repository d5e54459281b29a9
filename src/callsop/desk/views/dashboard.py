"""The manager's dashboard and its CSV export."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from callsop.desk import selectors, validation
from callsop.desk.models import Call, Staff
from callsop.desk.services.access import clubs_readable
from callsop.desk.services.errors import ActionError
from callsop.desk.views.common import staff_view, tz_of
from callsop.desk.views.scorecards import RULES

DEFAULT_DAYS = 7
MAX_DAYS = 3660  # the longest period one page or export covers
T = TypeVar("T")


class _Filters:
    """The dashboard's period, club and clerk as asked for; what did not
    read is in `errors`, and the defaults stand in for it."""

    def __init__(self, request: HttpRequest, staff: Staff) -> None:
        if staff.role == Staff.Role.CLERK:
            raise PermissionDenied("the dashboard is for managers")
        today = timezone.now().astimezone(tz_of(staff)).date()
        self.errors: list[str] = []
        self.end = self._read(validation.clean_date, "結束日期", request.GET.get("end")) or today
        self.start = self._read(
            validation.clean_date, "開始日期", request.GET.get("start")
        ) or self.end - timedelta(days=DEFAULT_DAYS - 1)
        try:
            validation.clean_period(self.start, self.end, longest_days=MAX_DAYS)
        except ActionError as exc:
            self.errors.append(exc.message)
            self.start = self.end - timedelta(days=DEFAULT_DAYS - 1)
        clubs = clubs_readable(staff)
        self.club = self._read(_whole, "會館", request.GET.get("club"))
        if self.club is not None and clubs.filter(pk=self.club).exists():
            clubs = clubs.filter(pk=self.club)
        self.club_ids = list(clubs.values_list("pk", flat=True))
        clerk = self._read(_whole, "人員", request.GET.get("clerk"))
        self.clerk_id: int | None = None
        if clerk is not None and Staff.objects.filter(pk=clerk, club_id__in=self.club_ids).exists():
            self.clerk_id = clerk

    def _read(
        self, clean: Callable[[str, object], T | None], label: str, raw: str | None
    ) -> T | None:
        try:
            return clean(label, raw)
        except ActionError as exc:
            self.errors.append(exc.message)
            return None


def _whole(label: str, raw: object) -> int | None:
    return validation.clean_int(label, raw, 1, 10**12)


@staff_view
def dashboard(request: HttpRequest, staff: Staff) -> HttpResponse:
    filters = _Filters(request, staff)
    data = selectors.dashboard(
        filters.club_ids, filters.start, filters.end, filters.clerk_id, timezone.now()
    )
    peak = max((d["calls"] or 0 for d in data.days), default=0) or 1
    rules = sorted(data.rules, key=lambda r: r["share"] if r["share"] is not None else 101)
    for row in rules:
        rule = RULES.get(row["rule"])
        row["title"] = rule.title if rule else row["rule"]
        row["clause"] = rule.clause if rule else ""
    context: dict[str, Any] = {
        "data": data,
        "filters": filters,
        "peak": peak,
        "rules": rules,
        "clerks": Staff.objects.filter(club_id__in=filters.club_ids).order_by("name"),
        "clubs": clubs_readable(staff),
        "query": request.GET.urlencode(),
    }
    return render(request, "desk/dashboard.html", context, status=400 if filters.errors else 200)


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff_view
def dashboard_csv(request: HttpRequest, staff: Staff) -> HttpResponseBase:
    filters = _Filters(request, staff)
    if filters.errors:
        # Refused before the first row: a stream cut off later reads as a whole file.
        return HttpResponse(
            "\n".join(filters.errors), status=400, content_type="text/plain; charset=utf-8"
        )
    tz = tz_of(staff)
    start = datetime.combine(filters.start, time.min, tz)
    end = start + timedelta(days=(filters.end - filters.start).days + 1)
    calls = Call.objects.filter(
        club_id__in=filters.club_ids,
        state=Call.State.ENDED,
        started_at__gte=start,
        started_at__lt=end,
    ).select_related("club", "clerk", "scorecard")
    # Only what the rows print: a call's transcript and findings stay behind.
    calls = calls.only(
        "club__code",
        "club__name",
        "clerk__name",
        "club_id",
        "clerk_id",
        "started_at",
        "direction",
        "outcome",
        "rings",
        "hold_total_s",
        "scorecard__score",
        "scorecard__counted",
    )
    if filters.clerk_id is not None:
        calls = calls.filter(clerk_id=filters.clerk_id)

    def rows() -> Iterator[list[Any]]:
        yield [
            "通話編號",
            "會館",
            "開始時間",
            "方向",
            "人員",
            "結果",
            "響鈴次數",
            "保留秒數",
            "分數",
            "未通過規則",
        ]
        for call in calls.order_by("started_at").iterator(chunk_size=2000):
            card = getattr(call, "scorecard", None)
            counted = (card.counted or {}).get("rules", {}) if card else {}
            failed = sorted(rule for rule, (_, fails) in counted.items() if fails)
            yield [
                call.record_id,
                call.club.name,
                call.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                call.get_direction_display(),
                call.clerk.name if call.clerk else "",
                call.get_outcome_display(),
                call.rings if call.rings is not None else "",
                round(call.hold_total_s),
                card.score if card and card.score is not None else "",
                " ".join(failed),
            ]

    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # a byte-order mark, so spreadsheets read the Chinese as UTF-8
        for row in rows():
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"callsop-{filters.start}-{filters.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
