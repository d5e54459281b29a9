"""The 待辦 card's timers read as lengths of time, never as a time of day:
「13 分 35 秒後開始」 is not 13:35 o'clock. A retry shows its window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callsop.desk.models import Task
from callsop.desk.services.tasks import DueTask, clock


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 秒"),
        (35.9, "35 秒"),
        (60, "1 分 0 秒"),
        (13 * 60 + 35, "13 分 35 秒"),
        (3600 + 5 * 60 + 59, "1 小時 5 分"),
        (23 * 3600 + 59 * 60, "23 小時 59 分"),
        (3 * 86400 + 4 * 3600 + 10, "3 天 4 小時"),
    ],
)
def test_a_length_of_time_is_said_in_words(seconds: float, words: str) -> None:
    assert clock(seconds) == words


def test_the_countdown_says_whether_it_starts_or_is_past() -> None:
    now = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    task = Task()
    coming = DueTask(task, now + timedelta(minutes=13, seconds=35), now + timedelta(hours=1), now)
    assert coming.countdown == "13 分 35 秒後開始"
    past = DueTask(task, now - timedelta(minutes=2, seconds=10), now + timedelta(hours=1), now)
    assert past.countdown == "已到期 2 分 10 秒"
    hour = DueTask(
        task, now + timedelta(hours=1, minutes=5, seconds=40), now + timedelta(hours=2), now
    )
    assert hour.countdown == "1 小時 5 分後開始"
    assert ":" not in coming.countdown + past.countdown + hour.countdown
