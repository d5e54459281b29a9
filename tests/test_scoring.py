"""score(): the shape of scorecards, the weights, missing data and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from callsop.engine import Scorecard, score
from callsop.policy import default_policy
from callsop.record import CallRecord
from callsop.rules import SCORED
from tests.helpers import make_record


def _score(*records: dict[str, Any], now: float | None = None) -> list[Scorecard]:
    calls = [msgspec.convert(r, CallRecord) for r in records]
    return score(calls, default_policy(), now=now)


def _finding(card: Scorecard, rule_id: str) -> Any:
    return next(f for f in card.findings if f.rule == rule_id)


def test_every_scored_rule_once_in_catalogue_order() -> None:
    [card] = _score(make_record())
    assert [f.rule for f in card.findings] == [rule.id for rule in SCORED]
    assert not any(f.rule.startswith("guide.") for f in card.findings)
    assert all(f.verdict in ("pass", "fail", "na") for f in card.findings)
    assert all(f.message for f in card.findings)


def test_score_is_the_weighted_share_of_applicable_rules_passed() -> None:
    record = make_record(
        events=[
            {"t": 0.0, "type": "ringing"},
            {"t": 14.0, "type": "answered"},  # 5 rings: a critical failure
            {"t": 60.0, "type": "hangup", "by": "staff"},  # a major failure
        ]
    )
    [card] = _score(record)
    policy = default_policy()
    earned = sum(policy.weight(f.rule) for f in card.findings if f.verdict == "pass")
    possible = sum(policy.weight(f.rule) for f in card.findings if f.verdict != "na")
    assert card.verdict("inbound.answer-promptly") == "fail"
    assert card.verdict("close.customer-hangs-up-first") == "fail"
    assert card.score == round(100 * earned / possible, 1)
    assert 0 < card.score < 100


def test_a_call_where_nothing_applies_has_no_score() -> None:
    [card] = _score(make_record(events=[], utterances=[], customer=None))
    assert {f.verdict for f in card.findings} == {"na"}
    assert card.score is None


def test_missing_transcript_is_na_with_the_reason_never_a_guess() -> None:
    [card] = _score(make_record(utterances=[]))
    finding = _finding(card, "inbound.greeting-with-club-name")
    assert finding.verdict == "na"
    assert "no transcript" in finding.message
    assert card.verdict("inbound.answer-promptly") == "pass"  # events still judge


def test_message_states_observed_against_limit_with_event_evidence() -> None:
    record = make_record(
        events=[
            {"t": 0.0, "type": "ringing"},
            {"t": 14.0, "type": "answered"},
            {"t": 60.0, "type": "hangup", "by": "customer"},
        ]
    )
    finding = _finding(_score(record)[0], "inbound.answer-promptly")
    assert finding.message == "answered after 5 rings (> 3)"
    assert finding.evidence == ({"t": 0.0}, {"t": 14.0})


def test_speech_evidence_points_at_the_utterance_and_words() -> None:
    finding = _finding(_score(make_record())[0], "close.farewell")
    assert finding.verdict == "pass"
    assert finding.evidence == ({"t": 55.0, "utterance": 3, "words": "再見"},)


def test_rings_counted_by_the_pbx_win_over_the_ring_period() -> None:
    record = make_record(
        events=[
            {"t": 0.0, "type": "ringing", "rings": 2},
            {"t": 14.0, "type": "answered"},
            {"t": 60.0, "type": "hangup", "by": "customer"},
        ]
    )
    assert _score(record)[0].verdict("inbound.answer-promptly") == "pass"


def test_events_out_of_order_are_read_in_time_order() -> None:
    record = make_record(
        events=[
            {"t": 60.0, "type": "hangup", "by": "customer"},
            {"t": 5.0, "type": "answered"},
            {"t": 0.0, "type": "ringing"},
        ]
    )
    assert _score(record)[0].verdict("inbound.answer-promptly") == "pass"


def _unanswered(call_id: str, started: str, phone: str, **extra: Any) -> dict[str, Any]:
    return make_record(
        id=call_id,
        direction="outbound",
        started_at=started,
        customer={"name": "林小姐", "phone": phone},
        events=[
            {"t": 0.0, "type": "dialing"},
            {"t": 1.0, "type": "ringing"},
            {"t": 31.0, "type": "hangup", "by": "staff"},
        ],
        utterances=[],
        **extra,
    )


def test_retry_is_matched_on_the_normalised_number() -> None:
    first = _unanswered("a", "2026-11-27T10:00:00+08:00", "0912-345-678")
    retry = _unanswered("b", "2026-11-27T10:04:31+08:00", "+886 912 345 678")
    cards = _score(first, retry)
    finding = _finding(cards[0], "outbound.retry-after-no-answer")
    assert finding.verdict == "pass", finding.message
    assert finding.message == "retried after 4 min (3 min–5 min)"
    assert finding.evidence[1]["call"] == "b"
    assert cards[0].verdict("outbound.no-answer-give-up") == "pass"  # 10 rings


def test_retry_too_soon_fails_and_other_numbers_do_not_count() -> None:
    first = _unanswered("a", "2026-11-27T10:00:00+08:00", "0912345678")
    other = _unanswered("b", "2026-11-27T10:04:00+08:00", "0922000111", tags=["final"])
    soon = _unanswered("c", "2026-11-27T10:01:31+08:00", "0912 345 678", tags=["final"])
    cards = _score(first, other, soon)
    finding = _finding(cards[0], "outbound.retry-after-no-answer")
    assert finding.verdict == "fail"
    assert finding.message == "retried after 60 s (< 3 min)"
    assert cards[2].verdict("outbound.retry-after-no-answer") == "na"  # final


def test_retry_window_still_open_is_na_given_now() -> None:
    first = _unanswered("a", "2026-11-27T10:00:00+08:00", "0912345678")
    now = datetime.fromisoformat("2026-11-27T10:02:00+08:00").timestamp()
    finding = _finding(_score(first, now=now)[0], "outbound.retry-after-no-answer")
    assert finding.verdict == "na"
    assert "due by 10:05:31" in finding.message
    assert _score(first)[0].verdict("outbound.retry-after-no-answer") == "fail"


def test_history_does_not_depend_on_input_order() -> None:
    first = _unanswered("a", "2026-11-27T10:00:00+08:00", "0912345678")
    retry = _unanswered("b", "2026-11-27T10:04:31+08:00", "0912345678")
    forward = _score(first, retry)[0]
    backward = _score(retry, first)[1]
    assert forward == backward


def test_transcript_only_record_judges_speech_and_leaves_the_rest_na() -> None:
    record = make_record(events=[], customer=None)
    del record["direction"]
    call = msgspec.convert(record, CallRecord)
    [card] = score([call], default_policy())
    assert card.verdict("close.farewell") == "pass"
    assert card.verdict("talk.polite-expressions") == "pass"
    assert _finding(card, "inbound.greeting-with-club-name").message == "direction not known"
    assert card.verdict("close.customer-hangs-up-first") == "na"


def test_scoring_is_repeatable() -> None:
    record = make_record()
    assert _score(record) == _score(record)


def test_a_transcript_alone_leaves_record_rules_na_not_failed() -> None:
    record = make_record(events=[], customer=None)
    del record["direction"]
    [card] = score([msgspec.convert(record, CallRecord)], default_policy())
    finding = _finding(card, "note.five-w-one-h")
    assert finding.verdict == "na"
    assert "transcript alone" in finding.message


def test_an_answered_call_with_events_but_no_note_fails_five_w_one_h() -> None:
    [card] = _score(make_record())
    assert _finding(card, "note.five-w-one-h").message == "no call note"
    assert card.verdict("note.five-w-one-h") == "fail"
