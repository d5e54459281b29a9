"""Nothing due is missed: the desk announces what rings and what falls due,
without a reload, and lists the coming days' tasks.

Chromium, driven by Playwright, against the live server, as in
test_browser.py. No test waits for the clock: a task is brought to its time
by moving its due field, which is what the desk polls."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from callsop.desk import push
from callsop.desk.models import Call, ClubLine, Staff, Task
from callsop.desk.services import calls as svc
from callsop.desk.services import outbound as out
from callsop.desk.services.tasks import WEEKDAYS_ZH
from callsop.desk.services.telephony import pbx_event_store, pbx_events_apply
from callsop.telephony.dialogs import CallEvent as PbxCallEvent
from tests.desk.conftest import World
from tests.desk.test_browser import Desk, _wait_for, browser, desk

__all__ = ["browser", "desk"]  # the fixtures, shared with test_browser.py

pytestmark = pytest.mark.browser

TAIPEI = ZoneInfo("Asia/Taipei")
LINE = "0227001234"
# Counts requests for the notification permission, and lets them through.
COUNT_ASKS = """
window.__asked = 0;
if ("Notification" in window) {
  const ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = function () { window.__asked += 1; return ask(); };
}
"""
PLAN = {
    "plan_purpose": "通知私人課改期",
    "plan_name": "王大明",
    "plan_name_verified": "on",
    "caller_phone": "0912-345-678",
    "plan_number_verified": "on",
    "plan_salutation": "王先生",
    "plan_outline": "週六的課改到週日",
    "plan_time_budget_min": "3",
    "plan_material": "本週課表",
    "plan_hard_reply": "可改約其他教練",
}


def _due_card(page: Page) -> Any:
    return page.locator("#due")


def _alerts(page: Page, kind: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = page.evaluate("window.callsopAlerts")
    return [e for e in entries if e["kind"] == kind]


def _alerts_on(desk: Desk, staff: Staff) -> Page:
    """The desk, with notifications allowed and the clerk's one press made."""
    page = desk.login(staff)
    page.context.grant_permissions(["notifications"])
    page.goto("/desk/")
    page.locator("[data-alerts-enable]").click()
    expect(page.locator("[data-alerts-state]")).to_contain_text("提醒已開啟")
    return page


def _unanswered(world: World, clerk: Staff, *, plan: dict[str, str] | None = None) -> Task:
    call = out.outbound_plan(club=world.xinyi, clerk=clerk, data=plan or PLAN)
    call = out.outbound_dial(call=call)
    return out.outbound_no_answer(call=call)


def _reached(world: World, *, next_contact_at: datetime) -> Task:
    call = out.outbound_plan(club=world.xinyi, clerk=world.alice, data=PLAN)
    call = out.outbound_answered(call=out.outbound_dial(call=call))
    return out.outbound_finish(call=call, next_contact_at=next_contact_at, by="customer")


def _pbx(call_id: str, kind: str, at: float, caller: str = "0912345678", line: str = LINE) -> None:
    """One event of a call, as the PBX reports it, stored and applied."""
    event = PbxCallEvent(call_id=call_id, kind=kind, at=at, caller=caller, callee=line)  # type: ignore[arg-type]
    pbx_event_store(source="hep", event=event)
    pbx_events_apply()


# 1 -------------------------------------------------------------------------
def test_a_retry_is_announced_when_its_window_opens(desk: Desk, world: World) -> None:
    page = _alerts_on(desk, world.alice)
    page.evaluate("window.__sameDocument = true")
    card = _due_card(page)
    expect(card.locator('[data-count="due"]')).to_have_text("0")

    task = _unanswered(world, world.alice)
    row = card.locator("li.task", has_text="王大明")
    expect(row).to_contain_text("重撥")
    expect(row).to_contain_text(re.compile(r"\d\d:\d\d–\d\d:\d\d 之間重撥"))
    expect(row.locator("[data-countdown]")).to_have_text(re.compile(r"^[23] 分 \d+ 秒後開始$"))
    expect(card.locator("h4.due-day").first).to_contain_text("今天")
    expect(card.locator('[data-count="due"]')).to_have_text("0")
    assert _alerts(page, "task") == []
    desk.shot(page, "retry-waiting")

    # The SOP's window is 3-5 minutes after the unanswered call; its due time
    # is the middle. Moved so that the window opens two seconds from now.
    Task.objects.filter(pk=task.pk).update(due=timezone.now() + timedelta(seconds=62))
    push.publish(task.club_id, "due")  # as a service that moves a task does
    alert = page.locator("[data-due-alert]")
    expect(alert).to_have_text("重撥時間到：王大明 0912-345-678", timeout=10_000)
    expect(card.locator('[data-count="due"]')).to_have_text("1")
    now_row = card.locator("ul.due-now li.task", has_text="王大明")
    expect(now_row.locator("[data-countdown]")).to_have_text(re.compile(r"^已到期 \d+ 秒$"))
    expect(now_row.get_by_role("button", name="撥打")).to_be_visible()
    announced = _alerts(page, "task")
    assert [(a["title"], a["body"], a["notified"]) for a in announced] == [
        ("重撥時間到", "王大明 0912-345-678", True)
    ]
    assert page.evaluate("window.__sameDocument") is True  # no reload
    desk.shot(page, "retry-due")

    # Announced once: the card refreshes every few seconds, and a reload
    # of the page announces nothing again.
    page.wait_for_timeout(3_500)
    assert len(_alerts(page, "task")) == 1
    page.reload()
    expect(_due_card(page).locator('[data-count="due"]')).to_have_text("1")
    page.wait_for_timeout(1_500)
    assert _alerts(page, "task") == []


