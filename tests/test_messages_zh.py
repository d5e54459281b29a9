"""Finding messages in Traditional Chinese: every message the rules make has one."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from callsop.engine import score
from callsop.engine.findings import Scorecard
from callsop.policy import Policy, default_policy, parse_policy
from callsop.record import Loaded, read_paths
from callsop.report.messages_zh import zh
from callsop.rules.examples import all_examples
from tests.helpers import EXAMPLES

# A club that counts differently from the default: other numbers in the messages.
CLUB_POLICY = """
[timing]
answer_within_rings = 2
give_up_rings = 8
retry_after_min_s = 120
retry_after_max_s = 240
redial_within_s = 45
max_hold_s = 30
ask_to_continue_after_s = 240
max_dead_air_s = 6

[speech]
min_chars_per_minute = 150
max_chars_per_minute = 260
max_staff_share = 0.6
min_talk_for_recap_s = 45
filler_repeats = 2
min_polite_expressions = 4

[club]
names = ["信義會館"]
"""

ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


def _cards(policy: Policy) -> Iterator[Scorecard]:
    loaded = [i for i in read_paths(sorted(str(p) for p in EXAMPLES.glob("*.json")))]
    assert all(isinstance(i, Loaded) for i in loaded)
    yield from score([i.record for i in loaded if isinstance(i, Loaded)], policy)
    for examples in all_examples().values():
        for example in examples:
            yield score(list(example.calls), policy)[0]


@pytest.mark.parametrize("club", [False, True], ids=["default-policy", "club-policy"])
def test_every_finding_message_reads_in_chinese(club: bool) -> None:
    policy = parse_policy(CLUB_POLICY, "club.toml") if club else default_policy()
    verdicts: set[str] = set()
    english: dict[str, str] = {}
    for card in _cards(policy):
        for finding in card.findings:
            verdicts.add(finding.verdict)
            if ENGLISH_WORD.search(zh(finding.message)):
                english.setdefault(finding.message, finding.rule)
    assert verdicts == {"pass", "fail", "na"}
    assert not english, "\n".join(f"{rule}: {msg}" for msg, rule in sorted(english.items()))


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("hold of 66 s at 34.41 s (> 60 s)", "保留 66 秒（第 34.41 秒起），超過 60 秒"),
        (
            "hold of 2 min 6 s at 20.3 s (> 60 s), never resumed, heard in the recording",
            "保留 2 分 6 秒（第 20.3 秒起），超過 60 秒，之後未再接回（由錄音聽出）",
        ),
        ("answered after 1 rings (≤ 3)", "鈴響 1 聲接聽（未超過 3 聲）"),
        ("retried after 4 min 10 s (> 4 min)", "4 分 10 秒後才重撥（晚於 4 分鐘）"),
        (
            "retried after 3 min 39 s (3 min–5 min)",
            "3 分 39 秒後重撥（在 3 分鐘至 5 分鐘之間）",
        ),
        (
            "staff started 2.1 s before the customer finished (> 1 s)",
            "館員在客戶說完前 2.1 秒就開口（超過 1 秒）",
        ),
        ("no transcript: the call has no utterances", "沒有逐字稿：這通電話沒有任何發言"),
        (
            "voice only: the recording tells who spoke when, not the words",
            "僅有聲音：錄音只聽得出誰在何時說話，聽不出說了什麼",
        ),
        (
            "the machine transcript is too weak to fail this rule",
            "機器轉寫的品質不足以判定此規則不合格",
        ),
        ("the note lacks WHY, HOW", "通話記錄缺少為何、如何"),
        ("a contact number is on the record (tasks[1])", "紀錄上已有聯絡電話（第 2 筆待辦）"),
        ("plan lacks purpose, time budget", "通話計畫缺少目的、預計時間"),
        ("2 transfers, each with a briefing", "轉接 2 次，每次都先交代來電內容"),
        ("ended by customer, not given up by staff", "由客戶結束，不是館員放棄撥打"),
        ("line front is not a consultation line", "「front」線不是諮詢專線"),
        (
            "follow-up task on the record due 2026-11-30T10:00:00+08:00",
            "紀錄上已有後續聯絡待辦，期限 2026-11-30 10:00:00+08:00",
        ),
        (
            "used 2 of §7's polite expressions: 您好、再見 (< 3)",
            "用了 2 種 §7 的禮貌用語：您好、再見（少於 3 種）",
        ),
        (
            "did not ask the caller's name (貴姓) or purpose (有什麼事) before the transfer",
            "轉接前沒有詢問來電者的姓名（「貴姓」）或來意（「有什麼事」）",
        ),
    ],
)
def test_a_shape_carries_its_numbers_and_words(english: str, chinese: str) -> None:
    assert zh(english) == chinese


def test_phrases_quoted_from_the_call_stay_as_said() -> None:
    said = "對對對，OK 我知道，9點那堂。"
    assert zh(f"strung fillers together: {said}") == f"連串使用口頭禪：「{said}」"
    assert zh(
        "the caller gave 0912-345-678 at 8 s; staff never read it back or asked to confirm"
    ) == ("來電者在第 8 秒說了「0912-345-678」，館員沒有複誦或請對方確認")


@pytest.mark.parametrize(
    "unknown",
    ["a message no rule makes yet (42 s)", "", "hold of many s at 3 s (> 60 s)", "no hold!"],
)
def test_a_message_without_a_shape_is_shown_as_written(unknown: str) -> None:
    assert zh(unknown) == unknown
