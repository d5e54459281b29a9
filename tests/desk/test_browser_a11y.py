"""Every desk page meets WCAG 2.1 A and AA, as axe-core checks it in Chromium.

The pages a clerk and a manager reach are opened in each state they show
(the call screen ringing, talking, on hold, in planning, ended, with the
end-of-call question open), at the desk's width and at a tablet's, with
every folded form unfolded so its fields are checked too. axe-core comes
from npm, pinned in package-lock.json (`npm ci` puts it in node_modules/).
Each violation is printed with the rule, its help text and the elements it
found, so the failure names what to fix.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, ViewportSize, expect

from callsop.desk.models import Call, Club, KnowledgeItem, Task
from callsop.desk.services import calls as svc
from callsop.desk.services import outbound as out
from callsop.desk.services.inbox import knowledge_save
from tests.desk.conftest import World
from tests.desk.test_browser import Desk, browser, desk
from tests.desk.test_browser_due import PLAN

__all__ = ["browser", "desk"]  # the fixtures, shared with test_browser.py

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS: dict[str, ViewportSize] = {
    "desk": {"width": 1280, "height": 900},
    "tablet": {"width": 820, "height": 1180},
}
RUN_AXE = "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
# Folded forms (details) are opened so that their fields are checked as well.
UNFOLD = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"
HALF_PLAN = {k: PLAN[k] for k in ("plan_purpose", "plan_name")}  # gaps listed


def with_axe(page: Page) -> Page:
    """Loads axe-core into every page the tab opens from now on.

    An init script, not a script tag: the desk's Content-Security-Policy
    (script-src 'self') refuses inline scripts, and the check must not loosen it.
    """
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci --no-audit --no-fund` (make unit does)"
    page.add_init_script(path=str(AXE))
    return page


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now."""
    assert page.evaluate("() => typeof window.axe === 'object'"), "axe-core is not loaded"
    result: dict[str, Any] = page.evaluate(RUN_AXE, WCAG)
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violation: dict[str, Any]) -> str:
    """One line: the rule, its help, and the first elements with why each fails."""

    def node(found: dict[str, Any]) -> str:
        # The summary opens with "Fix any (or all) of the following:".
        why = " ".join(found.get("failureSummary", "").split()[4:])
        return " ".join(map(str, found["target"])) + f" ({why[:160]})"

    nodes = "; ".join(node(found) for found in violation["nodes"][:6])
    more = len(violation["nodes"]) - 6
    return f"{violation['id']} [{violation['impact']}]: {violation['help']} -> {nodes}" + (
        f" … and {more} more" if more > 0 else ""
    )


@dataclass
class Audit:
    """Runs axe-core on each page a test opens and keeps what it found, page by page."""

    desk: Desk
    width: str
    found: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def open(self, page: Page, url: str, *, status: int = 200) -> None:
        page.set_viewport_size(WIDTHS[self.width])
        response = page.goto(url)
        assert response is not None and response.status == status, (url, response)

    def check(self, page: Page, label: str, *, unfold: bool = True) -> None:
        page.set_viewport_size(WIDTHS[self.width])
        page.wait_for_load_state()
        if unfold:
            page.evaluate(UNFOLD)
        name = f"{label} @{self.width}"
        self.checked.append(name)
        self.found.extend(f"{name} {page.url}: {describe(v)}" for v in axe_violations(page))
        with contextlib.suppress(PlaywrightError):  # a screenshot is a courtesy, not the check
            self.desk.shot(page, label)

    def assert_clean(self) -> None:
        assert self.checked
        assert not self.found, f"{len(self.found)} WCAG violations:\n" + "\n".join(self.found)


def _answered(world: World, phone: str, *, ago_s: float, after_s: float) -> Call:
    now = timezone.now()
    call = svc.call_ring(club=world.xinyi, phone=phone, now=now - timedelta(seconds=ago_s))
    return svc.call_answer(
        call=call, clerk=world.alice, now=now - timedelta(seconds=ago_s - after_s)
    )


def _ended_late(world: World, phone: str) -> Call:
    """A call answered after 20 s (answer-promptly fails), ended ten seconds ago."""
    call = _answered(world, phone, ago_s=90, after_s=20)
    return svc.call_end(by="customer", call=call, now=timezone.now() - timedelta(seconds=10))


