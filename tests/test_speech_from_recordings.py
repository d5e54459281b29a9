"""Records whose speech came from a recording: voice alone, a machine
transcript, one track; what each rule may and may not judge from them."""

from __future__ import annotations

import tomllib
from typing import Any

import msgspec
import pytest

from callsop.engine.findings import Finding, Scorecard
from callsop.engine.scoring import score
from callsop.policy import (
    Policy,
    PolicyError,
    build_policy,
    default_policy,
    default_policy_text,
    load_policy,
)
from callsop.record.model import CallRecord
from callsop.record.reader import Refusal, read_bytes
from tests.helpers import dumps, make_record

SPEECH_RULES_NEEDING_WORDS = (
    "inbound.greeting-with-club-name",
    "talk.polite-expressions",
    "close.farewell",
    "talk.no-arguing",
)


def _record(**fields: Any) -> CallRecord:
    return msgspec.convert(make_record(**fields), CallRecord)


def _card(record: CallRecord, policy: Any = None) -> Scorecard:
    return score([record], policy or default_policy())[0]


def _finding(card: Scorecard, rule: str) -> Finding:
    return next(f for f in card.findings if f.rule == rule)


def _voice_turns(*turns: tuple[str, float, float, int]) -> list[dict[str, Any]]:
    return [
        {"speaker": s, "start": a, "end": b, "syllables": n, "source": "audio"}
        for s, a, b, n in turns
    ]


VOICE_ONLY = {"source": "voice-only", "recording": "1764208931.42.wav"}

# A two-channel recording heard as voice alone: the clerk starts 2 s before
# the caller is done (a talk-over), and talks most of the time.
TALKY = _voice_turns(
    ("staff", 5.5, 9.0, 16),
    ("customer", 9.4, 16.0, 28),
    ("staff", 14.0, 40.0, 110),
    ("customer", 40.5, 43.0, 9),
    ("staff", 43.4, 68.0, 62),
)


def test_voice_alone_decides_the_voice_rules_and_says_so() -> None:
    card = _card(_record(speech=VOICE_ONLY, utterances=TALKY))
    over = _finding(card, "talk.no-talk-over")
    assert over.verdict == "fail"
    assert over.basis == "voice"
    assert "2.0 s before the customer finished" in over.message
    share = _finding(card, "talk.listen-share")
    assert share.verdict == "fail" and share.basis == "voice"
    rate = _finding(card, "talk.speech-rate")
    # 188 syllables in 54.1 s of staff speech: 209 a minute
    assert rate.verdict == "pass" and "209 characters a minute" in rate.message
    assert rate.basis == "voice"


def test_voice_alone_leaves_the_rules_of_words_na_with_the_reason() -> None:
    card = _card(_record(speech=VOICE_ONLY, utterances=TALKY))
    for rule in SPEECH_RULES_NEEDING_WORDS:
        finding = _finding(card, rule)
        assert finding.verdict == "na", rule
        assert finding.message.startswith("voice only"), finding.message


def test_a_slow_clerk_fails_the_speech_rate_from_syllables_heard() -> None:
    slow = _voice_turns(("staff", 5.5, 25.0, 30), ("customer", 25.5, 30.0, 20))
    slow += _voice_turns(("staff", 30.5, 50.0, 30))
    card = _card(_record(speech=VOICE_ONLY, utterances=slow))
    rate = _finding(card, "talk.speech-rate")
    assert rate.verdict == "fail"
    assert "92 characters a minute (< 120)" in rate.message


MACHINE = {"source": "machine", "engine": "whisper-base", "recording": "call.wav"}
# How a recogniser writes a good call: the club's name and 貴姓 misheard.
MISHEARD = [
    {"speaker": "staff", "start": 5.5, "end": 8.0, "text": "您好,信義匯館,我是怡君"},
    {"speaker": "customer", "start": 8.5, "end": 12.0, "text": "你好我想問體驗課"},
    {"speaker": "staff", "start": 12.5, "end": 15.0, "text": "好的請問玫瑰姐"},
    {"speaker": "customer", "start": 15.5, "end": 17.0, "text": "我姓王"},
    {"speaker": "staff", "start": 55.0, "end": 58.0, "text": "歡迎你到會館來坐客"},
]


