"""Dates and times as callers say them, and staff saying them back."""

from __future__ import annotations

import msgspec
import pytest

from callsop.engine import score
from callsop.policy import default_policy
from callsop.record import CallRecord
from callsop.rules.talk import read_when
from tests.helpers import make_record


def _read(text: str, marker: str) -> tuple[str, str] | None:
    at = text.index(marker)
    return read_when(text, at, at + len(marker))


@pytest.mark.parametrize(
    ("text", "marker", "key", "words"),
    [
        ("週六上午十點半", "點", "10:30", "十點半"),
        ("下午3點30分可以", "點", "3:30", "3點30分"),
        ("我下午一點到", "點", "1:00", "一點"),
        ("十二號那天", "號", "D12", "十二號"),
        ("5日下午", "日", "D5", "5日"),
        ("星期天早上", "星期", "W7", "星期天"),
        ("禮拜三", "禮拜", "W3", "禮拜三"),
        ("下週再說", "週", "下周", "下週"),
        ("明天見", "明天", "明天", "明天"),
    ],
)
def test_a_date_or_time_is_read_with_one_key(text: str, marker: str, key: str, words: str) -> None:
    assert _read(text, marker) == (key, words)


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("可以再便宜一點嗎", "點"),
        ("一點點就好", "點"),
        ("週末人多", "週"),
        ("生日快樂", "日"),
        ("說明一下", "明"),
    ],
)
def test_words_that_only_look_like_a_date_are_not(text: str, marker: str) -> None:
    assert _read(text, marker) is None


def _verdict(customer: str, staff: str) -> str:
    record = make_record(
        utterances=[
            {"speaker": "staff", "start": 5.5, "end": 8.0, "text": "您好，信義會館，我是怡君。"},
            {"speaker": "customer", "start": 8.5, "end": 12.0, "text": customer},
            {"speaker": "staff", "start": 12.5, "end": 16.0, "text": staff},
        ]
    )
    card = score([msgspec.convert(record, CallRecord)], default_policy())[0]
    return card.verdict("talk.repeat-back")


@pytest.mark.parametrize(
    ("customer", "staff"),
    [
        ("約星期六下午三點", "好的，週六下午3點"),
        ("約12月5號", "幫您記12月五號"),
        ("電話是0912-345-678", "零九一二，三四五，六七八"),
        ("電話是+886 912 345 678", "您的電話是0912345678"),
    ],
)
def test_the_same_detail_said_back_another_way_passes(customer: str, staff: str) -> None:
    assert _verdict(customer, staff) == "pass"


@pytest.mark.parametrize(
    ("customer", "staff"),
    [
        ("約下午三點", "好的，三點半見"),  # another time
        ("約星期六", "好的，星期天見"),
        ("電話是0912-345-678", "好，0912345679"),
    ],
)
def test_another_detail_is_no_read_back(customer: str, staff: str) -> None:
    assert _verdict(customer, staff) == "fail"


def test_asking_to_confirm_counts_as_a_read_back() -> None:
    assert _verdict("約下午三點", "好的，跟您確認一下時間，對嗎？") == "pass"
