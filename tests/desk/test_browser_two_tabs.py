"""One call open in two tabs of the same browser: what one tab saved is not
wiped by the other's next save, which sends only what was typed in it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from callsop.desk.services import calls as svc
from tests.desk import test_browser
from tests.desk.conftest import World

browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk


@pytest.mark.browser
def test_a_second_tab_does_not_wipe_what_the_first_saved(desk: Desk, world: World) -> None:
    now = timezone.now()
    call = svc.call_ring(club=world.xinyi, phone="0912-345-678", now=now - timedelta(seconds=30))
    svc.call_answer(call=call, clerk=world.alice, now=now - timedelta(seconds=26))
    first = desk.login(world.alice)
    first.goto(f"/calls/{call.pk}/")
    second = first.context.new_page()
    second.goto(f"/calls/{call.pk}/")
    for page in (first, second):
        expect(page.locator("html[data-callscreen=ready]")).to_have_count(1)

    second.locator("form#details input[name=caller_name]").fill("吳小姐")
    expect(second.locator("#saved")).to_contain_text("已儲存")
    # The first tab's name box is still empty when it saves its note.
    first.locator("form#details input[name=note_what]").fill("詢問游泳課")
    expect(first.locator("#saved")).to_contain_text("已儲存")

    call.refresh_from_db()
    assert (call.caller_name, call.note_what) == ("吳小姐", "詢問游泳課")