def _inbox_items(world: World) -> Call:
    """A memo for alice and bob, a task due and one later, a complaint and an escalation."""
    call = _ended_late(world, "0912-345-678")
    for for_staff in (world.alice, world.bob):
        svc.memo_take(
            call=call,
            taken_by=world.dora,
            for_staff=for_staff,
            from_name="王大明",
            from_org="大安公司",
            phone="0912-345-678",
            message="想改約週六的私人課，請回電",
            urgent=for_staff == world.bob,
        )
    svc.complaint_log(call=call, clerk=world.alice, summary="教練遲到二十分鐘")
    svc.call_escalate(call=call, reason="會員要求退費，請館長處理")
    for due in (timedelta(minutes=-5), timedelta(days=1)):
        retry = out.outbound_no_answer(
            call=out.outbound_dial(
                call=out.outbound_plan(club=world.xinyi, clerk=world.alice, data=PLAN)
            )
        )
        Task.objects.filter(pk=retry.pk).update(due=timezone.now() + due)
    for kind, title in (("news", "十二月課表"), ("product", "年費方案")):
        knowledge_save(staff=world.bob, kind=kind, title=title, body="櫃檯可以這樣說明。")
    return call


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_login_page(desk: Desk, width: str) -> None:
    context = desk.browser.new_context(base_url=desk.base_url, locale="zh-TW")
    try:
        page = with_axe(context.new_page())
        audit = Audit(desk, width)
        audit.open(page, "/login/")
        audit.check(page, "login")
        page.fill("input[name=username]", "nobody")
        page.fill("input[name=password]", "wrong")
        page.get_by_role("button", name="登入").click()
        page.wait_for_load_state()
        audit.check(page, "login-refused")
        audit.assert_clean()
    finally:
        context.close()


def test_the_call_screen_in_each_state(desk: Desk, world: World, width: str) -> None:
    now = timezone.now()
    ringing = svc.call_ring(club=world.xinyi, phone="0912-345-678")
    ringing_long = svc.call_ring(
        club=world.xinyi, phone="0912-000-111", now=now - timedelta(seconds=20)
    )
    talking = _answered(world, "0922-111-222", ago_s=40, after_s=5)
    nearly = svc.call_hold(
        call=_answered(world, "0933-000-222", ago_s=80, after_s=5),
        now=now - timedelta(seconds=48),
    )
    held = svc.call_hold(
        call=_answered(world, "0933-000-111", ago_s=100, after_s=5),
        now=now - timedelta(seconds=70),
    )
    planning = out.outbound_plan(club=world.xinyi, clerk=world.alice, data=HALF_PLAN)
    dialled = out.outbound_dial(
        call=out.outbound_plan(club=world.xinyi, clerk=world.alice, data=PLAN)
    )
    ended = _ended_late(world, "0966-333-444")
    prompt = svc.call_end(
        by="customer",
        call=_answered(world, "0977-444-555", ago_s=120, after_s=4),
        now=now - timedelta(seconds=60),
    )

    page = with_axe(desk.login(world.alice))
    audit = Audit(desk, width)
    for label, call in (
        ("ringing", ringing),
        ("ringing-late", ringing_long),
        ("talking", talking),
        ("hold-nearly-over", nearly),
        ("hold-over", held),
        ("planning", planning),
        ("dialled", dialled),
        ("scorecard-failed", ended),
        ("scorecard-answered", prompt),
    ):
        audit.open(page, f"/calls/{call.pk}/")
        audit.check(page, label)
    expect(page.locator(".score-badge")).to_be_visible()

    # A refused action's message, beside its form.
    audit.open(page, f"/calls/{talking.pk}/")
    transfer = page.locator("#call-panel details.action").filter(has_text="說明後轉接")
    transfer.locator("summary").click()
    transfer.locator("select[name=to]").select_option(str(world.bob.pk))
    transfer.get_by_role("button", name="說明後轉接").click()
    expect(page.locator("#call-panel .error")).to_contain_text("轉接前請先簡要說明")
    audit.check(page, "transfer-refused", unfold=False)

    # The end-of-call question, open over the talking call.
    audit.open(page, f"/calls/{talking.pk}/")
    page.locator("#call-panel").get_by_role("button", name="結束通話").click()
    expect(page.locator("#call-panel dialog.end-confirm")).to_be_visible()
    audit.check(page, "end-confirm", unfold=False)
    audit.assert_clean()
    assert Call.objects.get(pk=talking.pk).state == Call.State.TALKING  # only asked


