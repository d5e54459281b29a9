"""The recording's playable copy, served to the club with HTTP Range, so the
browser's player can seek to a moment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callsop.desk.models import Recording
from tests.desk.conftest import CallWav, EndedCall, World, heard_recording, queued_recording

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recordings_home")]


@pytest.fixture
def heard(
    world: World, ended_call: EndedCall, call_wav: CallWav, recordings_home: Path
) -> tuple[Recording, bytes]:
    recording = heard_recording(world, ended_call(), call_wav())
    assert recording.state == Recording.State.HEARD
    return recording, (recordings_home / recording.playable).read_bytes()


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_the_whole_copy_says_it_takes_ranges(world: World, heard: tuple[Recording, bytes]) -> None:
    recording, data = heard
    response = world.client(world.bob).get(f"/recordings/{recording.pk}/audio.ogg")
    assert response.status_code == 200 and response["Content-Type"] == "audio/ogg"
    assert response["Accept-Ranges"] == "bytes"
    assert _body(response) == data and data.startswith(b"OggS")


def test_a_range_answers_206_with_exactly_those_bytes(
    world: World, heard: tuple[Recording, bytes]
) -> None:
    recording, data = heard
    client = world.client(world.alice)
    url = f"/recordings/{recording.pk}/audio.ogg"
    size = len(data)
    for header, first, last in (
        ("bytes=100-199", 100, 199),
        ("bytes=1000-", 1000, size - 1),
        ("bytes=-500", size - 500, size - 1),
        (f"bytes=10-{size + 999}", 10, size - 1),
    ):
        response = client.get(url, HTTP_RANGE=header)
        assert response.status_code == 206, header
        assert response["Content-Range"] == f"bytes {first}-{last}/{size}", header
        assert response["Content-Length"] == str(last - first + 1)
        assert _body(response) == data[first : last + 1], header
    beyond = client.get(url, HTTP_RANGE=f"bytes={size}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{size}"


def test_another_club_gets_nothing_and_hq_listens(
    world: World, heard: tuple[Recording, bytes]
) -> None:
    recording, data = heard
    url = f"/recordings/{recording.pk}/audio.ogg"
    assert world.client(world.charlie).get(url).status_code == 404
    assert world.client(world.charlie).get(url, HTTP_RANGE="bytes=0-99").status_code == 404
    assert _body(world.client(world.hq).get(url)) == data
    assert world.client(world.alice).get("/recordings/999999/audio.ogg").status_code == 404


def test_a_recording_not_yet_heard_has_nothing_to_play(
    world: World, ended_call: EndedCall, call_wav: CallWav
) -> None:
    recording = queued_recording(world, ended_call(), call_wav())
    response = world.client(world.alice).get(f"/recordings/{recording.pk}/audio.ogg")
    assert response.status_code == 404
