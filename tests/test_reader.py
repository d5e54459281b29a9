from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from callsop.record import Loaded, Refusal, read_bytes, read_paths
from tests.helpers import dumps, make_record

WriteFile = Callable[[str, str], Path]


def _read(path: Path) -> list[Loaded | Refusal]:
    return list(read_paths([str(path)]))


def test_reads_one_record(write_file: WriteFile) -> None:
    [item] = _read(write_file("call.json", dumps(make_record())))
    assert isinstance(item, Loaded)
    assert item.record.id == "xinyi-20261127-0001"
    assert item.record.utterances[0].text == "您好，信義會館，我是怡君。"


def test_reads_an_array_and_refuses_only_the_bad_record(write_file: WriteFile) -> None:
    bad = make_record(id="bad-one")
    bad["events"][1]["t"] = "five"
    text = (
        "[\n"
        + ",\n".join(dumps(r) for r in (make_record(id="a"), bad, make_record(id="c")))
        + "\n]"
    )
    items = _read(write_file("batch.json", text))
    assert [type(i).__name__ for i in items] == ["Loaded", "Refusal", "Loaded"]
    refusal = items[1]
    assert isinstance(refusal, Refusal)
    assert refusal.line == 3
    assert refusal.record_id == "bad-one"
    assert refusal.field == "events[1].t"
    assert str(refusal).startswith(f"{refusal.source}:3: record 2 (bad-one): field events[1].t:")


def test_json_lines_name_the_line_of_a_bad_record(write_file: WriteFile) -> None:
    lines = [dumps(make_record(id="a")), "", dumps(make_record(id="b", direction="sideways"))]
    items = _read(write_file("calls.jsonl", "\n".join(lines)))
    assert isinstance(items[0], Loaded)
    refusal = items[1]
    assert isinstance(refusal, Refusal)
    assert (refusal.line, refusal.index, refusal.field) == (3, 2, "direction")
    assert "inbound" in refusal.message


def test_broken_json_line_is_refused_with_its_line(write_file: WriteFile) -> None:
    text = dumps(make_record(id="a")) + "\n" + '{"schema": "callsop.call/1", "id": \n'
    items = _read(write_file("calls.jsonl", text))
    assert isinstance(items[0], Loaded)
    assert isinstance(items[1], Refusal) and items[1].line == 2
    assert "ends before the record does" in items[1].message


def test_json_lines_in_a_json_file_are_read_as_lines(write_file: WriteFile) -> None:
    text = dumps(make_record(id="a")) + "\n" + dumps(make_record(id="b")) + "\n"
    items = _read(write_file("calls.json", text))
    assert [i.record.id for i in items if isinstance(i, Loaded)] == ["a", "b"]


def test_missing_required_field_names_it(write_file: WriteFile) -> None:
    record = make_record()
    del record["started_at"]
    [item] = _read(write_file("call.json", dumps(record)))
    assert isinstance(item, Refusal)
    assert "started_at" in item.message


def test_direction_is_required(write_file: WriteFile) -> None:
    record = make_record()
    del record["direction"]
    [item] = _read(write_file("call.json", dumps(record)))
    assert isinstance(item, Refusal) and item.field == "direction"


def test_time_without_offset_is_refused(write_file: WriteFile) -> None:
    [item] = _read(write_file("call.json", dumps(make_record(started_at="2026-11-27T10:02:11"))))
    assert isinstance(item, Refusal) and item.field == "started_at"
    assert "+08:00" in item.message  # says how to write it


def test_utterance_ending_before_it_starts_is_refused(write_file: WriteFile) -> None:
    record = make_record()
    record["utterances"][2]["end"] = 1.0
    [item] = _read(write_file("call.json", dumps(record)))
    assert isinstance(item, Refusal) and item.field == "utterances[2].end"


def test_unknown_fields_are_ignored(write_file: WriteFile) -> None:
    [item] = _read(write_file("call.json", dumps(make_record(crm_ref="A-17", mood="calm"))))
    assert isinstance(item, Loaded)


def test_unreadable_file_is_a_refusal(tmp_path: Path) -> None:
    [item] = _read(tmp_path / "missing.json")
    assert isinstance(item, Refusal) and "cannot read" in item.message


def test_dash_reads_standard_input() -> None:
    stdin = io.BytesIO(dumps(make_record(id="from-stdin")).encode())
    [item] = list(read_paths(["-"], stdin=stdin))
    assert isinstance(item, Loaded) and item.source == "<stdin>"
    assert item.record.id == "from-stdin"


VTT = """WEBVTT

NOTE callsop
id: xinyi-vtt-1
direction: inbound
started_at: 2026-11-27T10:00:00+08:00

1
00:00:07.900 --> 00:00:10.400
<v staff>您好，信義會館，我是怡君。</v>

00:00:10.800 --> 00:00:13.000
<v customer>你好，我想問一下
體驗課的時間。
"""


def test_webvtt_gives_a_record_with_utterances() -> None:
    [item] = list(read_bytes("talk.vtt", VTT.encode()))
    assert isinstance(item, Loaded)
    record = item.record
    assert (record.id, record.direction) == ("xinyi-vtt-1", "inbound")
    assert [(u.speaker, u.start, u.end) for u in record.utterances] == [
        ("staff", 7.9, 10.4),
        ("customer", 10.8, 13.0),
    ]
    assert record.utterances[1].text == "你好，我想問一下\n體驗課的時間。"
    assert record.events == ()