def test_a_clerks_pages(desk: Desk, world: World, width: str) -> None:
    page = with_axe(desk.login(world.alice))
    audit = Audit(desk, width)
    audit.open(page, "/desk/")
    audit.check(page, "desk-idle")

    call = _inbox_items(world)
    svc.call_ring(club=world.xinyi, phone="0988-555-666")
    audit.open(page, "/desk/")
    expect(page.locator("#ringing")).to_contain_text("0988-555-666")
    expect(page.locator("#due li.task").first).to_be_visible()
    audit.check(page, "desk-ringing-and-due")

    audit.open(page, "/inbox/")
    expect(page.locator("li.task").first).to_be_visible()
    audit.check(page, "inbox")
    audit.open(page, "/calls/")
    audit.check(page, "call-list")
    audit.open(page, "/calls/?phone=0912345678&rule=inbound.answer-promptly")
    expect(page.locator("table.calls tbody tr")).to_have_count(1)
    audit.check(page, "call-search")
    audit.open(page, "/calls/?start=0001-01-01", status=400)
    audit.check(page, "call-search-refused")
    audit.open(page, f"/calls/{call.pk}/")
    audit.check(page, "scorecard-with-memo")
    audit.open(page, "/knowledge/")
    audit.check(page, "knowledge")
    audit.open(page, "/knowledge/?q=課表&kind=news")
    audit.check(page, "knowledge-search")
    audit.open(page, "/dashboard/", status=403)
    audit.check(page, "refused")
    audit.open(page, "/calls/999999/", status=404)
    audit.check(page, "not-found")
    audit.assert_clean()


def _a_failed_job_and_a_worker(world: World) -> None:
    from django_tasks_db.models import DBTaskResult

    from callsop.desk.services.jobs import worker_beat
    from tests.desk.test_worker_tasks import fails

    job = fails.enqueue(club_id=world.xinyi.pk, times=0, path="/nonexistent")
    DBTaskResult.objects.filter(pk=job.id).update(
        status="FAILED", worker_ids=["a", "b", "c"], traceback="ValueError: the file is gone\n"
    )
    worker_beat("worker-one")


def test_a_managers_pages(desk: Desk, world: World, width: str) -> None:
    call = _inbox_items(world)
    page = with_axe(desk.login(world.bob))
    audit = Audit(desk, width)
    audit.open(page, "/desk/")
    audit.check(page, "desk")
    audit.open(page, "/inbox/")
    expect(page.locator("main")).to_contain_text("會員要求退費")
    audit.check(page, "inbox-escalation")
    audit.open(page, f"/calls/{call.pk}/")
    audit.check(page, "scorecard")
    audit.open(page, "/dashboard/")
    audit.check(page, "dashboard")
    _a_failed_job_and_a_worker(world)
    audit.open(page, "/jobs/")
    expect(page.locator("main")).to_contain_text("重試")
    audit.check(page, "jobs")
    audit.open(page, "/knowledge/")
    audit.check(page, "knowledge")
    audit.open(page, "/knowledge/new/")
    audit.check(page, "knowledge-new")
    item = KnowledgeItem.objects.get(title="年費方案")
    audit.open(page, f"/knowledge/{item.pk}/")
    audit.check(page, "knowledge-edit")
    audit.open(page, "/policy/")
    audit.check(page, "policy")
    Club.objects.filter(pk=world.xinyi.pk).update(policy_toml="[timing]\nmax_hold_s = 45\n")
    audit.open(page, "/policy/")
    audit.check(page, "policy-changed")
    audit.open(page, "/rules/inbound.answer-promptly/")
    audit.check(page, "rule")
    audit.assert_clean()


def test_violations_are_found(desk: Desk, world: World) -> None:
    """The check itself: a field with no label and grey-on-white text are reported."""
    page = with_axe(desk.login(world.alice))
    page.goto("/desk/")
    page.evaluate(
        """() => {
          const main = document.querySelector('main');
          main.insertAdjacentHTML('beforeend',
            '<select id="unlabelled"><option>一</option></select>' +
            '<p id="faint" style="color:#bbb;background:#fff">淡色字</p>');
        }"""
    )
    found = {v["id"]: describe(v) for v in axe_violations(page)}
    assert {"select-name", "color-contrast"} <= set(found), found
    assert "#unlabelled" in found["select-name"] and "#faint" in found["color-contrast"]
    assert re.search(r"select-name \[critical\]: Select element must have", found["select-name"])

    audit = Audit(desk, "desk")
    audit.check(page, "planted", unfold=False)
    with pytest.raises(AssertionError, match=r"planted @desk .*select-name .*#unlabelled"):
        audit.assert_clean()
