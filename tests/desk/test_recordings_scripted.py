"""A scripted call (tests/audio/scripted.py: neural-voice desk lines, hold
music, line noise, 8 kHz µ-law) uploaded to a desk call of the same
timeline: the hold is heard in the audio."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from callsop.desk.models import Call, CallEvent, Recording
from callsop.desk.services import calls as svc
from tests.audio.calls import enquiry_with_hold
from tests.audio.scripted import Built, build
from tests.desk.conftest import World, finding, heard_recording

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enquiry(tmp_path: Path) -> Built:
    return build(enquiry_with_hold(), tmp_path / "pbx")


def _desk_call(world: World, built: Built) -> Call:
    """The call as the desk saw it: rung, answered and ended when the script says,
    with no hold pressed on the desk (the hold is only in the audio)."""
    start = timezone.now() - timedelta(minutes=10)
    call = svc.call_ring(club=world.xinyi, phone="0912-345-678", now=start)
    call = svc.call_answer(
        call=call, clerk=world.alice, now=start + timedelta(seconds=built.truth.answered)
    )
    return svc.call_end(
        by="customer", call=call, now=start + timedelta(seconds=built.truth.duration)
    )


def test_a_hold_heard_in_a_recording_from_the_ring_counts_as_the_call_s_hold(
    world: World, enquiry: Built, recordings_home: Path, settings: Any
) -> None:
    settings.CALLSOP_RECORDING_STARTS = "ring"  # this PBX records from the first ring
    call = _desk_call(world, enquiry)
    assert finding(call, "hold.max-duration")["verdict"] == "na"
    recording = heard_recording(world, call, enquiry.paths[0])
    assert recording.state == Recording.State.HEARD and recording.offset_s == 0.0
    heard = list(CallEvent.objects.filter(call=call, source="audio"))
    assert [e.type for e in heard] == ["hold", "resume"]
    truth = enquiry.truth.holds[0]
    held = (heard[0].at - call.started_at).total_seconds()
    back = (heard[1].at - call.started_at).total_seconds()
    assert held == pytest.approx(truth.start, abs=1.5) and back == pytest.approx(truth.end, abs=1.5)
    call.refresh_from_db()
    assert call.hold_count == 1 and call.hold_total_s == pytest.approx(truth.seconds, abs=2.5)
    assert finding(call, "hold.max-duration")["verdict"] == "pass"
    record = world.client(world.bob).get(f"/calls/{call.pk}/record.json").json()
    assert {"t": pytest.approx(held, abs=0.01), "type": "hold", "source": "audio"} in record[
        "events"
    ]
    assert record["speech"]["source"] == "voice-only"
    page = world.client(world.bob).get(f"/calls/{call.pk}/").content.decode()
    assert "保留" in page and "錄音聽出" in page