def test_webvtt_without_metadata_takes_its_id_from_the_file_name() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v staff>您好</v>\n"
    [item] = list(read_bytes("calls/trial-42.vtt", text.encode()))
    assert isinstance(item, Loaded)
    assert item.record.id == "trial-42" and item.record.direction is None


def test_webvtt_bad_timing_names_the_line() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v staff>您好</v>\n\n00:00:03 --> later\n<v customer>嗨</v>\n"
    [item] = list(read_bytes("bad.vtt", text.encode()))
    assert isinstance(item, Refusal) and item.line == 6
    assert "timing" in item.message


def test_webvtt_cue_without_voice_is_refused() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n您好\n"
    [item] = list(read_bytes("novoice.vtt", text.encode()))
    assert isinstance(item, Refusal) and item.line == 4
    assert "<v staff>" in item.message


def test_empty_input_is_refused_as_no_records() -> None:
    from callsop.record.reader import Refusal, read_bytes

    for data in (b"", b"\n  \n"):
        [item] = list(read_bytes("<stdin>", data))
        assert isinstance(item, Refusal)
        assert str(item) == "<stdin>: no records: the input is empty"


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_a_deeply_nested_record_is_refused_and_the_rest_read(write_file: WriteFile) -> None:
    deep = dumps(make_record(id="deep"))[:-1] + ', "extra": ' + _deep(10_000) + "}"
    lines = [dumps(make_record(id="a")), deep, dumps(make_record(id="b"))]
    items = _read(write_file("calls.jsonl", "\n".join(lines) + "\n"))
    assert [type(i).__name__ for i in items] == ["Loaded", "Refusal", "Loaded"]
    refusal = items[1]
    assert isinstance(refusal, Refusal) and refusal.line == 2
    assert "nested too deeply" in refusal.message


def test_a_deeply_nested_file_is_refused_whole_not_a_crash() -> None:
    for data in (_deep(100_000), '{"a":' * 100_000, "[" + _deep(50_000) + "]"):
        items = list(read_bytes("calls.json", data.encode()))
        assert len(items) == 1 and isinstance(items[0], Refusal), data[:20]
        assert "nested too deeply" in items[0].message


def test_a_record_past_the_size_limit_is_refused_by_its_line(write_file: WriteFile) -> None:
    from callsop.record.reader import MAX_RECORD_BYTES

    huge = make_record(id="huge", tags=["x" * MAX_RECORD_BYTES])
    lines = [dumps(make_record(id="a")), dumps(huge), dumps(make_record(id="b"))]
    items = _read(write_file("calls.jsonl", "\n".join(lines)))
    assert [type(i).__name__ for i in items] == ["Loaded", "Refusal", "Loaded"]
    assert isinstance(items[1], Refusal) and items[1].line == 2
    assert "too large" in items[1].message and "2,000,000" in items[1].message


def test_a_refusal_never_echoes_a_huge_value(write_file: WriteFile) -> None:
    bad = make_record(id="bad", direction="x" * 500_000)
    [item] = _read(write_file("call.json", dumps(bad)))
    assert isinstance(item, Refusal) and item.field == "direction"
    assert len(str(item)) < 1_000
    text = "WEBVTT\n\n00:00:01.000 --> " + "9" * 500_000 + "\n<v staff>嗨\n"
    [cue] = list(read_bytes("long.vtt", text.encode()))
    assert isinstance(cue, Refusal) and "timing" in cue.message and len(str(cue)) < 1_000


def test_webvtt_tags_are_stripped_and_a_run_of_brackets_kept_as_text() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v staff><i>您好</i> <<<< 1 < 2\n"
    [item] = list(read_bytes("tags.vtt", text.encode()))
    assert isinstance(item, Loaded)
    assert item.record.utterances[0].text == "您好 <<<< 1 < 2"


def test_webvtt_minutes_or_seconds_past_59_are_refused_by_their_line() -> None:
    for stamp in ("99:99:99.000", "00:60:00.000", "00:00:60.000", "61:00.000"):
        text = f"WEBVTT\n\n00:00:01.000 --> {stamp}\n<v staff>您好</v>\n"
        [item] = list(read_bytes("late.vtt", text.encode()))
        assert isinstance(item, Refusal) and item.line == 3, stamp
        assert "timing" in item.message and "59" in item.message
    text = "WEBVTT\n\n100:59:59.999 --> 101:00:00.000\n<v staff>您好</v>\n"
    [item] = list(read_bytes("long.vtt", text.encode()))
    assert isinstance(item, Loaded)
    assert item.record.utterances[0].start == 100 * 3600 + 59 * 60 + 59.999


def test_webvtt_entities_in_cue_text_are_decoded() -> None:
    text = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n"
        "<v staff>A&amp;B &lt;訂位&gt;&nbsp;好&lrm;的 &amp;lt;</v>\n"
    )
    [item] = list(read_bytes("ent.vtt", text.encode()))
    assert isinstance(item, Loaded)
    assert item.record.utterances[0].text == "A&B <訂位> 好的 &lt;"


def test_webvtt_control_characters_in_cue_text_are_refused_by_their_line() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v staff>您好\n請\x07稍等\n"
    [item] = list(read_bytes("bell.vtt", text.encode()))
    assert isinstance(item, Refusal) and item.line == 5
    assert "control character" in item.message and "U+0007" in item.message
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v staff>您&#12;好\n"
    [item] = list(read_bytes("ff.vtt", text.encode()))
    assert isinstance(item, Refusal) and item.line == 4
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v staff>您\t好\n"
    [item] = list(read_bytes("tab.vtt", text.encode()))
    assert isinstance(item, Loaded) and item.record.utterances[0].text == "您\t好"
