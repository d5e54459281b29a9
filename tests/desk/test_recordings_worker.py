"""The worker hears a queued recording and the call is scored again on it.

These run the real django-tasks database worker (`callsop.desk.worker.drain`,
its loop in batch mode) on real audio: AISHELL-1 speech placed on two
channels, with a talk-over."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tasks_db.models import DBTaskResult

from callsop.desk import worker
from callsop.desk.models import CallEvent, Recording, Scorecard, ScorecardOriginal
from tests.desk.conftest import (
    SPEAKERS,
    TALK_OVER,
    CallWav,
    EndedCall,
    World,
    finding,
    kept_files,
    post_recording,
    speakers,
    wait_for,
    worker_process,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recordings_home")]

VTT = """WEBVTT

00:00:05.000 --> 00:00:08.000
<v staff>您好，信義會館，我是怡君。

00:00:08.500 --> 00:00:11.000
<v customer>你好，我想問一下瑜伽課的時間。
"""


def test_the_worker_hears_it_and_the_call_is_rescored_on_the_voice(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call()
    before = Scorecard.objects.get(call=call)
    talk_over = finding(call, "talk.no-talk-over")
    assert talk_over["verdict"] == "na" and "transcript" in talk_over["message"]
    assert post_recording(world, call, call_wav()).status_code == 303
    assert Recording.objects.get().state == Recording.State.QUEUED

    worker.drain()

    recording = Recording.objects.get()
    assert recording.state == Recording.State.HEARD and recording.progress == 100
    assert recording.speech_source == "voice-only" and recording.speech_used
    assert recording.duration_s == pytest.approx(22.0)
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    call.refresh_from_db()
    assert call.speech == {"source": "voice-only", "recording": "call.wav"}
    assert [u["speaker"] for u in call.utterances] == SPEAKERS
    # Moved into the call's time: the recording began at the answer, 4 s in.
    assert call.utterances[0]["start"] == pytest.approx(5.0, abs=0.4)
    assert all(u["text"] == "" and u["syllables"] > 5 for u in call.utterances)
    # Voice verdicts now, where there was "no transcript".
    share = finding(call, "talk.listen-share")
    assert "transcript" not in share["message"] and "of talk" in share["message"]
    over = finding(call, "talk.no-talk-over")
    assert over["verdict"] == "fail"
    # The staff's turn that cut in, at its moment in the call.
    assert over["evidence"][-1]["t"] == pytest.approx(TALK_OVER[0] + 4.0, abs=0.5)
    # The card from before is kept as the original, beside the new one.
    original = ScorecardOriginal.objects.get(call=call)
    assert original.score == before.score and original.findings == before.findings
    assert original.recording == recording
    page = world.client(world.bob).get(f"/calls/{call.pk}/").content.decode()
    assert "依錄音重新評分" in page and "原始評分" in page
    assert f"/recordings/{recording.pk}/audio.ogg" in page and "<audio" in page
    assert "僅聲音判斷" in page and "data-play=" in page
    assert "已完成，重新評分" in page
    playable = recordings_home / recording.playable
    info = sf.info(str(playable))
    assert info.format == "OGG" and info.channels == 2


def test_progress_and_state_are_shown_while_it_waits(
    world: World, ended_call: EndedCall, call_wav: CallWav
) -> None:
    call = ended_call()
    post_recording(world, call, call_wav())
    recording = Recording.objects.get()
    client = world.client(world.alice)
    status = client.get(f"/recordings/{recording.pk}/status/?polling=1")
    assert "排隊中" in status.content.decode() and "HX-Refresh" not in status
    Recording.objects.filter(pk=recording.pk).update(state="hearing", progress=42)
    status = client.get(f"/recordings/{recording.pk}/status/?polling=1")
    assert "聆聽中 42%" in status.content.decode() and "every 1s" in status.content.decode()
    Recording.objects.filter(pk=recording.pk).update(state="queued", progress=0)
    worker.drain()
    status = client.get(f"/recordings/{recording.pk}/status/?polling=1")
    assert status["HX-Refresh"] == "true" and "已完成，重新評分" in status.content.decode()
    other = world.client(world.charlie).get(f"/recordings/{recording.pk}/status/")
    assert other.status_code == 404


def test_a_person_s_transcript_outranks_the_recording(
    world: World, ended_call: EndedCall, call_wav: CallWav
) -> None:
    call = ended_call()
    client = world.client(world.alice)
    transcript = SimpleUploadedFile("call.vtt", VTT.encode(), content_type="text/vtt")
    assert (
        client.post(f"/calls/{call.pk}/transcript/", {"transcript": transcript}).status_code == 303
    )
    call.refresh_from_db()
    human = list(call.utterances)
    card = Scorecard.objects.get(call=call)
    post_recording(world, call, call_wav())
    worker.drain()
    recording = Recording.objects.get()
    call.refresh_from_db()
    assert recording.state == Recording.State.HEARD and not recording.speech_used
    assert call.utterances == human and call.speech is None
    assert Scorecard.objects.get(call=call).findings == card.findings
    assert not ScorecardOriginal.objects.exists()
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert "已有人工逐字稿，錄音僅供聆聽" in page and "<audio" in page
    assert "瑜伽課" in page


def test_a_recording_that_cannot_be_read_is_refused_and_nothing_changes(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call()
    card = Scorecard.objects.get(call=call)
    wav = call_wav("cut.wav")
    # Cut off mid-way: the header promises more audio than the file holds.
    data = wav.read_bytes()
    wav.write_bytes(data[: len(data) // 3])
    assert post_recording(world, call, wav).status_code == 303
    worker.drain()
    recording = Recording.objects.get()
    assert recording.state == Recording.State.REFUSED
    assert recording.error.startswith("cut.wav：") and "不完整" in recording.error
    call.refresh_from_db()
    assert call.utterances == [] and call.speech is None
    assert Scorecard.objects.get(call=call).findings == card.findings
    assert not ScorecardOriginal.objects.exists()
    assert kept_files(recordings_home) == []
    page = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    assert "無法讀取：cut.wav：" in page and "<audio" not in page


def test_two_legs_and_the_staff_on_the_right_are_heard_the_same(
    world: World, ended_call: EndedCall, call_wav: CallWav
) -> None:
    legs = ended_call("0912-000-001")
    staff = call_wav("leg.wav", legs=True)
    upload = SimpleUploadedFile(
        "leg-customer.wav", staff.with_name("leg-customer.wav").read_bytes()
    )
    assert post_recording(world, legs, staff, customer_leg=upload).status_code == 303
    right = ended_call("0912-000-002")
    swapped = call_wav("r.wav", swap=True)
    assert post_recording(world, right, swapped, staff_channel="right").status_code == 303
    worker.drain()
    for call in (legs, right):
        assert speakers(call) == SPEAKERS


def test_holds_heard_in_the_audio_are_added_only_when_the_call_has_none(
    world: World, ended_call: EndedCall, call_wav: CallWav
) -> None:
    call = ended_call()
    post_recording(world, call, call_wav())
    worker.drain()
    # The scripted call has no hold; the desk's own events are all there is.
    assert not CallEvent.objects.filter(call=call, source="audio").exists()
    assert CallEvent.objects.filter(call=call).exists()


def _heard() -> bool:
    return Recording.objects.get().state == Recording.State.HEARD


def test_callsop_worker_takes_the_job_in_its_own_process_and_stops_on_sigterm(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call()
    post_recording(world, call, call_wav())
    process = worker_process(recordings_home)
    try:
        wait_for(lambda: process.poll() is not None or _heard(), 60)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert Recording.objects.get().state == Recording.State.HEARD, output
    assert process.returncode == 0, output
    assert "taking the desk's jobs" in output
    call.refresh_from_db()
    assert call.speech is not None and call.speech["source"] == "voice-only"


def test_with_the_recogniser_the_words_come_in_and_say_they_are_machine_heard(
    world: World, ended_call: EndedCall, call_wav: CallWav, settings: Any
) -> None:
    settings.CALLSOP_RECOGNISER = "whisper-base"
    call = ended_call()
    post_recording(world, call, call_wav())
    worker.drain()
    recording = Recording.objects.get()
    assert recording.state == Recording.State.HEARD and recording.speech_source == "machine"
    call.refresh_from_db()
    assert call.speech == {"source": "machine", "engine": "whisper-base", "recording": "call.wav"}
    assert [u["speaker"] for u in call.utterances] == SPEAKERS
    words = "".join(u["text"] for u in call.utterances)
    # AISHELL-1's 甚至出现交易… and …处于调整中, written in Traditional script.
    assert "出現交易" in words and "處於調整" in words
    page = world.client(world.bob).get(f"/calls/{call.pk}/").content.decode()
    assert "逐字稿由錄音機器轉寫" in page and "機器轉寫" in page


def test_a_recording_far_longer_than_the_call_is_refused_as_another_call_s(
    world: World, ended_call: EndedCall, call_wav: CallWav
) -> None:
    call = ended_call(length_s=4 + 3)  # answered 4 s in, ended 3 s after
    card = Scorecard.objects.get(call=call)
    assert post_recording(world, call, call_wav("other.wav")).status_code == 303
    worker.drain()
    recording = Recording.objects.get()
    assert recording.state == Recording.State.REFUSED
    assert "應該不是這通電話的錄音" in recording.error, recording.error
    call.refresh_from_db()
    assert call.utterances == [] and not CallEvent.objects.filter(source="audio").exists()
    assert Scorecard.objects.get(call=call).findings == card.findings


def test_what_the_file_holds_after_the_hang_up_is_left_out(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call(length_s=4 + 12)  # answered 4 s in, ended 12 s after
    assert post_recording(world, call, call_wav("tail.wav")).status_code == 303
    worker.drain()
    assert Recording.objects.get().state == Recording.State.HEARD
    call.refresh_from_db()
    heard = sf.info(str(next(recordings_home.rglob("*.wav")))).duration
    assert heard > 16  # the file runs past the hang-up...
    assert call.utterances and all(u["start"] < 16 for u in call.utterances)  # ...the call does not


def test_a_mixmonitor_raw_file_is_heard_as_two_channels(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    import numpy as np

    call = ended_call()
    audio, rate = sf.read(str(call_wav("call.wav")), dtype="int16", always_2d=True)
    assert rate == 8000 and audio.shape[1] == 2
    raw = recordings_home.parent / "1764208931.42.raw"  # MixMonitor's D option: 8 kHz, 16 bit
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_bytes(np.ascontiguousarray(audio).astype("<i2").tobytes())
    assert post_recording(world, call, raw).status_code == 303
    worker.drain()
    assert Recording.objects.get().state == Recording.State.HEARD
    call.refresh_from_db()
    assert {u["speaker"] for u in call.utterances} == {"staff", "customer"}
    assert finding(call, "talk.no-talk-over")["verdict"] == "fail"