def test_a_machine_transcript_finds_long_phrases_by_sound_and_says_so() -> None:
    card = _card(_record(speech=MACHINE, utterances=MISHEARD))
    farewell = _finding(card, "close.farewell")
    assert farewell.verdict == "pass", farewell.message
    assert farewell.basis == "machine"
    assert farewell.evidence[0]["words"] == "歡迎你到會館來坐客"


def test_a_person_s_transcript_is_matched_as_written() -> None:
    card = _card(_record(utterances=MISHEARD))  # no `speech`: a person typed it
    farewell = _finding(card, "close.farewell")
    assert farewell.verdict == "fail"
    assert farewell.basis is None


def test_a_short_phrase_is_never_found_by_sound() -> None:
    # 來電 sounds like 再見 (lai dian / zai jian): two syllables are too few
    turns = [*MISHEARD[:-1], {"speaker": "staff", "start": 55, "end": 58, "text": "謝謝您的來電"}]
    card = _card(_record(speech=MACHINE, utterances=turns))
    assert _finding(card, "close.farewell").verdict == "fail"


def _farewell_held_weak() -> Policy:
    return build_policy(
        {
            **_default_data(),
            "matching": {**_default_data()["matching"], "machine_weak_rules": ["close.farewell"]},
        },
        "club.toml",
    )


def test_a_rule_too_weak_for_machine_transcripts_fails_nobody_on_them() -> None:
    no_goodbye = [
        *MISHEARD[:-1],
        {"speaker": "staff", "start": 55, "end": 58, "text": "謝謝您的來電"},
    ]
    machine = _card(_record(speech=MACHINE, utterances=no_goodbye), _farewell_held_weak())
    farewell = _finding(machine, "close.farewell")
    assert farewell.verdict == "na"
    assert farewell.message == "the machine transcript is too weak to fail this rule"
    human = _card(_record(utterances=no_goodbye), _farewell_held_weak())
    assert _finding(human, "close.farewell").verdict == "fail"


def test_a_rule_too_weak_to_fail_on_machine_transcripts_keeps_its_pass() -> None:
    machine = _card(_record(speech=MACHINE, utterances=MISHEARD), _farewell_held_weak())
    farewell = _finding(machine, "close.farewell")
    assert (farewell.verdict, farewell.basis) == ("pass", "machine"), farewell.message


def _default_data() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(default_policy_text())
    return data


def test_an_unknown_weak_rule_is_refused_naming_the_key(tmp_path: Any) -> None:
    path = tmp_path / "club.toml"
    path.write_text('[matching]\nmachine_weak_rules = ["close.farwell"]\n', "utf-8")
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    assert "key matching.machine_weak_rules: 'close.farwell' is not a scored rule" in str(
        refused.value
    )


def test_a_hold_heard_in_the_recording_counts_when_the_pbx_told_of_none() -> None:
    events = [
        {"t": 0.0, "type": "ringing"},
        {"t": 5.0, "type": "answered"},
        {"t": 20.0, "type": "hold", "source": "audio"},
        {"t": 95.0, "type": "resume", "source": "audio"},
        {"t": 120.0, "type": "hangup", "by": "customer"},
    ]
    card = _card(_record(events=events, speech=VOICE_ONLY, utterances=TALKY))
    hold = _finding(card, "hold.max-duration")
    assert hold.verdict == "fail"
    assert hold.basis == "voice"
    assert "hold of 75 s at 20 s" in hold.message and "heard in the recording" in hold.message


def test_holds_from_the_pbx_outrank_holds_heard() -> None:
    events = [
        {"t": 0.0, "type": "ringing"},
        {"t": 5.0, "type": "answered"},
        {"t": 20.0, "type": "hold"},
        {"t": 50.0, "type": "resume"},
        {"t": 19.0, "type": "hold", "source": "audio"},
        {"t": 95.0, "type": "resume", "source": "audio"},
        {"t": 120.0, "type": "hangup", "by": "customer"},
    ]
    card = _card(_record(events=events, speech=VOICE_ONLY, utterances=TALKY))
    hold = _finding(card, "hold.max-duration")
    assert hold.verdict == "pass"
    assert hold.basis is None
    assert "one hold of 30 s" in hold.message


