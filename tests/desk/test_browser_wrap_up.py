"""The wrap-up in a real browser: the PBX ends the call while the clerk types,
the clerk goes on typing and it is kept as part of the call, with a countdown;
once the wrap-up is over the form is read-only, and what the server refused is
kept in the browser and offered to the amendment form."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Request, expect

from callsop.desk.models import Amendment, Call, Scorecard
from callsop.desk.services import calls as svc
from tests.desk import test_browser
from tests.desk.conftest import World

pytestmark = pytest.mark.browser

browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk

COUNTDOWN = re.compile(r"^整理時間剩 \d:\d\d$")
NO_DRAFTS = "() => !Object.keys(localStorage).some(k => k.startsWith('callsop-draft'))"


def _answered(world: World) -> Call:
    now = timezone.now()
    call = svc.call_ring(club=world.xinyi, phone="0912-345-678", now=now - timedelta(seconds=40))
    return svc.call_answer(call=call, clerk=world.alice, now=now - timedelta(seconds=36))


def _open_call(desk: Desk, world: World, call: Call) -> Page:
    page = desk.login(world.alice)
    page.goto(f"/calls/{call.pk}/")
    expect(page.locator("#call-panel .state")).to_have_text("通話中")
    expect(page.locator("html[data-callscreen=ready]")).to_have_count(1)
    return page


def _five_w(call: Call) -> str:
    card = Scorecard.objects.get(call=call)
    return str(next(f["verdict"] for f in card.findings if f["rule"] == "note.five-w-one-h"))


def _drafts(page: Page) -> list[str]:
    keys: list[str] = page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('callsop-draft')).sort()"
    )
    return keys


def test_the_pbx_ends_the_call_and_the_clerk_goes_on_writing(
    desk: Desk, world: World, settings: Any
) -> None:
    call = _answered(world)
    page = _open_call(desk, world, call)
    saves = {"sent": 0, "back": 0}

    def _sent(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/details/"):
            saves["sent"] += 1

    def _back(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/details/"):
            saves["back"] += 1

    page.on("request", _sent)
    page.on("requestfinished", _back)
    page.on("requestfailed", _back)
    form = page.locator("form#details")
    form.locator("input[name=caller_name]").fill("王大明")
    form.locator("input[name=note_when]").fill("週六上午")
    expect(page.locator("#saved")).to_have_text(test_browser.SAVED_AT)

    # The customer hangs up first; the PBX ends the desk's call at once.
    svc.call_end(call=call, by="customer")
    assert _five_w(call) == "fail"
    for name, text in (
        ("note_who", "王大明"),
        ("note_where", "信義會館"),
        ("note_what", "詢問體驗課"),
        ("note_why", "想試上瑜伽"),
        ("note_how", "回電告知時段"),
    ):
        form.locator(f"input[name={name}]").fill(text)
    expect(page.locator("#saved")).to_have_text(test_browser.SAVED_AT)
    expect(page.locator("#wrap-up")).to_have_text(COUNTDOWN)
    expect(page.locator("#call-panel")).to_contain_text("通話已結束")
    expect(page.locator("#call-panel [data-wrap-up-clock]")).to_have_text(COUNTDOWN)
    test_browser._wait_for(
        lambda: Call.objects.get(pk=call.pk).note_how == "回電告知時段", what="the last note"
    )
    # Scored again once the save is in: the note now complete.
    test_browser._wait_for(lambda: _five_w(call) == "pass", what="the rescore")
    assert Scorecard.objects.get(call=call).version == 0 and not Amendment.objects.exists()
    page.wait_for_function(NO_DRAFTS)  # each dropped once the server had it
    desk.shot(page, "wrap-up-countdown")

    # The server's wrap-up is over (once no save is on its way); the next
    # keystrokes are refused, and kept.
    for _ in range(100):
        page.wait_for_timeout(100)
        if saves["sent"] == saves["back"]:
            break
    assert saves["sent"] == saves["back"]
    settings.CALLSOP_WRAP_UP_S = 0  # over, however soon after the end this runs
    posts: list[str] = []

    def _count(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/details/"):
            posts.append(request.url)

    page.on("request", _count)
    form.locator("input[name=note_how]").fill("回電告知週六時段")
    refused = page.locator("#details-refused")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("已鎖定")
    expect(form.locator("input[name=note_how]")).to_have_value("回電告知週六時段")
    expect(form.locator("input[name=note_how]")).to_have_attribute("readonly", "")
    assert _drafts(page) == [f"callsop-draft:{call.pk}:details:note_how"]
    page.wait_for_timeout(6_000)  # longer than the 5 s retry of an unsaved note
    assert len(posts) == 1, posts  # no retry once refused
    assert Call.objects.get(pk=call.pk).note_how == "回電告知時段"
    desk.shot(page, "refused-read-only")

    # Offered to the amendment form on the scorecard, filled in with it.
    page.locator("#amend-offer").get_by_role("link").click()
    expect(page.locator("#findings")).to_be_visible()
    expect(page.locator("form#details")).to_have_count(0)
    amend = page.locator("details#amend form")
    expect(amend).to_be_visible()
    expect(amend.locator("[data-amend-prefilled]")).to_be_visible()
    expect(amend.locator("input[name=note_how]")).to_have_value("回電告知週六時段")
    expect(amend.locator("input[name=note_what]")).to_have_value("詢問體驗課")
    desk.shot(page, "amend-prefilled")
    amend.locator("textarea[name=reason]").fill("通話後補上約定的日子")
    amend.get_by_role("button", name="送出補充說明").click()
    expect(page.locator("#amendments")).to_be_visible()
    amendment = Amendment.objects.get(call=call)
    assert amendment.after == {"note_how": "回電告知週六時段"}
    assert _drafts(page) == []


def test_the_clerk_ends_the_call_writes_the_note_then_it_is_final(
    desk: Desk, world: World, settings: Any
) -> None:
    settings.CALLSOP_WRAP_UP_S = 12
    call = _answered(world)
    page = _open_call(desk, world, call)
    page.locator("form#details input[name=note_when]").fill("週六上午")
    page.locator("[data-end-open]").click()
    test_browser._confirm_end(page)
    # The scorecard, with the note still open for the wrap-up and its countdown.
    expect(page.locator("#findings")).to_be_visible()
    wrap = page.locator("#wrap-up-section")
    expect(wrap.locator("#wrap-up")).to_have_text(COUNTDOWN)
    note = wrap.locator("form#details")
    expect(note.locator("input[name=note_when]")).to_have_value("週六上午")
    note.locator("input[name=note_what]").fill("詢問體驗課")
    expect(wrap.locator("#saved")).to_have_text(test_browser.SAVED_AT)
    assert Call.objects.get(pk=call.pk).note_what == "詢問體驗課"
    assert Scorecard.objects.get(call=call).version == 0 and not Amendment.objects.exists()
    desk.shot(page, "scorecard-wrap-up")

    # The countdown runs out: read-only, and the amendment form offered.
    refused = wrap.locator("#details-refused")
    expect(refused).to_be_visible(timeout=20_000)
    expect(refused).to_contain_text("整理時間已結束")
    expect(wrap.locator("#wrap-up")).to_have_text("整理時間已結束")
    expect(note.locator("input[name=note_what]")).to_have_attribute("readonly", "")
    expect(page.locator("[data-wrap-up-notice]")).to_contain_text("紀錄已定案")
    wrap.locator("#amend-offer").get_by_role("link").click()
    amend = page.locator("details#amend")
    expect(amend).to_have_attribute("open", "")
    expect(amend.locator("input[name=note_what]")).to_have_value("詢問體驗課")
    desk.shot(page, "final-amend-offered")
    page.reload()
    expect(page.locator("#wrap-up-section")).to_have_count(0)
