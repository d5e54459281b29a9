"""A recording uploaded on a finished call's page: refused whole, or kept and queued."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tasks_db.models import DBTaskResult

from callsop.desk.models import Recording
from callsop.desk.services import calls as svc
from tests.desk.conftest import CallWav, EndedCall, World, audio_upload, kept_files, post_recording

pytestmark = pytest.mark.usefixtures("recordings_home")


def test_an_upload_is_kept_and_queued_and_the_request_returns_at_once(
    world: World,
    ended_call: EndedCall,
    call_wav: CallWav,
    recordings_home: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    call = ended_call()
    wav = call_wav("1732672804.17.wav")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_recording(world, call, wav)
    assert response.status_code == 303 and response["Location"] == f"/calls/{call.pk}/"
    recording = Recording.objects.get()
    assert recording.state == Recording.State.QUEUED and recording.progress == 0
    assert recording.call == call and recording.club == world.xinyi
    assert recording.uploaded_by == world.alice and recording.origin == "upload"
    assert recording.files[0]["name"] == "1732672804.17.wav"
    assert recording.size == wav.stat().st_size
    assert recording.sha256 == hashlib.sha256(wav.read_bytes()).hexdigest()
    assert recording.offset_s == pytest.approx(4.0)  # MixMonitor starts at the answer
    stored = recordings_home / recording.files[0]["path"]
    assert stored.read_bytes() == wav.read_bytes()
    assert kept_files(recordings_home) == [stored]
    # Queued in the database for a worker; nothing heard in the request.
    job = DBTaskResult.objects.get()
    assert job.status == "READY" and job.queue_name == "recordings"
    assert job.args_kwargs == {"args": [recording.pk], "kwargs": {}}
    assert str(job.id) == recording.task_id
    page = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    assert "排隊中" in page and 'hx-trigger="every 1s"' in page and "<audio" not in page


def test_the_same_recording_twice_is_refused_the_second_time(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call()
    wav = call_wav()
    assert post_recording(world, call, wav).status_code == 303
    again = post_recording(world, call, recording=audio_upload(wav, "copy.wav"))
    assert again.status_code == 400
    assert "copy.wav：這個錄音已經加入過這通電話。" in again.content.decode()
    assert Recording.objects.count() == 1 and len(kept_files(recordings_home)) == 1


def test_two_legs_are_one_recording(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call()
    staff = call_wav("leg.wav", legs=True)
    customer = staff.with_name("leg-customer.wav")
    response = post_recording(world, call, staff, by=world.bob, customer_leg=audio_upload(customer))
    assert response.status_code == 303
    recording = Recording.objects.get()
    assert [f["name"] for f in recording.files] == ["leg.wav", "leg-customer.wav"]
    assert recording.size == staff.stat().st_size + customer.stat().st_size
    assert len(kept_files(recordings_home)) == 2


def test_what_is_not_audio_is_refused_naming_the_file_and_nothing_kept(
    world: World, ended_call: EndedCall, recordings_home: Path
) -> None:
    call = ended_call()
    fake = SimpleUploadedFile("minutes.wav", "會議紀錄，不是錄音。".encode() * 100)
    response = post_recording(world, call, recording=fake)
    body = response.content.decode()
    assert response.status_code == 400
    assert "minutes.wav：不是可讀取的錄音檔" in body
    assert not Recording.objects.exists() and not DBTaskResult.objects.exists()
    assert kept_files(recordings_home) == []


def test_a_stereo_file_as_one_leg_of_two_is_refused(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call()
    stereo = call_wav("both.wav")
    response = post_recording(world, call, stereo, customer_leg=audio_upload(stereo, "b.wav"))
    assert response.status_code == 400
    assert "both.wav：分軌錄音的每一個檔案應為單聲道" in response.content.decode()
    assert not Recording.objects.exists() and kept_files(recordings_home) == []


def test_a_file_over_the_limit_is_refused_while_streaming(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path, settings: Any
) -> None:
    settings.CALLSOP_RECORDING_MAX_MB = 1
    call = ended_call()
    big = call_wav("long.wav", seconds=70.0)  # 8 kHz, 2 × 16 bit: 2.2 MB
    assert big.stat().st_size > 2 * 1024 * 1024
    response = post_recording(world, call, big)
    assert response.status_code == 400
    assert "long.wav：檔案太大（上限 1 MB），未保存。" in response.content.decode()
    assert not Recording.objects.exists() and kept_files(recordings_home) == []


def test_no_file_chosen_is_refused(world: World, ended_call: EndedCall) -> None:
    response = post_recording(world, ended_call())
    assert response.status_code == 400 and "請選擇錄音檔" in response.content.decode()


def test_only_the_clerk_or_the_manager_of_the_club_uploads(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> None:
    call = ended_call()
    wav = call_wav()
    for person, status in ((world.charlie, 404), (world.hq, 403), (world.dora, 400)):
        response = post_recording(world, call, wav, by=person)
        assert response.status_code == status, person.name
    assert not Recording.objects.exists() and kept_files(recordings_home) == []


def test_a_call_still_in_progress_takes_no_recording(
    world: World, call_wav: CallWav, recordings_home: Path
) -> None:
    call = svc.call_ring(club=world.xinyi, phone="0912")
    svc.call_answer(call=call, clerk=world.alice)
    response = post_recording(world, call, call_wav())
    assert response.status_code == 400
    assert "通話結束後才能加入錄音" in response.content.decode()
    assert not Recording.objects.exists() and kept_files(recordings_home) == []


def test_the_upload_form_is_on_the_finished_call_for_its_clerk_only(
    world: World, ended_call: EndedCall
) -> None:
    call = ended_call()
    mine = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    assert "上傳錄音" in mine and f"/calls/{call.pk}/recording/" in mine
    theirs = world.client(world.hq).get(f"/calls/{call.pk}/").content.decode()
    assert "上傳錄音" not in theirs