def test_holds_heard_alone_do_not_make_a_transcript_a_kept_record() -> None:
    events = [
        {"t": 20.0, "type": "hold", "source": "audio"},
        {"t": 40, "type": "resume", "source": "audio"},
    ]
    record = _record(events=events, speech=VOICE_ONLY, utterances=TALKY, customer=None)
    record = msgspec.structs.replace(record, note=None)
    card = _card(record)
    assert _finding(card, "talk.no-talk-over").verdict == "fail"  # answered: voices heard
    note = _finding(card, "note.five-w-one-h")
    assert note.verdict == "na"


def test_one_track_leaves_the_speaker_rules_na_and_judges_silence() -> None:
    mono = [
        {"speaker": "other", "start": 5.5, "end": 9.0, "syllables": 16, "source": "audio"},
        {"speaker": "other", "start": 9.4, "end": 16.0, "syllables": 28, "source": "audio"},
        {"speaker": "other", "start": 31.0, "end": 40.0, "syllables": 40, "source": "audio"},
    ]
    card = _card(_record(speech=VOICE_ONLY, utterances=mono))
    for rule in ("talk.no-talk-over", "talk.listen-share", "close.farewell"):
        finding = _finding(card, rule)
        assert finding.verdict == "na", rule
        assert finding.message.startswith("one track"), finding.message
    silence = _finding(card, "talk.no-dead-air")
    assert silence.verdict == "fail"
    assert "15 s of silence at 16 s" in silence.message


def test_dead_air_is_only_judged_on_a_recording() -> None:
    card = _card(_record())
    finding = _finding(card, "talk.no-dead-air")
    assert finding.verdict == "na"
    assert finding.message.startswith("no recording")


def test_the_reader_takes_speech_fields_and_names_a_bad_one() -> None:
    good = make_record(speech=VOICE_ONLY, utterances=TALKY)
    bad = make_record(speech={"source": "robot"})
    bad_turn = make_record(utterances=[{"speaker": "staff", "start": 1, "end": 2, "syllables": -3}])
    data = "\n".join(dumps(r) for r in (good, bad, bad_turn)).encode()
    items = list(read_bytes("calls.jsonl", data))
    assert not isinstance(items[0], Refusal)
    assert items[0].record.utterances[0].text == ""
    assert items[0].record.utterances[0].syllables == 16
    assert isinstance(items[1], Refusal) and items[1].field == "speech.source"
    assert "expected one of human, machine, voice-only" in items[1].message
    assert isinstance(items[2], Refusal) and items[2].field == "utterances[0].syllables"


def test_a_person_s_record_scores_and_prints_as_before() -> None:
    card = _card(_record())
    encoded = msgspec.json.encode(card).decode()
    assert '"basis"' not in encoded


def _trusting() -> Any:
    """A club that trusts its recogniser: no rule held too weak for it."""
    data = _default_data()
    return build_policy(
        {**data, "matching": {**data["matching"], "machine_weak_rules": []}}, "club"
    )


@pytest.mark.parametrize(
    ("said", "rule"),
    [
        ("不好意思我聽不太清楚", "talk.dont-guess-answers"),  # not 我不太清楚
        ("我再跟您確認一下時間", "outbound.next-contact"),  # not 再跟您約
    ],
)
def test_three_syllables_alike_are_not_a_four_syllable_phrase(said: str, rule: str) -> None:
    turns = [*MISHEARD[:2], {"speaker": "staff", "start": 12.5, "end": 15.0, "text": said}]
    machine = _card(_record(speech=MACHINE, utterances=turns, direction="outbound"), _trusting())
    human = _card(_record(utterances=turns, direction="outbound"), _trusting())
    assert _finding(machine, rule).verdict == _finding(human, rule).verdict


