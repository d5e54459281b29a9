"""The manager's review in a real browser reads in Chinese: the scorecard with
its findings and timeline, the inbox's dispute and the dashboard, with the
club's own thresholds and local times."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from callsop.desk.models import Call
from callsop.desk.services import calls as svc
from callsop.desk.services.policy import club_policy_save
from tests.desk import test_browser
from tests.desk.conftest import World
from tests.desk.test_zh_everywhere import TAIPEI, TYPED, _examples, empty_items, latin_runs

pytestmark = pytest.mark.browser

browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk


def _held_and_escalated(world: World) -> Call:
    """Alice's call with a 40 s hold, an urgent note and an escalation to bob."""
    start = timezone.now() - timedelta(minutes=10)
    call = svc.call_ring(club=world.xinyi, phone="0912-345-678", now=start)
    svc.call_answer(call=call, clerk=world.alice, now=start + timedelta(seconds=6))
    svc.call_hold(call=call, now=start + timedelta(seconds=20))
    svc.call_resume(call=call, now=start + timedelta(seconds=60))
    svc.call_escalate(call=call, reason="會員在館內受傷", now=start + timedelta(seconds=70))
    return svc.call_end(call=call, by="customer", now=start + timedelta(seconds=90))


def test_the_managers_review_reads_in_chinese(desk: Desk, world: World) -> None:
    club_policy_save(club=world.xinyi, text="[timing]\nmax_hold_s = 30\n")
    call = _held_and_escalated(world)
    _examples(world, timezone.now(), {"inbound.warm-transfer", "inbound.escalate-urgent"})
    page = desk.login(world.bob)
    page.goto(f"/calls/{call.pk}/")
    hold = page.locator("tr[data-rule='hold.max-duration']")
    expect(hold).to_contain_text("等候不超過 30 秒")
    expect(hold).to_contain_text("保留 40 秒")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("響鈴")
    expect(timeline).to_contain_text("掛斷（客戶）")
    local = call.events.get(type="ringing").at.astimezone(TAIPEI).strftime("%H:%M:%S")
    expect(timeline).to_contain_text(local)
    html = page.content()
    assert latin_runs(html, TYPED) == []
    assert empty_items(html) == 0
    desk.shot(page, "scorecard")
    timeline.scroll_into_view_if_needed()
    timeline.screenshot(path=str(test_browser.SCREENSHOTS / f"{desk.test_name}-timeline.png"))
    for url in ("/calls/", "/inbox/", "/dashboard/"):
        page.goto(url)
        html = page.content()
        assert latin_runs(html, TYPED) == [], url
        assert empty_items(html) == 0, url
    expect(page.locator("main")).to_contain_text("超過 30 秒")
    desk.shot(page, "dashboard")
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", page.inner_text("body"))
