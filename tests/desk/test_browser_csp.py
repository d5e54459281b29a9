"""The desk's own pages meet its Content-Security-Policy: in a real browser,
no page and no htmx swap reports a violation."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from callsop.desk.models import Staff
from callsop.desk.services import calls as svc
from tests.desk import test_browser
from tests.desk.conftest import PASSWORD, World

# The browser fixtures of test_browser.py, shared as they are.
browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk
pytestmark = test_browser.pytestmark

# Recorded before any of the page's own scripts run, whatever the policy.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


def _open(desk: Desk, staff: Staff, console: list[str]) -> Page:
    context = desk.browser.new_context(
        base_url=desk.base_url, locale="zh-TW", timezone_id="Asia/Taipei"
    )
    context.set_default_timeout(5_000)
    context.add_init_script(LISTEN)
    page = context.new_page()
    desk.contexts.append((staff.user.username, context, page))
    page.on("console", lambda m: console.append(m.text))
    page.goto("/login/")
    _clean(page, console, "/login/")
    page.fill("input[name=username]", staff.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登入").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


def _clean(page: Page, console: list[str], where: str) -> None:
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__violations")
    blocked = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert violations == [] and blocked == [], f"{where}: {violations} {blocked}"


def test_the_clerks_pages_meet_the_policy(desk: Desk, world: World) -> None:
    console: list[str] = []
    page = _open(desk, world.alice, console)
    ringing = svc.call_ring(club=world.xinyi, phone="0912345678")
    for path in ("/desk/", "/inbox/", "/calls/", "/knowledge/", "/policy/"):
        page.goto(path)
        _clean(page, console, path)
    desk.shot(page, "policy")
    # The call screen: htmx answers, swaps the panel, saves as the clerk types.
    page.goto(f"/calls/{ringing.pk}/")
    page.get_by_role("button", name="接聽").first.click()
    expect(page.locator("#call-panel")).to_contain_text("通話中")
    page.locator("form#details input[name=caller_name]").fill("林小姐")
    expect(page.locator("#saved")).to_contain_text("已儲存")
    _clean(page, console, "the call screen")
    desk.shot(page, "call")
    # A refusal shown beside its button is no violation either.
    page.locator("form#details input[name=caller_phone]").fill("0" * 31)
    expect(page.locator("#saved")).to_contain_text("尚未儲存")
    expect(page.locator("#saved")).to_contain_text("電話")  # the refusal names its field
    _clean(page, console, "a refused save")
    # The policy is enforced, and the listening above would hear a breach.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.__ran") is None
    assert page.evaluate("window.__violations")[0].startswith("script-src")


def test_the_managers_pages_meet_the_policy(desk: Desk, world: World) -> None:
    call = svc.call_ring(club=world.xinyi, phone="0912345678")
    svc.call_answer(call=call, clerk=world.alice)
    svc.call_end(call=call, by="customer")
    console: list[str] = []
    page = _open(desk, world.bob, console)
    for path in ("/dashboard/", f"/calls/{call.pk}/", "/knowledge/new/", "/calls/?days=²"):
        page.goto(path)
        _clean(page, console, path)
        desk.shot(page, path.strip("/").split("/")[0].split("?")[0] or "home")