def test_a_retry_is_announced_away_from_the_desk(desk: Desk, world: World) -> None:
    page = _alerts_on(desk, world.alice)
    task = _unanswered(world, world.alice)
    page.goto(f"/calls/{task.call_id}/")  # the unanswered call's scorecard
    expect(page.locator("#findings")).to_be_visible()
    page.locator("h1").first.click()  # any press lets the sound play
    alert = page.locator("p.due-alert.floating")
    expect(alert).to_be_hidden()
    page.wait_for_timeout(1_500)
    assert _alerts(page, "task") == []

    Task.objects.filter(pk=task.pk).update(due=timezone.now() + timedelta(seconds=61))
    push.publish(task.club_id, "due")  # as a service that moves a task does
    expect(alert).to_have_text("重撥時間到：王大明 0912-345-678", timeout=12_000)
    assert [(a["sound"], a["notified"]) for a in _alerts(page, "task")] == [(True, True)]
    desk.shot(page, "announced-on-the-call-screen")
    alert.click()
    page.wait_for_url(re.compile(r"/desk/$"))
    expect(_due_card(page).locator("ul.due-now li.task")).to_contain_text("王大明")


# 2 -------------------------------------------------------------------------
def test_notifications_are_asked_for_with_a_button_not_on_load(desk: Desk, world: World) -> None:
    page = desk.login(world.alice)
    page.context.add_init_script(COUNT_ASKS)
    page.goto("/desk/")
    button = page.locator("[data-alerts-enable]")
    expect(button).to_have_text("開啟來電與待辦提醒（聲音與通知）")
    page.wait_for_timeout(1_200)
    assert page.evaluate("[window.__asked, Notification.permission]") == [0, "default"]
    desk.shot(page, "asks")

    button.click()
    expect(page.locator("[data-alerts-state]")).to_have_text(
        "瀏覽器已封鎖通知：來電與到期任務只會響鈴並顯示在畫面上。"
    )
    assert page.evaluate("[window.__asked, Notification.permission]") == [1, "denied"]
    desk.shot(page, "denied")

    # Allowed in the browser's settings: the desk says so, and asks nothing.
    page.context.clear_permissions()
    page.context.grant_permissions(["notifications"])
    page.reload()
    expect(page.locator("[data-alerts-state]")).to_have_text(
        "通知已開啟；按一下頁面即可啟用提醒音效。"
    )
    expect(button).to_have_text("開啟提醒音效")
    button.click()
    expect(page.locator("[data-alerts-state]")).to_have_text(
        "提醒已開啟：來電與到期任務會響鈴並跳出通知。"
    )
    expect(button).to_be_hidden()
    assert page.evaluate("window.__asked") == 0
    assert page.locator("[data-alerts-setup]").get_attribute("data-sound") == "on"

    call = svc.call_ring(club=world.xinyi, phone="0955-111-222")
    expect(page.locator("#ringing")).to_contain_text("0955-111-222")
    _wait_for(lambda: bool(_alerts(page, "call")), what="the ringing call to be announced")
    assert _alerts(page, "call") == [
        {"kind": "call", "title": "來電", "body": "0955-111-222", "sound": True, "notified": True}
    ]
    desk.shot(page, "rang")

    # Another club's call rings nowhere here.
    svc.call_ring(club=world.banqiao, phone="0977-000-111")
    page.wait_for_timeout(2_000)
    assert len(_alerts(page, "call")) == 1
    assert Call.objects.get(pk=call.pk).state == Call.State.RINGING


