"""The scorecard's player in a real browser: a recording uploaded on the
call's page is heard by a worker in the background while the page shows its
progress, and each ▶ plays the recording from its moment of the call."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from callsop.desk.models import Recording
from callsop.desk.worker import Background
from tests.desk import test_browser
from tests.desk.conftest import CallWav, EndedCall, World

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("recordings_home", "background_worker"),
]

# The browser fixtures of test_browser.py, shared as they are.
browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk


@pytest.fixture
def background_worker(transactional_db: None) -> Iterator[Background]:
    """A worker beside the live server, as `callsop demo` runs one."""
    running = Background(interval=0.2).start()
    yield running
    running.stop()


def _choose_recording(page: Page, path: Path) -> None:
    page.locator("#listening summary", has_text="上傳錄音").click()
    page.set_input_files("#listening input[name=recording]", str(path))


def _current_time(page: Page) -> float:
    return float(page.evaluate("document.getElementById('player').currentTime"))


def _seek_lands(page: Page, expected: float) -> None:
    """The player has moved to `expected` (it plays on, so a little after is fine)."""
    page.wait_for_function(
        "([lo, hi]) => { const a = document.getElementById('player');"
        " return a.currentTime >= lo && a.currentTime <= hi; }",
        arg=[expected - 0.3, expected + 1.5],
        timeout=5_000,
    )


def test_an_uploaded_recording_is_heard_and_the_player_seeks_to_each_moment(
    desk: Desk, world: World, ended_call: EndedCall, call_wav: CallWav
) -> None:
    call = ended_call()
    page = desk.login(world.alice)
    page.goto(f"/calls/{call.pk}/")
    expect(page.locator("#listening")).to_contain_text("上傳錄音")
    _choose_recording(page, call_wav("1732672804.17.wav"))
    desk.shot(page, "upload-form")
    page.locator("#listening form button").click()
    page.wait_for_url(re.compile(rf"/calls/{call.pk}/$"))
    # The page follows the worker until the call is scored again, then reloads.
    expect(page.locator(".recordings")).to_contain_text("已完成，重新評分", timeout=20_000)
    expect(page.locator("#amendment")).to_contain_text("依錄音重新評分")
    recording = Recording.objects.get()
    assert recording.state == Recording.State.HEARD

    player = page.locator("audio#player")
    expect(player).to_have_attribute("src", f"/recordings/{recording.pk}/audio.ogg")
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    duration = float(page.evaluate("document.getElementById('player').duration"))
    assert duration == pytest.approx(22.0, abs=0.2)

    call.refresh_from_db()
    offset = recording.offset_s
    third = call.utterances[2]
    line = page.locator("ol.transcript li").nth(2)
    expect(line).to_contain_text("僅聲音")
    line.locator("button.play").click()
    _seek_lands(page, third["start"] - offset - 1.0)
    desk.shot(page, "played-from-a-line")

    talk_over = page.locator("tr[data-rule='talk.no-talk-over']")
    expect(talk_over).to_contain_text("未通過")
    expect(talk_over.locator(".basis")).to_have_text("僅聲音判斷")
    moment = float(talk_over.locator("button.play").last.get_attribute("data-play") or "nan")
    talk_over.locator("button.play").last.click()
    _seek_lands(page, moment - offset - 1.0)
    assert _current_time(page) > 10.0  # the talk-over comes late in the call
    desk.shot(page, "played-from-evidence")


def test_a_recording_that_cannot_be_read_shows_why(
    desk: Desk, world: World, ended_call: EndedCall, call_wav: CallWav
) -> None:
    call = ended_call()
    wav = call_wav("cut.wav")
    wav.write_bytes(wav.read_bytes()[:30_000])
    page = desk.login(world.bob)
    page.goto(f"/calls/{call.pk}/")
    _choose_recording(page, wav)
    page.locator("#listening form button").click()
    expect(page.locator(".recordings")).to_contain_text("無法讀取：cut.wav：", timeout=20_000)
    expect(page.locator("audio#player")).to_have_count(0)
    desk.shot(page, "refused")
