"""The demo's recorded call comes from examples/recordings, not from the
tests, and the demo goes on without it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from django.utils import timezone

from callsop.desk import worker
from callsop.desk.demo_recording import EXAMPLES, demo_file, demo_recording
from callsop.desk.models import Call, CallEvent, Recording
from tests.desk.conftest import World

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_example_recording_is_as_mixmonitor_writes_it() -> None:
    path = demo_file()
    assert path is not None and path.parent == EXAMPLES
    assert path.name.startswith("in-101-0933222111-")
    info = sf.info(str(path))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "ULAW", 8000, 2)
    assert 50 < info.duration < 80 and path.stat().st_size < 1.2 * 1024 * 1024


def test_the_demo_call_is_heard_from_the_example_recording(
    world: World, recordings_home: Path
) -> None:
    recording = demo_recording(club=world.xinyi, clerk=world.alice, now=timezone.now())
    assert recording is not None and recording.state == Recording.State.QUEUED
    assert recording.names.startswith("in-101-0933222111-")
    worker.drain()
    recording.refresh_from_db()
    assert recording.state == Recording.State.HEARD and recording.speech_used
    call = Call.objects.get(pk=recording.call_id)
    assert call.phone_key.endswith("933222111")
    speakers = [u["speaker"] for u in call.utterances]
    assert speakers[0] == "staff" and speakers.count("customer") >= 5
    # The call's hold (after 請稍候) is heard in the audio: the desk saw none.
    holds = CallEvent.objects.filter(call=call, source="audio", type="hold")
    assert holds.count() == 1 and call.hold_total_s == pytest.approx(8.0, abs=1.5)


def test_without_the_example_the_demo_has_no_recorded_call_and_says_so(
    world: World, recordings_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-examples"
    made = demo_recording(club=world.xinyi, clerk=world.alice, now=timezone.now(), folder=missing)
    assert made is None
    assert not Call.objects.exists() and not Recording.objects.exists()
    assert f"no example recording in {missing}" in capsys.readouterr().err


def test_callsop_demo_on_an_empty_data_folder_queues_the_recorded_call(tmp_path: Path) -> None:
    env = {**os.environ, "CALLSOP_DATA_DIR": str(tmp_path)}
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CALLSOP_SECRET_KEY"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "callsop", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "yijun" in done.stdout
    with sqlite3.connect(tmp_path / "callsop.sqlite3") as db:
        rows = db.execute("SELECT state, files, task_id FROM desk_recording").fetchall()
    assert len(rows) == 1 and rows[0][0] == "queued" and rows[0][2]
    assert "in-101-0933222111-" in rows[0][1]
    assert len(list((tmp_path / "recordings").rglob("*.wav"))) == 1