# 3 -------------------------------------------------------------------------
def test_the_coming_days_are_listed_by_the_club_day(desk: Desk, world: World) -> None:
    today = timezone.now().astimezone(TAIPEI).date()
    midnight = datetime.combine(today + timedelta(days=3), datetime.min.time(), TAIPEI)
    in_three_days = midnight + timedelta(hours=14)
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), TAIPEI)
    follow_up = _reached(world, next_contact_at=in_three_days)
    Task.objects.create(
        club=world.xinyi,
        kind=Task.Kind.CALLBACK,
        due=tomorrow + timedelta(hours=9, minutes=30),
        phone="0933-222-111",
        name="林美玲",
        created_at=timezone.now(),
    )
    Task.objects.create(  # dora's own: not on alice's desk
        club=world.xinyi,
        kind=Task.Kind.CALLBACK,
        due=tomorrow + timedelta(hours=10),
        phone="0944-000-000",
        name="張先生",
        assignee=world.dora,
        created_at=timezone.now(),
    )
    Task.objects.create(  # another club's
        club=world.banqiao,
        kind=Task.Kind.CALLBACK,
        due=tomorrow + timedelta(hours=11),
        phone="0966-000-000",
        name="板橋的客人",
        created_at=timezone.now(),
    )

    page = desk.login(world.alice)
    card = _due_card(page)
    days = card.locator("h4.due-day")
    third = today + timedelta(days=3)
    expect(days).to_have_count(2)
    expect(days.nth(0)).to_contain_text("明天")
    expect(days.nth(1)).to_contain_text(f"{third:%m/%d}（{WEEKDAYS_ZH[third.weekday()]}）")
    lists = card.locator("ul.due-ahead")
    expect(lists.nth(0).locator("li.task")).to_have_count(1)
    expect(lists.nth(0)).to_contain_text("回電 林美玲 0933-222-111")
    expect(lists.nth(1)).to_contain_text("後續聯絡 王大明 0912-345-678")
    expect(lists.nth(1)).to_contain_text(f"{in_three_days:%m/%d} 14:00 到期")
    expect(lists.nth(1).locator("[data-countdown]")).to_have_text(
        re.compile(r"^[23] 天 \d+ 小時後開始$")
    )
    expect(card).not_to_contain_text("張先生")
    expect(card).not_to_contain_text("板橋的客人")
    expect(card.locator('[data-count="due"]')).to_have_text("0")
    desk.shot(page, "coming-days")

    # The manager sees every task of the club, dora's too.
    manager = desk.login(world.bob)
    expect(_due_card(manager)).to_contain_text("張先生")
    expect(_due_card(manager)).not_to_contain_text("板橋的客人")
    assert follow_up.due == in_three_days


# 4 -------------------------------------------------------------------------
def test_a_task_is_dialled_early_with_its_plan(desk: Desk, world: World) -> None:
    task = _reached(world, next_contact_at=timezone.now() + timedelta(days=2))
    earlier = task.call
    assert earlier is not None

    # Another club's clerk cannot dial it, nor close it.
    charlie = world.client(world.charlie)
    assert charlie.post(f"/tasks/{task.pk}/dial/", HTTP_HX_REQUEST="true").status_code == 404
    assert charlie.post(f"/tasks/{task.pk}/done/", HTTP_HX_REQUEST="true").status_code == 404
    task.refresh_from_db()
    assert task.done_at is None

    page = desk.login(world.alice)
    row = _due_card(page).locator("ul.due-ahead li.task", has_text="王大明")
    expect(row.locator("[data-countdown]")).to_have_text(re.compile(r"^1 天 2[23] 小時後開始$"))
    row.get_by_role("button", name="提前撥打").click()
    page.wait_for_url(re.compile(r"/calls/\d+/$"))
    redial = Call.objects.exclude(pk=earlier.pk).get()
    assert redial.state == Call.State.PLANNING and redial.redial_of_id == earlier.pk
    assert (redial.plan_purpose, redial.plan_name, redial.caller_phone) == (
        "通知私人課改期",
        "王大明",
        "0912-345-678",
    )
    plan = page.locator("form#details")
    expect(plan.locator("input[name=plan_purpose]")).to_have_value("通知私人課改期")
    expect(plan.locator("input[name=plan_hard_reply]")).to_have_value("可改約其他教練")
    task.refresh_from_db()
    assert task.done_at is not None and task.done_call_id == redial.pk
    desk.shot(page, "dialled-early")

    page.goto("/desk/")
    expect(_due_card(page)).to_contain_text("沒有排定的任務")


