"""Recordings written one file per direction, from the PBX's folder: paired,
the staff's leg chosen by the setting, a lone leg taken after a while."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from callsop.desk import recordings_watch, worker
from callsop.desk.models import Recording, RecordingFile
from callsop.desk.services.recording_legs import leg_of
from callsop.desk.services.recording_match import read_name
from tests.desk.conftest import SPEAKERS, CallWav, Log, PbxCall, speakers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recordings_home")]


def _legs(
    call_wav: CallWav, folder: Path, staff_name: str, customer_name: str
) -> tuple[Path, Path]:
    staff = call_wav("leg.wav", legs=True)
    customer = staff.with_name("leg-customer.wav")
    return (
        Path(shutil.copy(staff, folder / staff_name)),
        Path(shutil.copy(customer, folder / customer_name)),
    )


def _look_twice(folder: Path) -> int:
    """A fresh watcher's first look at the folder, then what it takes 2.5 s later."""
    watcher = recordings_watch.Watcher(folder, Log())
    watcher.scan(now=0.0)
    return watcher.scan(now=2.5)


def _direction(name: str) -> str | None:
    leg = leg_of(Path(name))
    return None if leg is None else leg.direction


def test_leg_names_of_mixmonitor_and_freeswitch() -> None:
    assert [_direction(f"1732.5-{s}.wav") for s in ("in", "r", "read", "rx")] == ["in"] * 4
    assert [_direction(f"1732.5-{s}.WAV") for s in ("out", "T", "write", "tx")] == ["out"] * 4
    assert leg_of(Path("1732672804.17.wav")) is None
    assert leg_of(Path("0d7e6c6a-1b6c-4a5e-9a51-1f0b8c1c2d3e.wav")) is None
    assert read_name(Path("1732672804.17-t.wav")).pbx_id == "1732672804.17"
    named = read_name(Path("in-0227001234-0912345678-20261127-100004-1732672804.17-out.wav"))
    assert (named.pbx_id, named.number) == ("1732672804.17", "0912345678")


def test_two_legs_are_paired_and_the_staff_leg_of_an_incoming_call_is_what_it_sends(
    pbx_call: PbxCall, call_wav: CallWav, folder: Path
) -> None:
    # MixMonitor on the caller's channel: "t" is what the PBX sends the
    # caller, the clerk's voice; "r" the caller's own.
    call = pbx_call("1732672804.17")
    _legs(call_wav, folder, "1732672804.17-t.wav", "1732672804.17-r.wav")
    log = Log()
    watcher = recordings_watch.Watcher(folder, log)
    assert watcher.scan(now=0.0) == 0
    assert watcher.scan(now=2.5) == 1
    recording = Recording.objects.get()
    assert recording.call == call
    assert [f["name"] for f in recording.files] == ["1732672804.17-t.wav", "1732672804.17-r.wav"]
    assert RecordingFile.objects.filter(recording=recording).count() == 2
    assert any("1732672804.17-t.wav + 1732672804.17-r.wav: queued" in line for line in log)
    assert watcher.scan(now=10.0) == 0 and watcher.scan(now=100.0) == 0  # once
    worker.drain()
    assert speakers(call) == SPEAKERS


def test_of_an_outgoing_call_the_staff_leg_is_what_the_extension_sends(
    pbx_call: PbxCall, call_wav: CallWav, folder: Path
) -> None:
    call = pbx_call("1732672804.18", direction="outbound")
    _legs(call_wav, folder, "1732672804.18-in.wav", "1732672804.18-out.wav")
    assert _look_twice(folder) == 1
    names = [f["name"] for f in Recording.objects.get(call=call).files]
    assert names == ["1732672804.18-in.wav", "1732672804.18-out.wav"]


def test_the_setting_says_which_leg_is_the_staff(
    pbx_call: PbxCall, call_wav: CallWav, folder: Path, settings: Any
) -> None:
    # The clerk's own channel recorded on an incoming call: "in" is the clerk.
    settings.CALLSOP_RECORDING_STAFF_LEG = "in"
    call = pbx_call("1732672804.19")
    _legs(call_wav, folder, "1732672804.19-in.wav", "1732672804.19-out.wav")
    assert _look_twice(folder) == 1
    worker.drain()
    assert Recording.objects.get().files[0]["name"] == "1732672804.19-in.wav"
    assert speakers(call) == SPEAKERS


def test_a_leg_waits_for_its_pair_to_stand_still(
    pbx_call: PbxCall, call_wav: CallWav, folder: Path
) -> None:
    pbx_call("1732672804.20")
    staff, customer = _legs(call_wav, folder, "1732672804.20-t.wav", "1732672804.20-r.wav")
    data = customer.read_bytes()
    customer.write_bytes(data[: len(data) // 2])
    watcher = recordings_watch.Watcher(folder, Log())
    assert watcher.scan(now=0.0) == 0
    customer.write_bytes(data)  # the PBX still writing the other leg
    assert watcher.scan(now=2.5) == 0
    assert watcher.scan(now=4.0) == 0
    assert watcher.scan(now=5.0) == 1
    assert Recording.objects.get().size == staff.stat().st_size + len(data)


def test_a_lone_leg_is_taken_alone_after_a_while(
    pbx_call: PbxCall, call_wav: CallWav, folder: Path
) -> None:
    call = pbx_call("1732672804.21")
    staff = call_wav("leg.wav", legs=True)
    shutil.copy(staff, folder / "1732672804.21-t.wav")
    log = Log()
    watcher = recordings_watch.Watcher(folder, log)
    assert watcher.scan(now=0.0) == 0
    assert watcher.scan(now=2.5) == 0  # its pair may yet come
    assert watcher.scan(now=recordings_watch.LEG_WAIT_S - 1) == 0
    assert watcher.scan(now=recordings_watch.LEG_WAIT_S + 0.5) == 1
    recording = Recording.objects.get()
    assert recording.call == call and len(recording.files) == 1
    worker.drain()
    call.refresh_from_db()
    # One leg, heard as one track: who spoke is not told apart.
    assert call.utterances and {u["speaker"] for u in call.utterances} == {"other"}
