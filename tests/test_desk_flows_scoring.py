"""The desk's own flows score as the SOP intends: a call broken off for a
visitor (§2.3(8)) and a wrong number (§2.3(4)) fail no rule for doing what
the SOP asks."""

from __future__ import annotations

from typing import Any

import msgspec

from callsop.engine import score
from callsop.engine.findings import Finding, Scorecard
from callsop.policy import default_policy
from callsop.record.model import SCHEMA, CallRecord, check_record

NOTE = {
    "when": "今天下午",
    "who": "王大明（會員）",
    "where": "-",
    "what": "詢問游泳課名額",
    "why": "想報名週六班",
    "how": "十五分鐘內回電告知",
}

# What the desk's 訪客到達 button keeps (services.calls.call_visitor_arrived):
# the clerk hangs up, and a callback task is set for the caller.
VISITOR: dict[str, Any] = {
    "events": [
        {"t": 0.0, "type": "ringing"},
        {"t": 5.0, "type": "answered"},
        {"t": 30.0, "type": "hangup", "by": "staff"},
    ],
    "tags": ["visitor-interrupt"],
    "tasks": [{"kind": "callback", "due": "2026-11-27T10:15:30+08:00", "phone": "0912345678"}],
}

VISITOR_WORDS = [
    {"speaker": "staff", "start": 5.5, "end": 8.0, "text": "您好，信義會館，我是怡君。"},
    {
        "speaker": "customer",
        "start": 8.5,
        "end": 12.0,
        "text": "你好，我想問一下游泳課還有名額嗎？",
    },
    {"speaker": "staff", "start": 12.5, "end": 14.0, "text": "請問您貴姓？"},
    {"speaker": "customer", "start": 14.5, "end": 15.5, "text": "我姓王。"},
    {
        "speaker": "staff",
        "start": 16.0,
        "end": 24.0,
        "text": "王先生，對不起，我有一個棘手情況，稍後我給您打過去，謝謝您，再見。",
    },
    {"speaker": "customer", "start": 24.5, "end": 25.5, "text": "好，再見。"},
]

# What the desk's 打錯電話 button keeps (services.calls.call_wrong_number).
WRONG_NUMBER: dict[str, Any] = {
    "events": [
        {"t": 0.0, "type": "ringing"},
        {"t": 5.0, "type": "answered"},
        {"t": 20.0, "type": "hangup", "by": "customer"},
    ],
    "tags": ["wrong-number"],
}

WRONG_NUMBER_WORDS = [
    {"speaker": "staff", "start": 5.5, "end": 8.0, "text": "您好，信義會館，我是怡君。"},
    {"speaker": "customer", "start": 8.5, "end": 11.0, "text": "咦，不是王記牙醫診所嗎？"},
    {
        "speaker": "staff",
        "start": 11.5,
        "end": 16.0,
        "text": "不好意思，您打錯了喔，沒關係，再見。",
    },
]


def _card(**fields: Any) -> Scorecard:
    data = {
        "schema": SCHEMA,
        "id": "xinyi-1",
        "club": "xinyi",
        "direction": "inbound",
        "line": "main",
        "purpose": "business",
        "started_at": "2026-11-27T10:00:00+08:00",
        "staff": {"id": "1", "name": "陳怡君"},
        "customer": {"phone": "0912345678", "known": False},
        **fields,
    }
    record = msgspec.convert(data, CallRecord)
    check_record(record)
    return score([record], default_policy())[0]


def _finding(card: Scorecard, rule: str) -> Finding:
    return next(f for f in card.findings if f.rule == rule)


def _failed(card: Scorecard) -> dict[str, str]:
    return {f.rule: f.message for f in card.findings if f.verdict == "fail"}


def test_the_desks_visitor_break_is_outside_the_hang_up_rule() -> None:
    finding = _finding(_card(**VISITOR), "close.customer-hangs-up-first")
    assert finding.verdict == "na"
    assert finding.message == "staff ended the call for a visitor, with a callback set"


def test_a_visitor_break_done_as_the_sop_says_fails_no_rule() -> None:
    card = _card(**VISITOR, utterances=VISITOR_WORDS, note=NOTE)
    assert _failed(card) == {}
    assert card.verdict("inbound.visitor-callback") == "pass"
    assert card.verdict("close.farewell") == "pass"
    assert card.score == 100.0


def test_a_visitor_said_aloud_counts_as_the_tag_does() -> None:
    untagged = {**VISITOR, "tags": []}
    card = _card(**untagged, utterances=VISITOR_WORDS, note=NOTE)
    assert card.verdict("close.customer-hangs-up-first") == "na"
    assert card.verdict("inbound.visitor-callback") == "pass"


def test_a_visitor_break_without_a_callback_still_fails_the_hang_up() -> None:
    card = _card(**{**VISITOR, "tasks": []}, utterances=VISITOR_WORDS, note=NOTE)
    assert _failed(card) == {
        "close.customer-hangs-up-first": "staff hung up first at 30 s",
        "inbound.visitor-callback": "broke off for a visitor; no callback task on the record",
    }


def test_a_visitor_call_the_customer_ends_passes_the_hang_up() -> None:
    events = [*VISITOR["events"][:2], {"t": 30.0, "type": "hangup", "by": "customer"}]
    card = _card(**{**VISITOR, "events": events})
    assert card.verdict("close.customer-hangs-up-first") == "pass"


def test_a_staff_hang_up_on_an_ordinary_call_still_fails() -> None:
    card = _card(events=VISITOR["events"], tasks=VISITOR["tasks"], note=NOTE)
    assert card.verdict("close.customer-hangs-up-first") == "fail"


def test_the_desks_wrong_number_needs_no_note_and_fails_no_rule() -> None:
    card = _card(**WRONG_NUMBER)
    finding = _finding(card, "note.five-w-one-h")
    assert (finding.verdict, finding.message) == ("na", "a wrong number: nothing to note")
    assert _failed(card) == {}


def test_a_wrong_number_handled_warmly_fails_no_rule() -> None:
    card = _card(**WRONG_NUMBER, utterances=WRONG_NUMBER_WORDS)
    assert _failed(card) == {}
    assert card.verdict("note.five-w-one-h") == "na"
    assert card.verdict("talk.polite-expressions") == "pass"


def test_an_ordinary_call_without_a_note_still_fails_five_w_one_h() -> None:
    card = _card(events=WRONG_NUMBER["events"], utterances=WRONG_NUMBER_WORDS)
    assert _finding(card, "note.five-w-one-h").message == "no call note"
