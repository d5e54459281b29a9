"""What the desk and the webhook accept, checked before anything is stored.

Every field from outside goes through one of these: text is bounded by its
model field's `max_length` (a TextField by `TEXT_MAX`), the same on SQLite
as on PostgreSQL, and holds no control characters (PostgreSQL refuses NUL
outright); numbers are ASCII digits within a range; dates and times read
and fall within `FIRST_DAY`..`LAST_DAY`. A refusal is an `ActionError`
naming the field in zh-Hant, so a view answers it as it answers any other
refused action, and nothing is stored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from callsop.desk.services.errors import ActionError

TEXT_MAX = 5000  # characters of a free-text field (memo, complaint, knowledge…)
LONG_TEXT = {"knowledgeitem.body": 20000}  # a TextField allowed more than TEXT_MAX
SEARCH_MAX = 100  # characters of a search box
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
FIRST_MOMENT = datetime.combine(FIRST_DAY, time.min).replace(tzinfo=ZoneInfo("UTC"))
LAST_MOMENT = datetime.combine(LAST_DAY, time.max).replace(tzinfo=ZoneInfo("UTC"))

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab and line breaks
_LINE_BREAK = re.compile(r"[\r\n]")
_ASCII_NUMBER = re.compile(r"[0-9]+")


def _named(label: str) -> str:
    """The label as a message starts with it: a space after a field name in ASCII."""
    return f"{label} " if label[-1:].isascii() else label


def _refuse(message: str, field: str | None) -> ActionError:
    return ActionError(message, field=field)


def clean_text(
    label: str,
    value: object,
    max_len: int,
    *,
    field: str | None = None,
    multiline: bool = True,
) -> str:
    """The text stripped, or ActionError when it is too long or holds a
    control character (a line break too, where `multiline` is off)."""
    text = "" if value is None else str(value)
    if _CONTROL.search(text):
        raise _refuse(f"{_named(label)}含有不允許的控制字元，請重新輸入。", field)
    text = text.strip()
    if not multiline and _LINE_BREAK.search(text):
        raise _refuse(f"{_named(label)}只能有一行。", field)
    if len(text) > max_len:
        raise _refuse(f"{_named(label)}太長：{len(text)} 字（最多 {max_len} 字）。", field)
    return text


def clean_int(
    label: str, raw: object, low: int, high: int, *, field: str | None = None
) -> int | None:
    """A whole number in low..high written in ASCII digits; None when blank."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    if not _ASCII_NUMBER.fullmatch(text):
        raise _refuse(f"{_named(label)}須是數字：{text[:20]}", field)
    number = int(text) if len(text) <= 18 else high + 1
    if not low <= number <= high:
        raise _refuse(f"{_named(label)}超出範圍：{text[:20]}（須在 {low} 到 {high} 之間）。", field)
    return number


def clean_date(label: str, raw: object, *, field: str | None = None) -> date | None:
    """A day written 2026-11-30, between FIRST_DAY and LAST_DAY; None when blank."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise _refuse(
            f"{_named(label)}格式不正確：{text[:20]}（請用 2026-11-30 這樣的格式）", field
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _refuse(
            f"{_named(label)}超出範圍：{text}（須在 {FIRST_DAY} 到 {LAST_DAY} 之間）", field
        )
    return day


def clean_datetime(label: str, raw: object, tz: ZoneInfo, *, field: str | None = None) -> datetime:
    """A moment as a datetime-local input sends it (a naive one is in `tz`)."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise _refuse(f"請選擇{label}的日期與時間。", field)
    try:
        parsed = parse_datetime(text)
    except ValueError:  # well formed but no such moment: 2026-02-30, +25:00
        parsed = None
    if parsed is None:
        raise _refuse(f"{_named(label)}不是有效的日期與時間：{text[:30]}", field)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, tz)
    if not FIRST_MOMENT <= parsed <= LAST_MOMENT:
        raise _refuse(
            f"{_named(label)}超出範圍：{text[:30]}（須在 {FIRST_DAY} 到 {LAST_DAY} 之間）", field
        )
    return parsed


def clean_period(start: date, end: date, *, longest_days: int = 3660) -> None:
    """Refuses a period that runs backwards or is longer than `longest_days`."""
    if start > end:
        raise _refuse("開始日期不能晚於結束日期。", "start")
    if (end - start) > timedelta(days=longest_days - 1):
        raise _refuse(f"期間太長：最多 {longest_days} 天。", "start")


def field_limit(model: type[models.Model], name: str) -> tuple[str, int]:
    """The label and the longest value of a model's text field."""
    model_field = model._meta.get_field(name)
    label = str(getattr(model_field, "verbose_name", name) or name)
    limit = getattr(model_field, "max_length", None) or LONG_TEXT.get(
        f"{model._meta.model_name}.{name}", TEXT_MAX
    )
    return label, int(limit)


def clean_model_text(
    model: type[models.Model], data: Mapping[str, Any], names: Iterable[str]
) -> dict[str, str]:
    """The given ones of `names`, each checked against its model field;
    a key not posted stays out of the answer."""
    cleaned: dict[str, str] = {}
    for name in names:
        if name not in data:
            continue
        label, limit = field_limit(model, name)
        cleaned[name] = clean_text(label, data[name], limit, field=name)
    return cleaned