# 5 -------------------------------------------------------------------------
def test_a_missed_call_leaves_one_callback_task(desk: Desk, world: World) -> None:
    ClubLine.objects.create(club=world.xinyi, number="227001234", kind="main")
    ClubLine.objects.create(club=world.banqiao, number="229998888", kind="main")
    now = timezone.now()
    known = svc.call_ring(club=world.xinyi, phone="0912-345-678", now=now - timedelta(days=3))
    svc.call_answer(call=known, clerk=world.alice, now=now - timedelta(days=3, seconds=-5))
    svc.call_details_save(call=known, data={"caller_name": "林美玲"})
    svc.call_end(by="customer", call=known, now=now - timedelta(days=3, seconds=-60))

    page = _alerts_on(desk, world.alice)
    card = _due_card(page)
    s = now.timestamp()
    _pbx("m1@pbx", "ringing", s - 40)
    _pbx("m1@pbx", "cancelled", s - 30)  # the caller hung up before the answer
    task = Task.objects.get()
    assert (task.kind, task.phone, task.name, task.assignee) == (
        Task.Kind.CALLBACK,
        "0912345678",
        "林美玲",
        None,
    )
    assert task.call is not None and task.call.outcome == Call.Outcome.MISSED
    expect(page.locator("[data-due-alert]")).to_have_text(
        "回電時間到：林美玲 0912345678", timeout=10_000
    )
    row = card.locator("ul.due-now li.task")
    expect(row).to_contain_text("回電 林美玲 0912345678")
    expect(row).to_contain_text("未接來電")

    # They ring twice more: the PBX's failed ring, then the desk's own 未接.
    _pbx("m2@pbx", "ringing", s - 20)
    _pbx("m2@pbx", "failed", s - 15)
    rung = svc.call_ring(club=world.xinyi, phone="+886 912 345 678")
    svc.call_end(call=rung, by="customer")
    assert Task.objects.count() == 1
    task.refresh_from_db()
    assert task.note.startswith("未接來電 3 次")
    expect(row).to_contain_text("未接來電 3 次")
    expect(card.locator("ul.due-now li.task")).to_have_count(1)
    page.wait_for_timeout(3_500)
    assert len(_alerts(page, "task")) == 1  # one callback, announced once

    # An unknown number cannot be called back; another club's stays there.
    svc.call_end(call=svc.call_ring(club=world.xinyi, phone=""), by="customer")
    _pbx("b1@pbx", "ringing", s - 10, caller="0988777666", line="0229998888")
    _pbx("b1@pbx", "cancelled", s - 5, caller="0988777666", line="0229998888")
    assert list(Task.objects.values_list("club__code", flat=True).order_by("club__code")) == [
        "banqiao",
        "xinyi",
    ]
    page.wait_for_timeout(3_500)
    expect(card.locator("li.task")).to_have_count(1)
    expect(card).not_to_contain_text("0988777666")
    desk.shot(page, "missed-callback")

    row.get_by_role("button", name="撥打").click()
    page.wait_for_url(re.compile(r"/calls/\d+/$"))
    plan = page.locator("form#details")
    expect(plan.locator("input[name=caller_phone]")).to_have_value("0912345678")
    expect(plan.locator("input[name=plan_name]")).to_have_value("林美玲")
    task.refresh_from_db()
    assert task.done_at is not None


# The endpoint the desk polls -------------------------------------------------
def test_the_polled_card_costs_the_same_few_queries_however_many_tasks(
    world: World, django_assert_max_num_queries: Any
) -> None:
    client = world.client(world.alice)
    client.get("/desk/due/")  # the session is read once
    now = timezone.now()
    for n in range(60):
        kind = (Task.Kind.RETRY, Task.Kind.CALLBACK, Task.Kind.FOLLOW_UP)[n % 3]
        Task.objects.create(
            club=world.xinyi,
            kind=kind,
            due=now + timedelta(hours=n * 5 - 20),
            phone=f"0912-000-{n:03d}",
            name=f"客人{n}",
            created_at=now,
        )
    with django_assert_max_num_queries(6):
        body = client.get("/desk/due/", HTTP_HX_REQUEST="true").content.decode()
    assert body.count('class="task') == 60
    assert client.get("/desk/due/").status_code == 200
    assert world.client(world.hq).get("/desk/due/").status_code == 204