def test_a_homophone_counts_on_a_machine_transcript_but_not_when_a_person_wrote_it() -> None:
    events = [
        {"t": 0.0, "type": "ringing"},
        {"t": 5.0, "type": "answered"},
        {"t": 15.5, "type": "hold"},
        {"t": 30.0, "type": "resume"},
        {"t": 60.0, "type": "hangup", "by": "customer"},
    ]
    turns = [*MISHEARD[:2], {"speaker": "staff", "start": 12.5, "end": 15.0, "text": "好的請稍後"}]
    machine = _card(_record(speech=MACHINE, utterances=turns, events=events), _trusting())
    asked = _finding(machine, "hold.ask-before-hold")
    assert asked.verdict == "pass" and asked.evidence[0]["words"] == "請稍後"
    person = _card(_record(utterances=turns, events=events), _trusting())
    assert _finding(person, "hold.ask-before-hold").verdict == "fail"


def test_a_hold_heard_does_not_move_when_the_call_began() -> None:
    dropped = make_record(
        id="a",
        direction="outbound",
        started_at="2026-11-27T10:00:00+08:00",
        events=[
            {"t": 0.0, "type": "dialing"},
            {"t": 4.0, "type": "answered"},
            {"t": 60.0, "type": "hangup", "by": "network"},
        ],
    )
    redial = make_record(
        id="b",
        direction="outbound",
        started_at="2026-11-27T10:01:30+08:00",
        speech=VOICE_ONLY,
        utterances=TALKY,
        events=[
            {"t": 35.0, "type": "hold", "source": "audio"},
            {"t": 45.0, "type": "resume", "source": "audio"},
        ],
    )
    records = [msgspec.convert(r, CallRecord) for r in (dropped, redial)]
    card = score(records, default_policy())[0]
    finding = _finding(card, "outbound.redial-after-drop")
    assert finding.verdict == "pass", finding.message


def test_a_person_s_transcript_with_the_recording_s_timings_rests_on_no_machine() -> None:
    timed = [dict(u, text="您好，信義會館。" if i == 0 else "好的。") for i, u in enumerate(TALKY)]
    card = _card(_record(utterances=timed))  # no `speech`: a person's words
    assert all(f.basis is None for f in card.findings)
    assert _finding(card, "talk.no-dead-air").verdict == "pass"  # timed by the recording


def test_a_short_sound_inside_the_caller_s_turn_is_listening() -> None:
    nod = _voice_turns(
        ("staff", 5.5, 9.0, 16),
        ("customer", 9.4, 20.0, 45),
        ("staff", 14.0, 14.4, 1),  # 嗯
        ("staff", 20.3, 30.0, 40),
    )
    assert (
        _finding(_card(_record(speech=VOICE_ONLY, utterances=nod)), "talk.no-talk-over").verdict
        == "pass"
    )
    cut_in = [*nod[:2], {**nod[2], "end": 16.0, "syllables": 7}, nod[3]]
    card = _card(_record(speech=VOICE_ONLY, utterances=cut_in))
    assert _finding(card, "talk.no-talk-over").verdict == "fail"


def _hold_call(before_hold: str) -> CallRecord:
    """A machine-heard call put on hold at 20 s, right after `before_hold`."""
    return _record(
        speech=MACHINE,
        events=[
            {"t": 0.0, "type": "ringing"},
            {"t": 5.0, "type": "answered"},
            {"t": 20.0, "type": "hold"},
            {"t": 45.0, "type": "resume"},
            {"t": 70.0, "type": "hangup", "by": "customer"},
        ],
        utterances=[
            {"speaker": "staff", "start": 5.5, "end": 8.0, "text": "您好 信義會館 我是怡君"},
            {"speaker": "customer", "start": 9.0, "end": 13.0, "text": "我想問瑜伽課的時間"},
            {"speaker": "staff", "start": 14.0, "end": 19.0, "text": before_hold},
            {"speaker": "staff", "start": 46.0, "end": 52.0, "text": "週六上午十點有一堂"},
            {"speaker": "staff", "start": 60.0, "end": 62.0, "text": "謝謝您 再見"},
        ],
    )


