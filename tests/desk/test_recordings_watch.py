"""The PBX's recording folder: each finished file matched to its call, by the
PBX's id in its name or else by the caller's number and the time, taken once."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from callsop.desk import recordings_watch, worker
from callsop.desk.models import ClubLine, Recording, RecordingFile
from callsop.desk.services import calls as svc
from callsop.desk.services.recording_match import read_name
from tests.desk.conftest import (
    SPEAKERS,
    CallWav,
    EndedCall,
    Log,
    PbxCall,
    World,
    kept_files,
    speakers,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recordings_home")]


def _drop(wav: Path, folder: Path, name: str) -> Path:
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(wav, target)
    return target


def _settled(watcher: recordings_watch.Watcher, at: float = 0.0) -> int:
    """Two looks at the folder, far enough apart for a file to count as finished."""
    watcher.scan(now=at)
    return watcher.scan(now=at + recordings_watch.SETTLE_S + 0.1)


def test_file_names_of_asterisk_freepbx_and_freeswitch() -> None:
    assert read_name(Path("1732672804.17.wav")).pbx_id == "1732672804.17"
    uuid = "0d7e6c6a-1b6c-4a5e-9a51-1f0b8c1c2d3e"
    assert read_name(Path(f"{uuid}.wav")).pbx_id == uuid
    named = read_name(Path("in-0227001234-0912345678-20261127-100004-1732672804.17.wav"))
    assert (named.pbx_id, named.number, named.other) == (
        "1732672804.17",
        "0912345678",
        "0227001234",
    )
    assert named.began is not None
    assert named.began.astimezone(ZoneInfo("Asia/Taipei")).strftime("%H:%M:%S") == "10:00:04"
    out = read_name(Path("out-0912345678-101-20261127-100004-1732672804.18.wav"))
    assert (out.number, out.other) == ("0912345678", "101")


def test_a_file_named_by_the_pbx_id_is_queued_for_its_call_and_heard(
    pbx_call: PbxCall, ended_call: EndedCall, call_wav: CallWav, folder: Path
) -> None:
    call = pbx_call("1732672804.17")
    ended_call("0911-111-111")  # another call, which the file must not go to
    _drop(call_wav(), folder, "2026/11/27/1732672804.17.wav")
    log = Log()
    watcher = recordings_watch.Watcher(folder, log)
    assert watcher.scan(now=0.0) == 0  # just seen: it may still be being written
    assert watcher.scan(now=1.0) == 0
    assert watcher.scan(now=2.5) == 1
    recording = Recording.objects.get()
    assert recording.call == call and recording.origin == "folder"
    assert recording.uploaded_by is None
    assert any("1732672804.17.wav: queued for call" in line and "by id" in line for line in log)
    worker.drain()
    assert speakers(call) == SPEAKERS


def test_a_file_still_being_written_waits_until_it_stands_still(
    pbx_call: PbxCall, call_wav: CallWav, folder: Path
) -> None:
    pbx_call("1732672804.17")
    data = call_wav().read_bytes()
    growing = folder / "1732672804.17.wav"
    watcher = recordings_watch.Watcher(folder, Log())
    for step in range(4):
        with growing.open("ab") as f:
            f.write(data[step * len(data) // 4 : (step + 1) * len(data) // 4])
        assert watcher.scan(now=step * 1.5) == 0
    assert watcher.scan(now=4 * 1.5 + 2.1) == 1
    assert Recording.objects.get().size == len(data)


def test_by_number_and_time_at_the_club_of_the_line(
    world: World, call_wav: CallWav, folder: Path
) -> None:
    ClubLine.objects.create(club=world.xinyi, number="227001234", kind="main")
    answered = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    calls = {}
    for club, clerk, label in (
        (world.banqiao, world.charlie, "banqiao"),  # same number, same minute, other club
        (world.xinyi, world.alice, "xinyi"),
        (world.xinyi, world.alice, "xinyi-earlier"),  # same club, an hour before
    ):
        shift = timedelta(hours=1) if label == "xinyi-earlier" else timedelta(0)
        call = svc.call_ring(
            club=club, phone="0912-345-678", now=answered - shift - timedelta(seconds=5)
        )
        svc.call_answer(call=call, clerk=clerk, now=answered - shift)
        calls[label] = svc.call_end(
            by="customer", call=call, now=answered - shift + timedelta(seconds=40)
        )
    local = (answered + timedelta(seconds=1)).astimezone(ZoneInfo("Asia/Taipei"))
    name = f"in-0227001234-0912345678-{local:%Y%m%d-%H%M%S}-1700000000.99.wav"
    _drop(call_wav(), folder, name)
    log = Log()
    assert _settled(recordings_watch.Watcher(folder, log)) == 1
    assert Recording.objects.get().call == calls["xinyi"]
    assert any("by number and time" in line for line in log)


def test_each_file_is_taken_once_even_after_a_restart(
    pbx_call: PbxCall, call_wav: CallWav, folder: Path
) -> None:
    pbx_call("1732672804.17")
    _drop(call_wav(), folder, "1732672804.17.wav")
    first = recordings_watch.Watcher(folder, Log())
    assert _settled(first) == 1
    assert first.scan(now=10.0) == 0 and first.scan(now=20.0) == 0
    restarted = recordings_watch.Watcher(folder, Log())
    assert _settled(restarted, at=100.0) == 0
    assert Recording.objects.count() == 1
    taken = RecordingFile.objects.get()
    assert taken.outcome == "queued" and taken.recording == Recording.objects.get()


def test_a_file_of_no_call_is_reported_once_and_left_alone(
    world: World, call_wav: CallWav, folder: Path
) -> None:
    stray = _drop(call_wav(), folder, "1799999999.5.wav")
    log = Log()
    watcher = recordings_watch.Watcher(folder, log)
    for at in (0.0, 2.5, 40.0, 200.0, 5000.0):
        assert watcher.scan(now=at) == 0
    assert [line for line in log if "1799999999.5.wav" in line] == [
        "recording 1799999999.5.wav: matches no call on the desk; left alone"
    ]
    assert stray.exists() and not Recording.objects.exists()
    assert not RecordingFile.objects.exists()


def test_a_file_for_a_call_still_in_progress_waits_for_its_end(
    world: World, call_wav: CallWav, folder: Path
) -> None:
    call = svc.call_ring(club=world.xinyi, phone="0912", source="pbx", external_id="1732.5")
    svc.call_answer(call=call, clerk=world.alice)
    _drop(call_wav(), folder, "1732.5.wav")
    log = Log()
    watcher = recordings_watch.Watcher(folder, log)
    assert _settled(watcher) == 0 and not log
    svc.call_end(by="customer", call=call)
    assert watcher.scan(now=2.2 + recordings_watch.RETRY_S) == 1
    assert Recording.objects.get().call_id == call.pk


def test_what_is_no_audio_is_refused_once(
    pbx_call: PbxCall, folder: Path, recordings_home: Path
) -> None:
    pbx_call("1732672804.17")
    (folder / "1732672804.17.wav").write_bytes(b"RIFF not really a wave file" * 50)
    log = Log()
    watcher = recordings_watch.Watcher(folder, log)
    assert _settled(watcher) == 0
    assert RecordingFile.objects.get().outcome.startswith("refused: 1732672804.17.wav：")
    assert not Recording.objects.exists()
    assert kept_files(recordings_home) == []
    assert _settled(recordings_watch.Watcher(folder, Log()), at=50.0) == 0


def test_the_watcher_runs_on_its_own_thread_until_stopped(
    pbx_call: PbxCall, call_wav: CallWav, folder: Path
) -> None:
    pbx_call("1732672804.17")
    log = Log()
    watcher = recordings_watch.start(folder, log=log)
    try:
        _drop(call_wav(), folder, "1732672804.17.wav")
        wait_for(Recording.objects.exists, 15)
    finally:
        watcher.stop()
    assert Recording.objects.count() == 1
    assert log[0].startswith("watching ") and not watcher._thread.is_alive()
