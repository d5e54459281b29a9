"""Inputs at the edges: each one once judged or read wrongly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from callsop.batch import score_units
from callsop.engine import Scorecard, score
from callsop.engine.call import _COMPILED_KEPT, Compiled
from callsop.policy import default_policy, load_policy
from callsop.record import CallRecord, Loaded, Refusal, Utterance, read_bytes
from callsop.record.reader import load_paths, split_paths
from tests.helpers import ROOT, dumps, make_record


def _card(record: dict[str, Any]) -> Scorecard:
    return score([msgspec.convert(record, CallRecord)], default_policy())[0]


def _finding(card: Scorecard, rule: str) -> Any:
    return next(f for f in card.findings if f.rule == rule)


def test_json_lines_without_the_name_survive_a_broken_first_record() -> None:
    data = b'{"schema": "callsop.call/1", "id": \n' + b"\n".join(
        dumps(make_record(id=f"c{n}")).encode() for n in range(3)
    )
    items = list(read_bytes("<stdin>", data))
    assert [type(i).__name__ for i in items] == ["Refusal", "Loaded", "Loaded", "Loaded"]


def test_a_single_record_after_blank_lines_is_refused_on_its_own_line() -> None:
    data = b"\n\n\n\n\n" + b'{"schema": "callsop.call/1", "id": }'
    [refusal] = list(read_bytes("one.json", data))
    assert isinstance(refusal, Refusal) and refusal.line == 6


def test_a_cue_holding_a_line_separator_keeps_later_line_numbers() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v staff>您好\u2028請說</v>\n\n00:00:03 --> x\n<v customer>嗨</v>\n"
    [refusal] = list(read_bytes("t.vtt", text.encode()))
    assert isinstance(refusal, Refusal) and refusal.line == 6


def test_the_same_file_twice_numbers_refusals_alike_on_one_core_and_many(tmp_path: Path) -> None:
    lines = [dumps(make_record(id=f"c{n}")) for n in range(1100)]
    lines[49] = '{"schema": "callsop.call/1", "id": "bad", "direction": "up"}'
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines), "utf-8")
    paths = [str(path), str(path)]
    serial = score_units(list(split_paths(paths)), default_policy(), jobs=1, as_json=True)
    parallel = score_units(list(load_paths(paths)), default_policy(), jobs=2, as_json=True)
    assert [str(r) for r in parallel.refusals] == [str(r) for r in serial.refusals]
    assert [(r.line, r.index) for r in parallel.refusals] == [(50, 50), (50, 50)]


def test_a_closed_output_ends_a_parallel_run_quietly(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(dumps(make_record(id=f"c{n}")) for n in range(2200)), "utf-8")
    command = [
        sys.executable,
        "-m",
        "callsop",
        "score",
        str(path),
        "--format",
        "json",
        "--jobs",
        "2",
    ]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert run.stdout is not None and run.stderr is not None
    first = run.stdout.read(100)
    run.stdout.close()
    errors = run.stderr.read()
    assert run.wait(timeout=60) == 0
    assert first.startswith(b'{"call":"c0"')
    assert b"Traceback" not in errors


def test_evidence_quotes_the_right_words_when_a_turn_holds_the_separator() -> None:
    record = make_record(
        events=[
            {"t": 0.0, "type": "ringing"},
            {"t": 5.0, "type": "answered"},
            {"t": 20.0, "type": "hold"},
            {"t": 40.0, "type": "resume"},
            {"t": 60.0, "type": "hangup", "by": "customer"},
        ]
    )
    record["utterances"][2]["text"] = "a\x1f好的請稍候一下喔"
    record["utterances"][2]["start"], record["utterances"][2]["end"] = 15.0, 19.0
    finding = _finding(_card(record), "hold.ask-before-hold")
    assert finding.verdict == "pass"
    assert finding.evidence[0]["words"] == "請稍候"


def test_a_read_back_counts_in_time_order_not_in_list_order() -> None:
    utterances = [
        {"speaker": "staff", "start": 2.0, "end": 4.0, "text": "您好，信義會館。"},
        {"speaker": "staff", "start": 9.0, "end": 11.0, "text": "好的，星期六。"},
        {"speaker": "customer", "start": 5.0, "end": 8.0, "text": "我想約星期六。"},
    ]
    assert _card(make_record(utterances=utterances)).verdict("talk.repeat-back") == "pass"


def test_a_number_of_zeros_is_a_number_to_read_back() -> None:
    utterances = [
        {"speaker": "staff", "start": 5.5, "end": 8.0, "text": "您好，信義會館。"},
        {"speaker": "customer", "start": 8.5, "end": 11.0, "text": "我的密碼是0000。"},
        {"speaker": "staff", "start": 11.5, "end": 14.0, "text": "好的，我幫您處理。"},
    ]
    assert _card(make_record(utterances=utterances)).verdict("talk.repeat-back") == "fail"


def test_thanks_at_the_end_are_not_thanks_for_fetching_even_without_an_other_turn() -> None:
    record = make_record(
        direction="outbound",
        tags=["fetched"],
        utterances=[
            {"speaker": "customer", "start": 5.5, "end": 6.5, "text": "喂？"},
            {"speaker": "staff", "start": 7.0, "end": 10.0, "text": "您好，請問王先生在嗎？"},
            {"speaker": "customer", "start": 10.5, "end": 12.0, "text": "等一下。"},
            {"speaker": "staff", "start": 12.5, "end": 13.0, "text": "好。"},
            {"speaker": "customer", "start": 25.0, "end": 26.0, "text": "我是。"},
            {
                "speaker": "staff",
                "start": 26.5,
                "end": 30.0,
                "text": "王先生您好，提醒您明天的課。",
            },
            {"speaker": "staff", "start": 55.0, "end": 58.0, "text": "謝謝您，再見。"},
        ],
    )
    assert _card(record).verdict("outbound.thank-for-fetching") == "fail"


def test_a_transfer_by_the_pbx_before_the_answer_is_no_handover() -> None:
    record = make_record(
        tags=["asks-for-person"],
        events=[
            {"t": 0.0, "type": "ringing"},
            {"t": 1.0, "type": "transfer", "to": "desk", "summary": "routing"},
            {"t": 4.0, "type": "answered"},
            {"t": 60.0, "type": "hangup", "by": "customer"},
        ],
        utterances=[
            {"speaker": "customer", "start": 5.0, "end": 7.0, "text": "請問王教練在嗎？"},
            {"speaker": "staff", "start": 8.0, "end": 11.0, "text": "請問您貴姓？有什麼事嗎？"},
        ],
    )
    assert _card(record).verdict("inbound.ask-caller-identity") == "pass"


def test_records_built_in_python_may_use_whole_seconds() -> None:
    record = msgspec.convert(make_record(utterances=[]), CallRecord)
    record = msgspec.structs.replace(
        record, utterances=(Utterance("staff", 5, 40, "您好，信義會館，再見"),)
    )
    [card] = score([record], default_policy())
    assert card.verdict("close.farewell") == "pass"


def test_compiled_policies_are_kept_only_a_few_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "club.toml"
    path.write_text("[timing]\nmax_hold_s = 90\n", "utf-8")
    for _ in range(_COMPILED_KEPT + 5):
        Compiled.of(load_policy(path))
    from callsop.engine.call import _COMPILED

    assert len(_COMPILED) <= _COMPILED_KEPT


def test_the_example_batch_file_scores_whole(tmp_path: Path) -> None:
    path = ROOT / "examples" / "batches" / "week-xinyi.jsonl"
    items = list(read_bytes(str(path), path.read_bytes()))
    assert all(isinstance(i, Loaded) for i in items)
    assert json.loads(path.read_text("utf-8").splitlines()[0])["id"] == items[0].record.id  # type: ignore[union-attr]