def test_an_unannounced_hold_fails_on_a_machine_transcript_when_nothing_was_misheard() -> None:
    ask = _finding(_card(_hold_call("呃 這個")), "hold.ask-before-hold")
    assert ask.verdict == "fail"
    assert "without 請稍候" in ask.message


@pytest.mark.parametrize(
    "heard",
    [
        "零小點零號緊稍後我幫您查一下可表",  # 請稍候 heard as 緊稍後: its sound kept in part
        "",  # a segment heard with no words
    ],
)
def test_a_hold_ask_the_recogniser_may_have_misheard_fails_nobody(heard: str) -> None:
    ask = _finding(_card(_hold_call(heard)), "hold.ask-before-hold")
    assert ask.verdict == "na"
    assert ask.message == "the machine transcript is too weak to fail this rule"


def _unscheduled_call(*staff_turns: tuple[float, float, str]) -> CallRecord:
    return _record(
        direction="outbound",
        prearranged=False,
        speech=MACHINE,
        events=[
            {"t": 0.0, "type": "dialing"},
            {"t": 1.0, "type": "ringing"},
            {"t": 6.0, "type": "answered"},
            {"t": 50.0, "type": "hangup", "by": "customer"},
        ],
        utterances=[
            {
                "speaker": "staff",
                "start": 6.9,
                "end": 11.0,
                "text": "您好 這裡是信義會館 我是小陳 請問是黃先生嗎",
            },
            {"speaker": "customer", "start": 12.9, "end": 14.5, "text": "我是 什麼事"},
            *(
                {"speaker": "staff", "start": a, "end": b, "text": text}
                for a, b, text in staff_turns
            ),
            {"speaker": "staff", "start": 45.0, "end": 47.0, "text": "多謝黃先生 再見"},
        ],
    )


def test_no_apology_at_all_fails_an_unscheduled_call_on_a_machine_transcript() -> None:
    card = _card(_unscheduled_call((15.4, 20.0, "您的會籍下個月到期 想跟您說明續約的優惠")))
    assert _finding(card, "outbound.apologize-unscheduled").verdict == "fail"


@pytest.mark.parametrize(
    "heard",
    [
        "不好意思打仗們",  # 不好意思打擾了 with most of its sound kept
        "呼喚宇宙大教們",  # a lead-in cut into a segment of its own, heard as anything
    ],
)
def test_an_apology_the_recogniser_may_have_misheard_fails_nobody(heard: str) -> None:
    card = _card(
        _unscheduled_call(
            (15.4, 17.0, heard), (17.4, 22.0, "您的會籍下個月到期 想跟您說明續約的優惠")
        )
    )
    assert _finding(card, "outbound.apologize-unscheduled").verdict == "na"


def _polite_call(opening: str) -> CallRecord:
    """A machine-heard call whose clerk says 謝謝 and 再見, and `opening`."""
    return _record(
        speech=MACHINE,
        utterances=[
            {"speaker": "staff", "start": 5.5, "end": 8.0, "text": opening},
            {"speaker": "customer", "start": 9.0, "end": 13.0, "text": "我想問瑜伽課的時間"},
            {"speaker": "staff", "start": 14.0, "end": 19.0, "text": "週六上午十點有一堂"},
            {"speaker": "customer", "start": 20.0, "end": 21.0, "text": "好"},
            {"speaker": "staff", "start": 55.0, "end": 58.0, "text": "謝謝 再見"},
        ],
    )


def test_two_polite_expressions_fail_on_a_machine_transcript_when_no_third_was_misheard() -> None:
    polite = _finding(_card(_polite_call("信義會館 我是怡君")), "talk.polite-expressions")
    assert polite.verdict == "fail"


def test_a_polite_expression_heard_nearly_may_have_been_said() -> None:
    # 您好 heard as 你好 (nin as ni): the clerk may well have said it.
    polite = _finding(_card(_polite_call("你好 信義會館 我是怡君")), "talk.polite-expressions")
    assert polite.verdict == "na"
