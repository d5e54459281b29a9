"""A worker that dies mid-job leaves no recording 聆聽中 for ever: its try is
given up once its heartbeat stands still, and the recording is queued again,
at most three tries in all."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from callsop.desk import worker
from callsop.desk.models import Recording
from callsop.desk.services import recording_lease as lease
from callsop.desk.services.recordings import speech_attach
from tests.desk.conftest import (
    SPEAKERS,
    CallWav,
    EndedCall,
    World,
    kept_files,
    queued_recording,
    speakers,
    wait_for,
    worker_process,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recordings_home")]


def _worker(recordings_home: Path) -> subprocess.Popen[str]:
    return worker_process(
        recordings_home,
        CALLSOP_RECORDING_STALL_S="3",
        CALLSOP_RECOGNISER="none",
        PYTHONFAULTHANDLER="1",
    )


def _reaches(recording: Recording, state: str, seconds: float) -> bool:
    """Whether the recording's row comes to `state` within `seconds`."""
    return wait_for(lambda: Recording.objects.get(pk=recording.pk).state == state, seconds)


def _stall(recording: Recording, *, attempts: int, seconds: float = 3600) -> None:
    """The row as a worker killed `seconds` ago, on its try `attempts`, leaves it."""
    long_ago = timezone.now() - timedelta(seconds=seconds)
    DBTaskResult.objects.filter(id=recording.task_id).update(status="RUNNING", started_at=long_ago)
    Recording.objects.filter(pk=recording.pk).update(
        state=Recording.State.HEARING, attempts=attempts, started_at=long_ago, heartbeat_at=long_ago
    )


def test_a_stalled_hearing_is_queued_again_and_then_heard(
    world: World, ended_call: EndedCall, call_wav: CallWav
) -> None:
    call = ended_call()
    recording = queued_recording(world, call, call_wav())
    lost_job = recording.task_id
    _stall(recording, attempts=1)

    assert lease.recordings_recover() == 1
    assert lease.recordings_recover() == 0  # once only, however many sweeps

    recording.refresh_from_db()
    assert recording.state == Recording.State.QUEUED and recording.task_id != lost_job
    status = world.client(world.alice).get(f"/recordings/{recording.pk}/status/?polling=1")
    assert "排隊中（上次處理中斷，重新排隊）" in status.content.decode()
    lost = DBTaskResult.objects.get(id=lost_job)
    assert lost.status == "FAILED" and lost.exception_class_path.endswith("WorkerLost")
    worker.drain()
    recording.refresh_from_db()
    assert recording.state == Recording.State.HEARD and recording.attempts == 2
    assert DBTaskResult.objects.get(id=recording.task_id).status == "SUCCESSFUL"
    assert speakers(call) == SPEAKERS


