"""The scorecard in a real browser: failures first, then passes, and the rules
that did not apply folded under one line that says how many and why. The two
desk flows of §2.3, a visitor at the counter and a wrong number, fail no rule
for doing what the SOP asks."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from callsop.desk.models import Call, Scorecard
from callsop.desk.services import calls as svc
from tests.desk import test_browser
from tests.desk.conftest import World

pytestmark = pytest.mark.browser

# The browser fixtures of test_browser.py, shared as they are.
browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk

VERDICT_ORDER = {"v-fail": 0, "v-pass": 1}


def _row_classes(page: Page, table: str) -> list[str]:
    rows = page.locator(f"{table} tbody tr")
    return [
        next(c for c in (rows.nth(i).get_attribute("class") or "").split() if c.startswith("v-"))
        for i in range(rows.count())
    ]


def _ended_by_a_visitor(world: World) -> Call:
    now = timezone.now()
    call = svc.call_ring(club=world.xinyi, phone="0912-345-678", now=now - timedelta(seconds=60))
    svc.call_answer(call=call, clerk=world.alice, now=now - timedelta(seconds=55))
    svc.call_details_save(call=call, data={"caller_name": "王大明"})
    svc.call_visitor_arrived(call=call, clerk=world.alice, now=now - timedelta(seconds=30))
    call.refresh_from_db()
    return call


def test_the_scorecard_puts_failures_first_and_folds_what_did_not_apply(
    desk: Desk, world: World
) -> None:
    call = _ended_by_a_visitor(world)
    findings = Scorecard.objects.get(call=call).findings
    verdicts = {f["rule"]: f["verdict"] for f in findings}
    assert verdicts["close.customer-hangs-up-first"] == "na"
    assert verdicts["note.five-w-one-h"] == "fail"  # nothing noted before the visitor came
    na_count = sum(1 for v in verdicts.values() if v == "na")
    outbound_only = sum(1 for f in findings if f["message"] == "inbound call")

    page = desk.login(world.bob)
    page.goto(f"/calls/{call.pk}/")
    expect(page.locator("#findings")).to_be_visible()

    judged = _row_classes(page, "#findings-area > table.findings")
    assert judged == sorted(judged, key=VERDICT_ORDER.__getitem__)
    assert judged.count("v-fail") == sum(1 for v in verdicts.values() if v == "fail")
    assert judged.count("v-pass") == sum(1 for v in verdicts.values() if v == "pass")
    expect(page.locator("#findings-area > table.findings tr.v-fail").first).to_have_attribute(
        "data-rule", "note.five-w-one-h"
    )

    folded = page.locator("details#na-rows")
    expect(folded).not_to_have_attribute("open", re.compile(".*"))
    summary = folded.locator("summary")
    expect(summary).to_contain_text(f"不適用 {na_count} 項")
    # The commonest reason first, the rarest summed up as one.
    expect(summary).to_contain_text(f"只看撥出電話（{outbound_only} 項）")
    expect(summary).to_contain_text(re.compile(r"、其他原因（\d+ 項）$"))
    hang_up = folded.locator('tr[data-rule="close.customer-hangs-up-first"]')
    expect(hang_up).to_be_hidden()
    desk.shot(page, "folded")

    summary.click()
    expect(hang_up).to_be_visible()
    expect(hang_up).to_contain_text("館員為接待訪客結束通話，並已排定回電（§2.3(8)）")
    assert _row_classes(page, "details#na-rows table") == ["v-na"] * na_count
    # Rows of one reason sit together, the commonest reason's first.
    commonest, n = Counter(f["message"] for f in findings if f["verdict"] == "na").most_common(1)[0]
    rows = folded.locator("tbody tr")
    first_rules = {rows.nth(i).get_attribute("data-rule") for i in range(n)}
    assert first_rules == {f["rule"] for f in findings if f["message"] == commonest}
    desk.shot(page, "unfolded")


def test_a_wrong_number_ended_on_the_desk_fails_no_rule(desk: Desk, world: World) -> None:
    now = timezone.now()
    call = svc.call_ring(club=world.xinyi, phone="0922-000-111", now=now - timedelta(seconds=30))
    svc.call_answer(call=call, clerk=world.alice, now=now - timedelta(seconds=26))

    page = desk.login(world.alice)
    page.goto(f"/calls/{call.pk}/")
    expect(page.locator("#call-panel .state")).to_have_text("通話中")
    box = page.locator("#call-panel details.action").filter(
        has=page.locator("summary", has_text=re.compile(r"^打錯電話$"))
    )
    box.locator("summary").click()
    box.get_by_role("button", name="記為打錯電話並結束").click()
    expect(page.locator("#findings")).to_be_visible()

    expect(page.locator("#findings-area > table.findings tr.v-fail")).to_have_count(0)
    expect(page.locator("#findings-area > table.findings tr.v-pass").first).to_be_visible()
    note = page.locator('details#na-rows tr[data-rule="note.five-w-one-h"]')
    expect(note).to_be_hidden()
    page.locator("details#na-rows summary").click()
    expect(note).to_contain_text("打錯電話：沒有需要記錄的事（§2.3(4)）")
    desk.shot(page, "wrong-number")

    call.refresh_from_db()
    assert call.outcome == Call.Outcome.WRONG_NUMBER
    findings = Scorecard.objects.get(call=call).findings
    assert [f["rule"] for f in findings if f["verdict"] == "fail"] == []
