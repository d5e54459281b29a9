"""The demo's week looks like a real one whatever the hour it is loaded:
just after midnight, at opening time and just before midnight (Taipei).

Loading scores every call, so each load time is one test that checks all
of it: days evenly filled at both clubs, nothing after the moment of
loading, each piece of work once in an inbox, and the dashboard's days."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callsop.desk import selectors
from callsop.desk.demo import EXAMPLES, load_demo
from callsop.desk.models import (
    Call,
    CallEvent,
    Complaint,
    Escalation,
    Memo,
    Staff,
    Task,
)
from callsop.record.reader import Loaded, read_paths

TAIPEI = ZoneInfo("Asia/Taipei")
DAYS = 2
EXAMPLE_CALLS = sum(
    isinstance(item, Loaded) for item in read_paths([str(p) for p in EXAMPLES.glob("*.json")])
)
LOAD_TIMES = [
    pytest.param(datetime(2026, 11, 29, 0, 30, tzinfo=TAIPEI), id="00:30"),
    pytest.param(datetime(2026, 11, 29, 8, 0, tzinfo=TAIPEI), id="08:00"),
    pytest.param(datetime(2026, 11, 29, 23, 50, tzinfo=TAIPEI), id="23:50"),
]


def _days(now: datetime) -> tuple[list[date], date]:
    today = now.date()
    return [today - timedelta(days=ago) for ago in range(DAYS, 0, -1)], today


def _per_day() -> Counter[tuple[date, str]]:
    return Counter(
        (call.started_at.astimezone(TAIPEI).date(), call.club.code)
        for call in Call.objects.select_related("club")
    )


def _days_are_even(now: datetime) -> None:
    past, today = _days(now)
    counts = _per_day()
    assert {day for day, _ in counts} <= {*past, today}
    for day in past:
        both = counts[day, "xinyi"] + counts[day, "banqiao"]
        # Every example once a day; the one whose complaint is logged the next
        # morning is left out of the day before a morning load.
        assert EXAMPLE_CALLS - 1 <= both <= EXAMPLE_CALLS, (day, both)
        assert counts[day, "banqiao"] >= EXAMPLE_CALLS // 4, (day, counts)
        assert counts[day, "xinyi"] >= EXAMPLE_CALLS // 2, (day, counts)
    # Today holds only what was over by now: the demo's recorded call at
    # 00:30, a morning call or two at 08:00, nearly a whole day at 23:50.
    so_far = counts[today, "xinyi"] + counts[today, "banqiao"]
    expected = {0: (1, 1), 8: (1, 3), 23: (EXAMPLE_CALLS - 1, EXAMPLE_CALLS + 1)}[now.hour]
    assert expected[0] <= so_far <= expected[1], so_far


def _nothing_after(now: datetime) -> None:
    moments = {
        "call start": Call.objects.filter(started_at__gt=now),
        "call end": Call.objects.filter(ended_at__gt=now),
        "answer": Call.objects.filter(answered_at__gt=now),
        "event": CallEvent.objects.filter(at__gt=now),
        "memo": Memo.objects.filter(created_at__gt=now),
        "memo handled": Memo.objects.filter(called_back_at__gt=now),
        "task made": Task.objects.filter(created_at__gt=now),
        "task done": Task.objects.filter(done_at__gt=now),
        "escalation": Escalation.objects.filter(at__gt=now),
        "escalation seen": Escalation.objects.filter(seen_at__gt=now),
        "complaint": Complaint.objects.filter(logged_at__gt=now),
        "complaint closed": Complaint.objects.filter(closed_at__gt=now),
    }
    assert {what: qs.count() for what, qs in moments.items() if qs.exists()} == {}
    # Open complaints are today's; those of earlier days were followed up.
    midnight = datetime.combine(now.date(), datetime.min.time(), TAIPEI)
    assert not Complaint.objects.exclude(state="closed").filter(logged_at__lt=midnight).exists()


def _work_once(now: datetime) -> None:
    open_tasks = Counter(
        Task.objects.filter(done_at__isnull=True).values_list("club_id", "kind", "phone", "name")
    )
    assert [task for task, n in open_tasks.items() if n > 1] == []
    for manager in Staff.objects.filter(role="manager"):
        box = selectors.inbox(manager, now, TAIPEI)
        work = [
            (t.kind, t.phone, t.name) for t in box.tasks_due + box.tasks_overdue + box.tasks_later
        ]
        assert len(work) == len(set(work)), work
        calls = [e.call.phone_key for e in box.escalations]
        assert len(calls) == len(set(calls)), calls
        memos = [(m.phone, m.message) for m in box.memos]
        assert len(memos) == len(set(memos)), memos
        assert all(c.logged_at <= now for c in box.complaints)


def _dashboard_days(now: datetime) -> None:
    past, _ = _days(now)
    for code in ("xinyi", "banqiao"):
        manager = Staff.objects.get(role="manager", club__code=code)
        data = selectors.dashboard([manager.club_pk], past[0], past[-1], None, now)
        assert [row["day"] for row in data.days] == past
        assert len({row["calls"] for row in data.days}) <= 3  # even, give or take a file


@pytest.mark.parametrize("now", LOAD_TIMES)
def test_the_demo_week_is_even_past_and_single(db: None, now: datetime) -> None:
    load_demo(days=DAYS, now=now)
    _days_are_even(now)
    _nothing_after(now)
    _work_once(now)
    _dashboard_days(now)


def test_the_demo_needs_a_day_before_today(db: None) -> None:
    with pytest.raises(ValueError, match="at least one day"):
        load_demo(days=0)