def test_after_three_tries_it_is_refused_with_a_reason_and_its_files_removed(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call()
    recording = queued_recording(world, call, call_wav())
    _stall(recording, attempts=lease.MAX_TRIES)

    assert lease.recordings_recover() == 1

    recording.refresh_from_db()
    assert recording.state == Recording.State.REFUSED
    assert recording.error == (
        "call.wav：處理錄音的程式中斷了 3 次，未能聽完，請通知系統管理員（可再上傳一次）。"
    )
    assert DBTaskResult.objects.get(id=recording.task_id).status == "FAILED"
    assert kept_files(recordings_home) == []
    call.refresh_from_db()
    assert call.utterances == [] and call.speech is None
    page = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    assert "無法讀取：call.wav：處理錄音的程式中斷了 3 次" in page


def test_a_hearing_whose_heartbeat_goes_on_is_left_alone(
    world: World, ended_call: EndedCall, call_wav: CallWav, settings: Any
) -> None:
    settings.CALLSOP_RECORDING_STALL_S = 1
    recording = queued_recording(world, ended_call(), call_wav())
    attempt = lease.recording_claim(recording_id=recording.pk)
    assert attempt == 1
    assert lease.recording_claim(recording_id=recording.pk) is None  # one worker at a time
    with lease.Heartbeat(recording.pk, attempt) as beat:
        beat(0.5)
        time.sleep(1.6)
        assert lease.recordings_recover() == 0
        recording.refresh_from_db()
        assert recording.state == Recording.State.HEARING and recording.progress == 45
    time.sleep(1.2)
    assert lease.recordings_recover() == 1
    assert Recording.objects.get(pk=recording.pk).state == Recording.State.QUEUED


def test_a_try_given_up_for_lost_can_no_longer_change_the_recording(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call()
    recording = queued_recording(world, call, call_wav())
    attempt = lease.recording_claim(recording_id=recording.pk)
    assert attempt == 1
    _stall(recording, attempts=1)
    assert lease.recordings_recover() == 1

    # The old try comes back to life: its heartbeat sees the loss, and what it
    # heard is not attached.
    beat = lease.Heartbeat(recording.pk, attempt)
    beat.beat()
    with pytest.raises(lease.Superseded):
        beat(0.9)
    from callsop.audio import hear

    heard = hear([str(recordings_home / recording.files[0]["path"])], name="call.wav")
    assert speech_attach(recording=recording, heard=heard, playable_path="", attempt=1) is None
    call.refresh_from_db()
    assert call.speech is None
    recording.refresh_from_db()
    assert recording.state == Recording.State.QUEUED and recording.progress == 0


def test_a_queued_recording_whose_job_was_lost_gets_a_new_one(
    world: World, ended_call: EndedCall, call_wav: CallWav
) -> None:
    call = ended_call()
    recording = queued_recording(world, call, call_wav())
    DBTaskResult.objects.all().delete()
    assert lease.recordings_recover() == 0  # too fresh to call lost
    Recording.objects.filter(pk=recording.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert lease.recordings_recover() == 1
    worker.drain()
    assert Recording.objects.get(pk=recording.pk).state == Recording.State.HEARD


def test_a_running_worker_s_sweep_queues_it_again_by_itself(
    world: World, ended_call: EndedCall, call_wav: CallWav, settings: Any
) -> None:
    settings.CALLSOP_RECORDING_STALL_S = 1
    recording = queued_recording(world, ended_call(), call_wav())
    # Its worker dies this moment: fresh when the background worker starts,
    # stalled a second later, when only the periodic sweep can see it.
    _stall(recording, attempts=1, seconds=0)
    background = worker.Background(interval=0.2).start()
    try:
        heard = _reaches(recording, Recording.State.HEARD, 60)
    finally:
        background.stop()
    assert heard and Recording.objects.get(pk=recording.pk).attempts == 2
    assert not background.thread.is_alive()


def test_a_worker_killed_mid_job_is_taken_over_by_the_next(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call(ago_s=900, length_s=370)
    # Six minutes of call: seconds of work, long enough to die in the middle.
    recording = queued_recording(world, call, call_wav("long.wav", seconds=360))
    first_job = recording.task_id
    first = _worker(recordings_home)
    try:
        hearing = _reaches(recording, Recording.State.HEARING, 60)
        time.sleep(1.0)  # a heartbeat or so into the work
    finally:
        first.send_signal(signal.SIGKILL)
        first_output, _ = first.communicate(timeout=30)
    recording.refresh_from_db()
    assert hearing and recording.state == Recording.State.HEARING, first_output
    assert DBTaskResult.objects.get(id=first_job).status == "RUNNING"

    second = _worker(recordings_home)
    try:
        heard = _reaches(recording, Recording.State.HEARD, 120)
    finally:
        second.send_signal(signal.SIGTERM)
        second_output, _ = second.communicate(timeout=60)
    recording.refresh_from_db()
    assert heard, second_output
    assert recording.attempts == 2 and recording.progress == 100
    assert DBTaskResult.objects.get(id=first_job).status == "FAILED"
    assert DBTaskResult.objects.get(id=recording.task_id).status == "SUCCESSFUL"
    call.refresh_from_db()
    assert call.speech is not None and call.speech["source"] == "voice-only"
    assert [u["speaker"] for u in call.utterances] == SPEAKERS
    # The copy the page plays holds the whole six minutes (written in blocks).
    played = sf.info(str(recordings_home / recording.playable))
    assert played.format == "OGG" and played.duration == pytest.approx(360, abs=0.1)
