"""An amendment in a real browser: the clerk corrects the note of an ended call
on its scorecard, with a reason, and the page shows the original beside the
amended, both grades, and who did it when."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from callsop.desk.models import Amendment, Call, Scorecard
from callsop.desk.services import calls as svc
from tests.desk import test_browser
from tests.desk.conftest import World

pytestmark = pytest.mark.browser

browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk


def _ended(world: World) -> Call:
    now = timezone.now()
    call = svc.call_ring(club=world.xinyi, phone="0912-345-678", now=now - timedelta(seconds=90))
    svc.call_answer(call=call, clerk=world.alice, now=now - timedelta(seconds=85))
    svc.call_details_save(call=call, data={"caller_name": "王大明", "note_what": "詢問體驗課"})
    return svc.call_end(by="customer", call=call, now=now - timedelta(seconds=20))


def test_the_clerk_amends_the_note_and_both_grades_show(desk: Desk, world: World) -> None:
    call = _ended(world)
    original = Scorecard.objects.get(call=call).score
    assert original is not None

    page = desk.login(world.alice)
    page.goto(f"/calls/{call.pk}/")
    expect(page.locator("#findings")).to_be_visible()
    expect(page.locator("#amendments")).to_have_count(0)
    box = page.locator("details#amend")
    box.locator("summary").click()
    form = box.locator("form")
    expect(form.locator('input[name="note_what"]')).to_have_value("詢問體驗課")
    for name, value in (
        ("note_when", "週六上午"),
        ("note_who", "王大明"),
        ("note_where", "信義會館"),
        ("note_why", "想試上瑜伽"),
        ("note_how", "回電告知時段"),
    ):
        form.locator(f'input[name="{name}"]').fill(value)
    # The browser itself holds back a form without a reason.
    form.get_by_role("button", name="送出補充說明").click()
    expect(page).to_have_url(f"{desk.base_url}/calls/{call.pk}/")
    assert not Amendment.objects.exists()
    form.locator('textarea[name="reason"]').fill("通話中漏記，已向客戶確認")
    form.get_by_role("button", name="送出補充說明").click()

    section = page.locator("#amendments")
    expect(section).to_be_visible()
    expect(section.locator("h2")).to_contain_text("補充說明")
    expect(section.locator(".version.original")).to_contain_text(f"{original:.1f}")
    card = Scorecard.objects.get(call=call)
    assert card.version == 1 and card.score is not None and card.score > original
    expect(section.locator(".version.current")).to_contain_text(f"{card.score:.1f}")
    expect(section.locator(".changes")).to_contain_text("5W1H 記錄完整")
    entry = section.locator("#amendment-1")
    expect(entry).to_contain_text(world.alice.name)
    expect(entry).to_contain_text("理由：通話中漏記，已向客戶確認")
    row = entry.locator("tr", has_text="何時")
    expect(row.locator("td").first).to_have_text("（空白）")
    expect(row.locator("td.now")).to_have_text("週六上午")
    desk.shot(page, "amended")

    section.locator("summary", has_text="原始評分的完整結果").click()
    expect(section.locator("tr.v-fail", has_text="5W1H 記錄完整")).to_be_visible()
    desk.shot(page, "original-findings")
