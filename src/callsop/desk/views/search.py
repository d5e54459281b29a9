"""通話紀錄: the calls of the viewer's club (HQ: the chain), searched and paged.

Every parameter is read strictly: one that does not read is named in the
page's message and the search is not run, so a bad link never shows calls
the viewer did not ask for."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone

from callsop.desk import selectors, validation
from callsop.desk.models import Staff
from callsop.desk.services.access import clubs_readable
from callsop.desk.services.errors import ActionError
from callsop.desk.views.common import tz_of
from callsop.desk.views.scorecards import RULES
from callsop.engine.history import normalise_phone

PER_PAGE = 50
DEFAULT_DAYS = "7"
PERIODS = [("1", "近 1 天"), ("7", "近 7 天"), ("30", "近 30 天"), ("all", "全部")]
MAX_DAYS = 3660
BANDS = [("good", "85 分以上"), ("mid", "70–84 分"), ("bad", "70 分以下"), ("none", "未評分")]
_ASCII_NUMBER = re.compile(r"[0-9]{1,9}")
_LONGEST = {"phone": 30, "name": 50}


@dataclass
class SearchForm:
    """The search as the page's form holds it, and what was wrong with it."""

    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    query: selectors.CallQuery = field(default_factory=selectors.CallQuery)
    club_ids: list[int] = field(default_factory=list)

    @property
    def days(self) -> str:
        return self.values["days"]


def _number(raw: str) -> int | None:
    return int(raw) if _ASCII_NUMBER.fullmatch(raw) else None


def _date(raw: str, label: str, errors: list[str]) -> date | None:
    try:
        return validation.clean_date(label, raw)
    except ActionError as exc:
        errors.append(exc.message)
        return None


def _period(
    values: dict[str, str], now: datetime, tz: ZoneInfo, errors: list[str]
) -> tuple[datetime | None, datetime | None]:
    """From 從/到 when either is given, else from 期間."""
    start = _date(values["start"], "開始日期", errors)
    end = _date(values["end"], "結束日期", errors)
    if start and end and start > end:
        errors.append("開始日期不能晚於結束日期。")
    if values["start"] or values["end"]:
        since = datetime.combine(start, time.min, tz) if start else None
        before = datetime.combine(end + timedelta(days=1), time.min, tz) if end else None
        return since, before
    days = values["days"]
    if days == "all":
        return None, None
    count = _number(days)
    if count is None or not 1 <= count <= MAX_DAYS:
        errors.append(f"期間不正確：{days}（請選 1 到 {MAX_DAYS} 天，或「全部」）")
        return None, None
    return now - timedelta(days=count), None


def _clubs(staff: Staff, raw: str, errors: list[str]) -> list[int]:
    clubs = list(clubs_readable(staff).values_list("pk", flat=True))
    if not raw:
        return clubs
    club = _number(raw)
    if club not in clubs:
        errors.append(f"找不到這個會館：{raw}")
        return clubs
    return [club]


def _who(raw: str, club_ids: list[int], errors: list[str]) -> int | None:
    if not raw:
        return None
    clerk = _number(raw)
    if clerk is None or not Staff.objects.filter(pk=clerk, club_id__in=club_ids).exists():
        errors.append(f"找不到這位人員：{raw}")
        return None
    return clerk


def _phone(raw: str, errors: list[str]) -> str:
    if not raw:
        return ""
    key = normalise_phone(raw)
    if key is None:
        errors.append(f"電話號碼裡沒有數字：{raw}")
        return ""
    return key


def search_form(params: QueryDict, staff: Staff, now: datetime) -> SearchForm:
    names = ("phone", "name", "clerk", "start", "end", "rule", "band", "club")
    values = {name: params.get(name, "").strip() for name in names}
    values["days"] = params.get("days", DEFAULT_DAYS).strip() or DEFAULT_DAYS
    form = SearchForm(values)
    for name, longest in _LONGEST.items():
        if len(values[name]) > longest:
            form.errors.append(
                f"{'電話' if name == 'phone' else '姓名'}太長（最多 {longest} 字）。"
            )
            values[name] = values[name][:longest]
    form.club_ids = _clubs(staff, values["club"], form.errors)
    since, before = _period(values, now, tz_of(staff), form.errors)
    if values["rule"] and values["rule"] not in RULES:
        form.errors.append(f"沒有這條規範：{values['rule']}")
    if values["band"] and values["band"] not in dict(BANDS):
        form.errors.append(f"分數區間不正確：{values['band']}")
    form.query = selectors.CallQuery(
        phone_key=_phone(values["phone"], form.errors),
        name=values["name"],
        clerk_id=_who(values["clerk"], form.club_ids, form.errors),
        since=since,
        before=before,
        failed_rule=values["rule"] if values["rule"] in RULES else "",
        band=values["band"] if values["band"] in dict(BANDS) else "",
    )
    return form


def _rules() -> list[tuple[str, str]]:
    return sorted(((rule.id, rule.title) for rule in RULES.values()), key=lambda r: r[0])


def call_list_page(request: HttpRequest, staff: Staff) -> HttpResponse:
    form = search_form(request.GET, staff, timezone.now())
    context: dict[str, Any] = {
        "form": form,
        "days": form.days,
        "periods": PERIODS,
        "bands": BANDS,
        "rules": _rules(),
        "clerks": Staff.objects.filter(club_id__in=form.club_ids)
        .select_related("club")
        .order_by("club_id", "name"),
        "clubs": clubs_readable(staff).order_by("pk"),
        "query": _without_page(request.GET),
        "page": None,
    }
    if form.errors:
        return render(request, "desk/call_list.html", context, status=400)
    calls = selectors.call_search(form.club_ids, form.query)
    context["page"] = Paginator(calls, PER_PAGE).get_page(request.GET.get("page"))
    context["searched"] = any(
        form.values[name] for name in ("phone", "name", "clerk", "rule", "band")
    )
    return render(request, "desk/call_list.html", context)


def _without_page(params: QueryDict) -> str:
    kept = params.copy()
    kept.pop("page", None)
    return kept.urlencode()
