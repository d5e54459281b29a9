"""A save the server refuses for a field is not a lost connection: the call
screen names the field and says to fix it, marks that input, and the end
dialog says the same; once fixed, the save goes through by itself."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from callsop.desk.models import Call
from tests.desk import test_browser
from tests.desk.conftest import World
from tests.desk.test_browser_typing import _answered, _open_call

# The browser fixtures of test_browser.py, shared as they are.
browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk

pytestmark = pytest.mark.browser


def test_a_refused_field_is_named_and_saves_once_fixed(desk: Desk, world: World) -> None:
    call = _answered(world)
    page = _open_call(desk, world, call)
    phone = page.locator("form#details input[name=caller_phone]")
    phone.fill("1" * 31)

    saved = page.locator("#saved")
    expect(saved).to_have_text("尚未儲存：電話太長：31 字（最多 30 字）。請修改後會自動再存。")
    expect(saved).not_to_contain_text("恢復")
    expect(phone).to_have_attribute("aria-invalid", "true")
    note = page.locator("form#details [data-refused-note]")
    expect(note).to_have_count(1)
    expect(note).to_have_text("電話太長：31 字（最多 30 字）。")
    expect(phone).to_have_attribute("aria-describedby", "refused-note")
    expect(page.locator("#offline-banner")).to_be_hidden()
    desk.shot(page, "refused-phone")

    page.keyboard.press("Alt+E")  # from inside the field
    dialog = page.locator("#call-panel dialog.end-confirm")
    expect(dialog).to_be_visible()
    dialog.get_by_label("對方先掛").check()
    dialog.get_by_role("button", name="確定結束").click()
    status = dialog.locator(".end-status")
    expect(status).to_contain_text("欄位需要修改")
    expect(status).to_contain_text("電話太長")
    expect(status).not_to_contain_text("恢復連線")
    desk.shot(page, "refused-end")
    dialog.get_by_role("button", name="取消，回到通話").click()
    call.refresh_from_db()
    assert call.state == Call.State.TALKING and call.caller_phone == "0912-345-678"

    phone.fill("0933-222-111")
    expect(saved).to_have_text(test_browser.SAVED_AT)
    expect(phone).not_to_have_attribute("aria-invalid", "true")
    expect(note).to_have_count(0)
    call.refresh_from_db()
    assert call.caller_phone == "0933-222-111"
    desk.shot(page, "refused-fixed")
