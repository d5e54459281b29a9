"""The push channel in a real browser (Chromium, Playwright, the live
server): an idle desk page makes next to no requests, and a call that starts
ringing reaches it within a second."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Request, expect

from callsop.desk.models import ClubLine
from callsop.desk.services.telephony import pbx_event_store, pbx_events_apply
from callsop.telephony.dialogs import CallEvent as PbxCallEvent
from tests.desk.conftest import World
from tests.desk.test_browser import Desk, browser, desk

__all__ = ["browser", "desk"]  # the fixtures, shared with test_browser.py

pytestmark = pytest.mark.browser

LINE = "0227001234"
IDLE_S = 60


def test_an_idle_desk_is_quiet_and_shows_a_ringing_call_at_once(desk: Desk, world: World) -> None:
    ClubLine.objects.create(club=world.xinyi, number="227001234", kind="main")
    page = desk.login(world.alice)
    expect(page.locator("#ringing")).to_contain_text("目前沒有來電")
    expect(page.locator("html")).to_have_attribute("data-push", "up")
    page.wait_for_timeout(1000)  # the first connect's one fetch of the ringing list

    requests: list[str] = []

    def seen(request: Request) -> None:
        if not request.url.endswith("/desk/push/"):
            requests.append(request.url)

    page.on("request", seen)
    page.wait_for_timeout(IDLE_S * 1000)
    # The due card's slow poll (once a minute) at most, the stream aside.
    assert len(requests) <= 2, f"an idle desk asked {len(requests)} times in {IDLE_S} s: {requests}"

    # The PBX reports a call ringing on the club's line; the hint goes
    # through the transport every server process listens to.
    event = PbxCallEvent(
        call_id="pushed-ring", kind="ringing", at=time.time(), caller="0912345678", callee=LINE
    )
    pbx_event_store(source="hep", event=event)
    pbx_events_apply()
    applied = time.monotonic()
    expect(page.locator("#ringing")).to_contain_text("0912", timeout=1000)
    took = time.monotonic() - applied
    desk.shot(page, "pushed-ring")
    assert took < 1.0
    page.remove_listener("request", seen)


def test_without_the_stream_the_page_polls_slowly(desk: Desk, world: World) -> None:
    page = desk.login(world.alice)
    expect(page.locator("html")).to_have_attribute("data-push", "up")
    got: list[Any] = []
    page.on("request", lambda r: got.append(r.url) if r.url.endswith("/desk/ringing/") else None)
    # The stream drops (the server went away) and EventSource retries on its own:
    # until it is back, the page polls on its slow clock, not every second.
    page.evaluate(
        "window.callsopPushSource.close(); window.callsopPushSource.dispatchEvent(new Event('error'))"
    )
    assert page.evaluate("window.callsopPush") is False
    page.wait_for_timeout(3000)
    assert got == []
    page.wait_for_timeout(25_000)  # push.js's fallback clock
    assert len(got) == 1
