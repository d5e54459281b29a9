"""`callsop transcribe`, alone and piped into `callsop score -`."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from callsop.cli import main
from tests.audio.aishell_calls import CLIPS, Call, polite_call, pushy_call
from tests.audio.scripted import build, enquiry_with_hold, rule_breaker
from tests.audio.test_transcribe import cer

VOICE_RULES = ("talk.no-talk-over", "talk.listen-share", "talk.no-dead-air", "hold.max-duration")


def short_call(folder: Path, name: str = "call.wav") -> Path:
    call = Call(9.0)
    call.say("staff", 0.8)
    call.say("customer", 5.0, "BAC009S0764W0122")
    return call.write(folder / name)


def transcribe(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[Any], str]:
    status = main(["transcribe", *args])
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


def verdicts(cards: str) -> dict[str, dict[str, str]]:
    by_call = {}
    for line in cards.splitlines():
        card = json.loads(line)
        by_call[card["call"]] = {f["rule"]: f["verdict"] for f in card["findings"]}
    return by_call


def score(text: str) -> dict[str, dict[str, str]]:
    done = subprocess.run(
        [sys.executable, "-m", "callsop", "score", "-", "--format", "json"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return verdicts(done.stdout)


def test_transcribe_piped_into_score_decides_the_voice_rules(tmp_path: Path) -> None:
    polite = polite_call().write(tmp_path / "polite.wav")
    pushy = pushy_call().write(tmp_path / "pushy.wav")
    breaker = build(rule_breaker(), tmp_path, name="breaker")
    enquiry = build(enquiry_with_hold(), tmp_path, name="enquiry")
    files = [str(p) for p in (polite, pushy, breaker.paths[0], enquiry.paths[0])]

    pipeline = f"{sys.executable} -m callsop transcribe {' '.join(files)} | {sys.executable} -m callsop score - --format json"
    done = subprocess.run(pipeline, shell=True, capture_output=True, text=True, check=True)
    heard = verdicts(done.stdout)

    assert list(heard) == ["polite", "pushy", "breaker", "enquiry"]
    assert heard["polite"]["talk.no-talk-over"] == "pass"
    assert heard["polite"]["talk.listen-share"] == "pass"
    assert heard["pushy"]["talk.no-talk-over"] == "fail"
    assert heard["pushy"]["talk.listen-share"] == "fail"
    assert heard["breaker"]["talk.no-talk-over"] == "fail"
    assert heard["breaker"]["hold.max-duration"] == "fail"
    assert heard["breaker"]["talk.no-dead-air"] == "fail"
    # The same calls as a person transcribed them, with the PBX's events.
    human = score("\n".join(json.dumps(b.record) for b in (breaker, enquiry)))
    for ours, theirs in (("breaker", breaker.record["id"]), ("enquiry", enquiry.record["id"])):
        for rule in ("talk.no-talk-over", "hold.max-duration"):
            assert heard[ours][rule] == human[theirs][rule], (ours, rule)


def test_records_follow_the_input_and_a_bad_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = short_call(tmp_path)
    bad = tmp_path / "bad.wav"
    bad.write_text("not a recording", encoding="utf-8")
    second = short_call(tmp_path, "second.wav")

    status, records, err = transcribe(capsys, str(good), str(bad), str(second))

    assert status == 1
    assert [r["id"] for r in records] == ["call", "second"]
    assert f"callsop: refused {bad}: not audio" in err
    record = records[0]
    assert record["schema"] == "callsop.call/1"
    assert record["speech"] == {"source": "voice-only", "recording": "call.wav"}
    assert [u["speaker"] for u in record["utterances"]] == ["staff", "customer"]


def test_a_mixmonitor_name_gives_time_direction_and_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    call = short_call(tmp_path)
    inbound = tmp_path / "in-2001-0912345678-20261127-100211-1764208931.42.wav"
    outbound = tmp_path / "out-0922876543-101-20261127-093000-1764207000.7.wav"
    shutil.copy(call, inbound)
    shutil.copy(call, outbound)

    status, records, _ = transcribe(capsys, str(inbound), str(outbound))

    assert status == 0
    first, second = records
    assert first["id"] == "in-2001-0912345678-20261127-100211-1764208931.42"
    assert first["started_at"] == "2026-11-27T10:02:11+08:00"
    assert (first["direction"], first["customer"]) == ("inbound", {"phone": "0912345678"})
    assert second["started_at"] == "2026-11-27T09:30:00+08:00"
    assert (second["direction"], second["customer"]) == ("outbound", {"phone": "0922876543"})

    monkeypatch.setenv("CALLSOP_TIME_ZONE", "Asia/Tokyo")
    _, records, _ = transcribe(capsys, str(inbound))
    assert records[0]["started_at"] == "2026-11-27T10:02:11+09:00"


def test_a_name_without_a_direction_or_caller_id_takes_the_given_direction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call = short_call(tmp_path)
    undirected = tmp_path / "exten-101-0922876543-20261127-031005-1795749005.3.wav"
    withheld = tmp_path / "in-0227001234--20261127-111005-1795749005.7.wav"
    shutil.copy(call, undirected)
    shutil.copy(call, withheld)

    status, records, _ = transcribe(
        capsys, str(undirected), str(withheld), "--direction", "outbound"
    )

    assert status == 0
    first, second = records
    assert (first["direction"], first["started_at"]) == ("outbound", "2026-11-27T11:10:05+08:00")
    assert (second["direction"], second["started_at"]) == ("inbound", "2026-11-27T11:10:05+08:00")
    assert "customer" not in second


def test_another_name_takes_the_file_time_less_its_length(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = short_call(tmp_path)
    ended = 1_795_000_000  # 2026-11-18T19:06:40+08:00
    os.utime(path, (ended, ended))

    _, records, _ = transcribe(capsys, str(path), "--direction", "outbound")

    assert records[0]["started_at"] == "2026-11-18T19:06:31+08:00"  # 9 s earlier
    assert records[0]["direction"] == "outbound"
    assert "customer" not in records[0]


def test_legs_go_in_pairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    built = build(enquiry_with_hold(), tmp_path, layout="legs")
    staff, customer = (str(p) for p in built.paths)

    status, records, _ = transcribe(capsys, "--legs", staff, customer)
    assert status == 0 and len(records) == 1
    assert records[0]["id"] == "xinyi-20261201-0101-staff"
    assert {u["speaker"] for u in records[0]["utterances"]} == {"staff", "customer"}

    status, records, err = transcribe(capsys, "--legs", staff)
    assert (status, records) == (2, [])
    assert "--legs: the files go in pairs" in err


def test_the_staff_channel_can_be_the_right_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = build(rule_breaker(), tmp_path, staff_channel="right")
    _, wrong, _ = transcribe(capsys, str(built.paths[0]))
    _, right, _ = transcribe(capsys, "--staff-channel", "right", str(built.paths[0]))
    assert score(json.dumps(right[0]))["xinyi-20261201-0104"]["talk.no-talk-over"] == "fail"
    speakers = [u["speaker"] for u in right[0]["utterances"]]
    assert [u["speaker"] for u in wrong[0]["utterances"]] == [
        "customer" if s == "staff" else "staff" for s in speakers
    ]


def test_parallel_jobs_print_the_same_records_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(short_call(tmp_path, f"call-{i}.wav")) for i in range(3)]
    _, one, _ = transcribe(capsys, "--jobs", "1", *files)
    _, two, _ = transcribe(capsys, "--jobs", "2", *files)
    assert [r["id"] for r in two] == ["call-0", "call-1", "call-2"]
    assert two == one


def test_bad_command_lines_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(short_call(tmp_path))
    assert transcribe(capsys, "--jobs", "0", path)[0] == 2
    with pytest.raises(SystemExit) as caught:
        main(["transcribe", "--staff-channel", "middle", path])
    assert caught.value.code == 2


def test_the_recogniser_writes_the_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, records, _ = transcribe(
        capsys, "--recogniser", "whisper-base", str(short_call(tmp_path))
    )

    assert status == 0
    record = records[0]
    assert record["speech"] == {
        "source": "machine",
        "engine": "whisper-base",
        "recording": "call.wav",
    }
    # The words heard, as AUDIO.md scores them: a character error rate
    # against the clips' published transcripts, not one recogniser's exact words.
    references = [CLIPS["BAC009S0764W0121"], CLIPS["BAC009S0764W0122"]]
    pairs = [(ref, u["text"]) for ref, u in zip(references, record["utterances"], strict=True)]
    assert cer(pairs) <= 0.35, pairs


def test_at_a_terminal_a_progress_bar_shows_and_the_records_still_go_to_stdout(
    tmp_path: Path,
) -> None:
    files = [str(short_call(tmp_path, f"call-{i}.wav")) for i in range(2)]
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "callsop", "transcribe", "--jobs", "1", *files],
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
            check=True,
        )
        os.close(follower)
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other side is closed: all read
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(leader)
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["call-0", "call-1"]
    assert "聆聽錄音" in terminal.decode("utf-8", "replace")
