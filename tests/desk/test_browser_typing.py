"""The call screen in a real browser keeps everything the clerk types, and
every failure is seen: drafts outlive panel swaps, reloads and a server
restart; ending a call asks who hung up and waits for the last save; a
refusal shows beside the button pressed; an unreachable server shows a banner.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, Route, expect

from callsop.desk.models import Call, Complaint, Scorecard
from callsop.desk.services import calls as svc
from callsop.desk.services.outbound import plan_gaps
from tests.desk import test_browser
from tests.desk.conftest import PASSWORD, World

# The browser fixtures of test_browser.py, shared as they are.
browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk

NOTE = {
    "note_when": "下週六上午",
    "note_who": "王大明會員",
    "note_where": "信義會館二樓",
    "note_what": "想改約私人課",
    "note_why": "週六要出差",
}
TYPED = {  # each action form of the panel, one box each
    "留言給同事": ("textarea[name=message]", "請回電確認週日的課"),
    "轉接同事": ("textarea[name=summary]", "會員想改約週六的私人課"),
    "緊急：通報館長": ("textarea[name=reason]", "會員在電話中說身體不適"),
    "登記投訴": ("textarea[name=summary]", "教練連續兩次遲到"),
}


def _answered(world: World, phone: str = "0912-345-678") -> Call:
    now = timezone.now()
    call = svc.call_ring(club=world.xinyi, phone=phone, now=now - timedelta(seconds=40))
    return svc.call_answer(call=call, clerk=world.alice, now=now - timedelta(seconds=36))


def _open_call(desk: Desk, world: World, call: Call) -> Page:
    page = desk.login(world.alice)
    page.goto(f"/calls/{call.pk}/")
    expect(page.locator("#call-panel .state")).to_have_text("通話中")
    expect(page.locator("html[data-callscreen=ready]")).to_have_count(1)
    return page


def _box(page: Page, summary: str) -> Any:
    return test_browser._details(page, summary)


def _drafts(page: Page) -> list[str]:
    keys: list[str] = page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('callsop-draft')).sort()"
    )
    return keys


def _state(call: Call) -> str:
    call.refresh_from_db()
    return str(call.state)


def _typed_everywhere(page: Page) -> None:
    for summary, (field, text) in TYPED.items():
        _box(page, summary).locator(field).fill(text)
    page.locator("form#details input[name=note_what]").fill("想改約私人課")


def _still_typed(page: Page) -> None:
    for summary, (field, text) in TYPED.items():
        expect(
            page.locator("#call-panel details.action", has_text=summary).locator(field)
        ).to_have_value(text)
    expect(page.locator("form#details input[name=note_what]")).to_have_value("想改約私人課")


@pytest.mark.browser
def test_what_is_typed_outlives_hold_resume_and_reload(desk: Desk, world: World) -> None:
    call = _answered(world)
    page = _open_call(desk, world, call)
    _typed_everywhere(page)
    desk.shot(page, "typed")

    page.get_by_role("button", name="保留").click()
    expect(page.locator("#call-panel .state")).to_have_text("保留中")
    page.get_by_role("button", name="回到通話").click()
    expect(page.locator("#call-panel .state")).to_have_text("通話中")
    _still_typed(page)

    page.reload()
    expect(page.locator("#call-panel .state")).to_have_text("通話中")
    _still_typed(page)
    call.refresh_from_db()
    assert call.note_what == "想改約私人課"  # the note went to the server as typed

    # The complaint sent: its box is emptied and its draft dropped; the others stay.
    complaint = _box(page, "登記投訴")
    complaint.get_by_role("button", name="記入今日投訴").click()
    expect(page.locator("#call-panel .ok")).to_have_text("已記入今日投訴紀錄。")
    expect(_box(page, "登記投訴").locator("textarea[name=summary]")).to_have_value("")
    expect(_box(page, "留言給同事").locator("textarea[name=message]")).to_have_value(
        TYPED["留言給同事"][1]
    )
    assert Complaint.objects.get(call=call).summary == TYPED["登記投訴"][1]
    assert not [k for k in _drafts(page) if ":complaint:" in k]
    assert [k for k in _drafts(page) if ":memo:message" in k]
    desk.shot(page, "complaint-sent")

    # Ending lists what was never sent, and the call's drafts go with the call.
    page.keyboard.press("e")
    unsent = page.locator("#call-panel dialog.end-confirm .unsent")
    expect(unsent).to_be_visible()
    expect(unsent.locator("li")).to_have_text(["留言給同事", "轉接同事", "緊急：通報館長"])
    desk.shot(page, "unsent-listed")
    test_browser._confirm_end(page)
    expect(page.locator("#findings")).to_be_visible()
    assert _drafts(page) == []


@pytest.mark.browser
def test_a_note_typed_just_before_alt_e_is_saved_before_the_end(desk: Desk, world: World) -> None:
    call = _answered(world)
    page = _open_call(desk, world, call)
    for name, text in NOTE.items():
        page.locator(f"form#details input[name={name}]").fill(text)
    expect(page.locator("#saved")).to_have_text(test_browser.SAVED_AT)

    how = page.locator("form#details input[name=note_how]")
    how.fill("先傳新課表再電話確認")
    page.wait_for_timeout(100)  # well inside the 400 ms the as-you-type save waits
    page.keyboard.press("Alt+E")  # from inside the field
    dialog = page.locator("#call-panel dialog.end-confirm")
    expect(dialog).to_be_visible()
    assert _state(call) == Call.State.TALKING
    test_browser._confirm_end(page)
    expect(page.locator("#findings")).to_be_visible()

    call.refresh_from_db()
    assert call.state == Call.State.ENDED
    assert call.note_how == "先傳新課表再電話確認"
    finding = next(
        f for f in Scorecard.objects.get(call=call).findings if f["rule"] == "note.five-w-one-h"
    )
    assert finding["verdict"] == "pass", finding
    expect(page.locator('tr[data-rule="note.five-w-one-h"]')).to_have_class(
        test_browser._cls("v-pass")
    )
    assert _drafts(page) == []


@pytest.mark.browser
def test_e_asks_to_confirm_and_who_hung_up(desk: Desk, world: World) -> None:
    call = _answered(world)
    page = _open_call(desk, world, call)
    page.keyboard.press("e")
    dialog = page.locator("#call-panel dialog.end-confirm")
    expect(dialog).to_be_visible()
    choices = dialog.locator("input[name=by]")
    expect(choices).to_have_count(3)
    for label in ("對方先掛", "我方先掛", "斷線"):
        expect(dialog.get_by_label(label)).not_to_be_checked()
    desk.shot(page, "end-asked")

    page.keyboard.press("Escape")  # a stray E is taken back
    expect(dialog).to_be_hidden()
    assert _state(call) == Call.State.TALKING
    # The keyboard is back on the end button once the dialog's close has run.
    expect(page.locator("#call-panel [data-end-open]")).to_be_focused()

    page.keyboard.press("e")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="確定結束").click()  # nobody chosen: not ended
    expect(dialog).to_be_visible()
    assert _state(call) == Call.State.TALKING
    dialog.get_by_label("我方先掛").check()
    dialog.get_by_role("button", name="確定結束").click()
    expect(page.locator("#findings")).to_be_visible()
    call.refresh_from_db()
    assert call.state == Call.State.ENDED
    assert call.events.get(type="hangup").by == "staff"


def test_the_server_refuses_an_end_without_who_hung_up(world: World) -> None:
    call = _answered(world)
    client = world.client(world.alice)
    response = client.post(f"/calls/{call.pk}/end/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "X-Callsop-Refused" in response
    assert "請選擇由哪一方掛斷" in response.content.decode()
    assert _state(call) == Call.State.TALKING
    plain = client.post(f"/calls/{call.pk}/end/")
    assert plain.status_code == 400 and _state(call) == Call.State.TALKING
    done = client.post(f"/calls/{call.pk}/end/", {"by": "network"}, HTTP_HX_REQUEST="true")
    assert done.status_code == 204 and done["X-Callsop-Ended"] == "1"
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.DROPPED


@pytest.mark.browser
def test_the_plan_checklist_updates_as_you_type(desk: Desk, world: World) -> None:
    page = desk.login(world.alice)
    page.get_by_role("button", name="＋ 新去電").click()
    page.wait_for_url(re.compile(r"/calls/\d+/$"))
    call = Call.objects.get()
    gaps = page.locator("#call-panel .gaps li")
    before = len(plan_gaps(call))
    expect(gaps).to_have_count(before)
    expect(gaps.first).to_be_visible()

    page.locator("form#details input[name=plan_purpose]").fill("通知私人課改期")
    expect(gaps).to_have_count(before - 1)  # no 重新檢查 pressed
    page.locator("form#details input[name=plan_name_verified]").check()
    expect(gaps).to_have_count(before - 2)
    call.refresh_from_db()
    assert len(plan_gaps(call)) == before - 2
    desk.shot(page, "plan-updated")


def _in_view_beside(page: Page, message: Any, button: Any) -> None:
    expect(message).to_be_visible()
    expect(message).to_be_in_viewport()
    box, near = message.bounding_box(), button.bounding_box()
    assert box is not None and near is not None
    assert abs(box["y"] - near["y"]) < 200, (box, near)


@pytest.mark.browser
def test_a_refusal_shows_beside_the_button_in_view(desk: Desk, world: World) -> None:
    call = _answered(world)
    svc.complaint_log(call=call, clerk=world.alice, summary="教練遲到")
    svc.call_end(call=call, by="customer")
    live = _answered(world, phone="0922-000-111")
    page = desk.login(world.alice)
    page.set_viewport_size({"width": 1280, "height": 600})

    page.goto("/inbox/")
    form = page.locator("form", has=page.locator("select[name=state]"))
    form.locator("select[name=state]").select_option("closed")
    button = form.get_by_role("button", name="更新")
    button.click()
    message = page.locator(".action-message")
    expect(message).to_have_text("結案前請寫下處理經過。")
    expect(message).to_have_attribute("role", "alert")
    _in_view_beside(page, message, button)
    desk.shot(page, "complaint-refused")
    assert Complaint.objects.get(call=call).state == Complaint.State.OPEN

    page.goto(f"/calls/{live.pk}/")
    transfer = _box(page, "轉接同事")
    transfer.locator("select[name=to]").select_option(str(world.bob.pk))
    transfer.get_by_role("button", name="說明後轉接").click()
    message = page.locator("#call-panel .action-message")
    expect(message).to_contain_text("轉接前請先簡要說明")
    _in_view_beside(page, message, _box(page, "轉接同事").get_by_role("button", name="說明後轉接"))
    expect(page.locator("#call-panel [data-refusal]")).to_have_count(0)  # not at the top too
    desk.shot(page, "transfer-refused")


@pytest.mark.browser
def test_an_unreachable_server_shows_a_banner_until_it_is_back(desk: Desk, world: World) -> None:
    call = _answered(world)
    page = _open_call(desk, world, call)
    banner = page.locator("#offline-banner")
    expect(banner).to_have_count(0)

    def away(route: Route) -> None:
        route.abort("connectionrefused")

    page.route("**/calls/**", away)
    page.locator("form#details input[name=note_what]").fill("想改約私人課")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("連不上伺服器")
    expect(page.locator("#saved")).to_contain_text("尚未儲存")

    hold = page.get_by_role("button", name="保留")
    hold.click()
    message = page.locator("#call-panel .action-message")
    expect(message).to_contain_text("這個動作沒有完成")
    _in_view_beside(page, message, hold)
    assert _state(call) == Call.State.TALKING

    page.keyboard.press("e")
    dialog = page.locator("#call-panel dialog.end-confirm")
    dialog.get_by_label("對方先掛").check()
    dialog.get_by_role("button", name="確定結束").click()
    expect(dialog.locator(".end-status")).to_contain_text("還不能結束通話")
    desk.shot(page, "offline")
    assert _state(call) == Call.State.TALKING
    dialog.get_by_role("button", name="取消，回到通話").click()

    page.unroute("**/calls/**", away)
    expect(banner).to_be_hidden()
    expect(page.locator("#saved")).to_have_text(test_browser.SAVED_AT, timeout=8_000)
    call.refresh_from_db()
    assert call.note_what == "想改約私人課" and call.state == Call.State.TALKING
    assert _drafts(page) == []


# A real restart: `callsop serve` in a process of its own, on the test's database.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Served:
    """`callsop serve` on a port of its own, to be stopped and started again."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CALLSOP_DATA_DIR": str(data_dir),
            "CALLSOP_SECRET_KEY": "callsop-test-only-key-not-for-any-real-desk",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "callsop", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert self.process.poll() is None, "callsop serve stopped while starting"
            time.sleep(0.1)
        raise AssertionError("callsop serve did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def served(transactional_db: None, tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "data")
    server.start()
    yield server
    server.stop()


@pytest.mark.browser
def test_drafts_outlive_a_server_restart(
    served: Served, browser: Any, world: World, request: pytest.FixtureRequest
) -> None:
    call = _answered(world)
    # The served desk has the real settings: the password hashed as they check it.
    user = world.alice.user
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "callsoptest", iterations=1000)
    user.save(update_fields=["password"])
    helper = Desk(browser, served.url, request.node.name)
    try:
        page = _open_call(helper, world, call)
        served.stop()
        _typed_everywhere(page)
        expect(page.locator("#offline-banner")).to_be_visible()
        helper.shot(page, "server-stopped")
        call.refresh_from_db()
        assert call.note_what == ""

        served.start()
        expect(page.locator("#offline-banner")).to_be_hidden(timeout=8_000)
        page.reload()
        _still_typed(page)

        def saved() -> bool:
            call.refresh_from_db()
            return call.note_what == "想改約私人課"

        test_browser._wait_for(saved, what="the note kept through the restart to be saved")
        assert re.search(r":memo:message$", "\n".join(_drafts(page)), re.M)
    finally:
        helper.close()