# The desk's forms ----------------------------------------------------------

Spec = tuple[str, str, int, bool]  # posted name, label, longest, multiline


def _model_spec(model: type[models.Model], name: str, posted: str | None = None) -> Spec:
    label, limit = field_limit(model, name)
    multiline = isinstance(model._meta.get_field(name), models.TextField)
    return (posted or name, label, limit, multiline)


def _action_fields() -> dict[str, list[Spec]]:
    from callsop.desk.models import Complaint, Memo, Task

    return {
        "memo": [_model_spec(Memo, n) for n in ("from_name", "from_org", "phone", "message")],
        "transfer": [("summary", "轉接說明", TEXT_MAX, True)],
        "escalate": [("reason", "通報原因", TEXT_MAX, True)],
        "complaint": [_model_spec(Complaint, "summary")],
        "absent": [("message", "留給對方的話", field_limit(Task, "note")[1], True)],
        "complaint-update": [_model_spec(Complaint, "follow_up")],
    }


def check_form(form: str, data: Mapping[str, Any]) -> dict[str, str]:
    """The posted text fields of one of the desk's forms, checked; ActionError otherwise."""
    if form == "dial":  # the plan as on the screen goes with the dial
        check_details(data)
    cleaned: dict[str, str] = {}
    for posted, label, longest, multiline in _action_fields().get(form, []):
        if posted in data:
            value = data[posted]
            cleaned[posted] = clean_text(label, value, longest, field=posted, multiline=multiline)
    return cleaned


def check_details(data: Mapping[str, Any]) -> None:
    """The call screen's caller form, 5W1H note and plan, as posted."""
    from callsop.desk.models import Call
    from callsop.desk.services.calls import CALLER_FIELDS, NOTE_FIELDS, PLAN_TEXT_FIELDS

    clean_model_text(Call, data, (*CALLER_FIELDS, *NOTE_FIELDS, *PLAN_TEXT_FIELDS))
    clean_int(
        "預計通話分鐘", data.get("plan_time_budget_min"), 1, 240, field="plan_time_budget_min"
    )


# Webhook events -------------------------------------------------------------

EVENT_TEXT = {"call_id": 200, "caller": 30, "callee": 30, "target": 80, "cause": 40}
FIRST_EPOCH = FIRST_MOMENT.timestamp()
LAST_EPOCH = LAST_MOMENT.timestamp()


def check_event(index: int, values: Mapping[str, Any]) -> None:
    """One pushed event's fields as the desk will store them; ActionError
    naming the event and the field otherwise."""
    where = f"events[{index}]"
    for name, longest in EVENT_TEXT.items():
        value = values.get(name)
        if value is None:
            continue
        clean_text(f"{where}.{name}", value, longest, field=name, multiline=False)
    if not str(values.get("call_id") or "").strip():
        raise _refuse(f"{where}.call_id 不能是空的。", "call_id")
    at = values.get("at")
    if not isinstance(at, int | float) or not math.isfinite(at):
        raise _refuse(f"{where}.at 須是有限的秒數。", "at")
    if not FIRST_EPOCH <= at <= LAST_EPOCH:
        raise _refuse(
            f"{where}.at 超出範圍：{at:g}（須在 {FIRST_DAY} 到 {LAST_DAY} 之間的 Unix 秒數）",
            "at",
        )


# Any request ----------------------------------------------------------------

PARAM_LABELS = {
    "q": "搜尋",
    "phone": "電話",
    "name": "姓名",
    "clerk": "人員",
    "club": "會館",
    "start": "開始日期",
    "end": "結束日期",
    "days": "期間",
    "username": "帳號",
    "password": "密碼",
}


def _param_label(key: str) -> str:
    """A posted field's name as the page labels it."""
    from callsop.desk.models import Call, Complaint, KnowledgeItem, Memo

    if key in PARAM_LABELS:
        return PARAM_LABELS[key]
    for model in (Call, Memo, Complaint, KnowledgeItem):
        try:
            name = str(getattr(model._meta.get_field(key), "verbose_name", key))
        except FieldDoesNotExist:
            continue
        if name != key.replace("_", " "):  # a label of its own, not the default
            return name
    return key if key.isascii() and key.isprintable() else "欄位"


def refused(request: HttpRequest, error: ActionError, status: int = 400) -> HttpResponse:
    """A refusal as the desk's pages read it: the message, and the
    X-Callsop-Refused header that htmx requests take it from."""
    response = HttpResponse(error.message, status=status, content_type="text/plain; charset=utf-8")
    response["X-Callsop-Refused"] = quote(error.message)
    if error.field:  # the form field to mark, as the form names it
        response["X-Callsop-Field"] = quote(error.field)
    return response


class ControlCharacterMiddleware:
    """Refuses a query or form field holding a control character before any
    view reads it, so none reaches the database (PostgreSQL refuses NUL) or
    a page. Uploads (multipart) are left to their views, which read them as
    they stream."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        params = [request.GET]
        if request.content_type == "application/x-www-form-urlencoded":
            params.append(request.POST)
        for query in params:
            for key, values in query.lists():
                for value in [key, *values]:
                    if _CONTROL.search(value):
                        label = _param_label(key)
                        message = f"{_named(label)}含有不允許的控制字元，請重新輸入。"
                        return refused(request, ActionError(message, field=key))
        return self.get_response(request)
