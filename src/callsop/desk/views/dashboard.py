"""The manager's dashboard and its CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from callsop.desk import selectors
from callsop.desk.models import Call, Staff
from callsop.desk.services.access import clubs_readable
from callsop.desk.services.scoring import scores_recheck
from callsop.desk.views.common import staff_view, tz_of
from callsop.desk.views.scorecards import RULES

DEFAULT_DAYS = 7


class _Filters:
    def __init__(self, request: HttpRequest, staff: Staff) -> None:
        today = timezone.now().astimezone(tz_of(staff)).date()
        self.errors: list[str] = []
        self.end = self._date(request.GET.get("end"), today, "結束日期")
        self.start = self._date(
            request.GET.get("start"), self.end - timedelta(days=DEFAULT_DAYS - 1), "開始日期"
        )
        if self.start > self.end:
            self.errors.append("開始日期不能晚於結束日期。")
            self.start = self.end
        clubs = clubs_readable(staff)
        club = request.GET.get("club", "")
        if club.isdigit() and clubs.filter(pk=int(club)).exists():
            clubs = clubs.filter(pk=int(club))
        self.club_ids = list(clubs.values_list("pk", flat=True))
        self.club = int(club) if club.isdigit() else None
        clerk = request.GET.get("clerk", "")
        self.clerk_id: int | None = None
        if (
            clerk.isdigit()
            and Staff.objects.filter(pk=int(clerk), club_id__in=self.club_ids).exists()
        ):
            self.clerk_id = int(clerk)
        if staff.role == Staff.Role.CLERK:
            raise PermissionDenied("the dashboard is for managers")

    def _date(self, raw: str | None, default: date, label: str) -> date:
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.errors.append(f"{label}格式不正確：{raw}")
            return default


@staff_view
def dashboard(request: HttpRequest, staff: Staff) -> HttpResponse:
    filters = _Filters(request, staff)
    scores_recheck(club_ids=filters.club_ids)
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
    return render(request, "desk/dashboard.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff_view
def dashboard_csv(request: HttpRequest, staff: Staff) -> HttpResponseBase:
    filters = _Filters(request, staff)
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
