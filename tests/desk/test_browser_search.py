"""通話紀錄's search and the dashboard's rule bars.

In Chromium: a manager finds a call by typing its number in another
format, then narrows the list by clerk, failed rule and score band; the
dashboard shows a rule with data and no passes as 0 % with its empty bar
outlined, and a rule with no data as 無資料. Over HTTP: every bad parameter
is named in the page, and a search never reaches another club's calls.

The calls are real ones through the services: answered after 4 s (2 rings,
score 71.4, 5W1H note missing) or after 20 s (7 rings, answer-promptly
failed, score 28.6)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone
from playwright.sync_api import Page, expect

from callsop.desk import selectors
from callsop.desk.models import Call, Club, RuleDaily, Scorecard, Staff
from callsop.desk.services import calls as svc
from callsop.engine.history import normalise_phone
from tests.desk import test_browser
from tests.desk.conftest import World

# The browser fixtures of test_browser.py, shared as they are.
browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk

LATE = "inbound.answer-promptly"
NO_NOTE = "note.five-w-one-h"


def _call(club: Club, clerk: Staff, phone: str, *, answer_s: float, ago_min: float) -> Call:
    start = timezone.now() - timedelta(minutes=ago_min)
    call = svc.call_ring(club=club, phone=phone, now=start)
    call = svc.call_answer(call=call, clerk=clerk, now=start + timedelta(seconds=answer_s))
    return svc.call_end(by="customer", call=call, now=start + timedelta(seconds=60))


@dataclass
class Calls:
    prompt: Call  # alice, 0912-345-678, answered at once
    late: Call  # alice, 02-2345-6789, answered late
    doras: Call  # dora, +886 972 118 306, answered late
    banqiao: Call  # charlie at 板橋, the same number as `prompt`


@pytest.fixture
def calls(world: World) -> Calls:
    return Calls(
        prompt=_call(world.xinyi, world.alice, "0912-345-678", answer_s=4, ago_min=30),
        late=_call(world.xinyi, world.alice, "02-2345-6789", answer_s=20, ago_min=20),
        doras=_call(world.xinyi, world.dora, "+886 972 118 306", answer_s=20, ago_min=10),
        banqiao=_call(world.banqiao, world.charlie, "0912345678", answer_s=4, ago_min=5),
    )


def _band_of(call: Call) -> str:
    score = Scorecard.objects.get(call=call).score
    if score is None:
        return "none"
    return next(
        band
        for band, (low, high) in selectors.SCORE_BANDS.items()
        if (low is None or score >= low) and (high is None or score < high)
    )


def _listed(html: str) -> int:
    """How many calls a 通話紀錄 page lists."""
    return len(re.findall(r'<a href="/calls/\d+/">', html))


def _rows(page: Page) -> list[str]:
    return [row.inner_text() for row in page.locator("table.calls tbody tr").all()]


def _search(page: Page, shots: Path, label: str, **fields: str) -> list[str]:
    """Fills the search form afresh with `fields` and runs it."""
    page.goto("/calls/")
    for name, value in fields.items():
        box = page.locator(f"form.call-search [name={name}]")
        if box.evaluate("e => e.tagName") == "SELECT":
            box.select_option(value)
        else:
            box.fill(value)
    page.get_by_role("button", name="搜尋").click()
    page.wait_for_load_state()
    page.screenshot(path=str(shots / f"{label}.png"), full_page=True)
    return _rows(page)


# In the browser ---------------------------------------------------------------


@pytest.mark.browser
def test_a_manager_finds_a_call_by_number_clerk_and_verdict(
    desk: Desk, world: World, calls: Calls, tmp_path: Path
) -> None:
    page = desk.login(world.bob)
    page.get_by_role("link", name="通話紀錄").first.click()
    expect(page.locator("table.calls tbody tr")).to_have_count(3)  # 板橋's call is not listed

    found = _search(page, tmp_path, "by-number", phone="+886912345678")
    assert len(found) == 1 and "0912-345-678" in found[0] and "陳怡君" in found[0]
    expect(page.locator(".search-count")).to_have_text("共 1 通")
    page.locator("table.calls tbody a").click()
    expect(page).to_have_url(f"{desk.base_url}/calls/{calls.prompt.pk}/")

    found = _search(page, tmp_path, "dora-spaced", phone="0972 118306")
    assert len(found) == 1 and "張建國" in found[0]

    found = _search(page, tmp_path, "by-clerk", clerk=str(world.dora.pk))
    assert len(found) == 1 and "+886 972 118 306" in found[0]

    found = _search(page, tmp_path, "late-alice", clerk=str(world.alice.pk), rule=LATE)
    assert len(found) == 1 and "02-2345-6789" in found[0]

    found = _search(page, tmp_path, "late-anyone", rule=LATE)
    assert sorted("張建國" in row for row in found) == [False, True]

    # The band the prompt call's score falls in lists the xinyi calls of that band.
    band = _band_of(calls.prompt)
    found = _search(page, tmp_path, f"band-{band}", band=band)
    expected = {
        c.caller_phone for c in (calls.prompt, calls.late, calls.doras) if _band_of(c) == band
    }
    assert {phone for phone in expected if any(phone in row for row in found)} == expected
    assert len(found) == len(expected) and "0912-345-678" in expected

    found = _search(page, tmp_path, "nothing", phone="0999-000-111")
    assert found == ["沒有符合條件的通話。"]


@pytest.mark.browser
def test_a_bad_date_is_named_in_the_page(desk: Desk, world: World, calls: Calls) -> None:
    page = desk.login(world.alice)
    response = page.goto("/calls/?start=0001-01-01&days=%C2%B2")
    assert response is not None and response.status == 400
    errors = page.locator("p.error")
    expect(errors).to_have_count(1)  # 從/到 given: 期間 is not read
    expect(errors).to_contain_text("開始日期超出範圍：0001-01-01")
    expect(page.locator("table.calls")).to_have_count(0)


@pytest.mark.browser
def test_a_rule_never_passed_shows_zero_and_its_bar(
    desk: Desk, world: World, calls: Calls, tmp_path: Path
) -> None:
    # A rule rescored away from every call keeps its row at 0 / 0: no data.
    RuleDaily.objects.create(
        club=world.xinyi, day=timezone.localdate(), clerk=world.alice, rule="hold.max-duration"
    )
    page = desk.login(world.bob)
    page.goto("/dashboard/")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    rows = page.locator("table.rules tbody tr")

    never = rows.filter(has_text=NO_NOTE)
    expect(never.locator(".share")).to_have_text("0 %")
    bar = never.locator(".hbar")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("aria-valuenow", "0")
    assert "zero" in (bar.get_attribute("class") or "")
    outline = bar.evaluate("e => getComputedStyle(e).boxShadow")
    assert outline != "none", outline
    box = bar.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 5

    late = rows.filter(has_text=LATE)
    expect(late.locator(".share")).to_have_text("33.3 %")  # 1 of the 3 xinyi calls was prompt
    expect(late.locator(".hbar")).not_to_have_class("hbar zero")

    empty = rows.filter(has_text="hold.max-duration")
    expect(empty.locator(".share")).to_have_text("— 無資料")
    expect(empty.locator(".hbar")).to_have_count(0)
    # Worst first, and no data last.
    order = [row.locator("code").inner_text() for row in rows.all()]
    assert order[0] == NO_NOTE and order[-1] == "hold.max-duration"


# Over HTTP --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("days=%C2%B2", "期間不正確：²"),
        ("days=99999999999", "期間不正確：99999999999"),
        ("days=0", "期間不正確：0"),
        ("start=0001-01-01", "開始日期超出範圍：0001-01-01"),
        ("end=9999-12-31", "結束日期超出範圍：9999-12-31"),
        ("start=2026-13-01", "開始日期格式不正確：2026-13-01"),
        ("start=2026-11-30&end=2026-11-01", "開始日期不能晚於結束日期。"),
        ("phone=abc", "電話號碼裡沒有數字：abc"),
        ("phone=" + "1" * 31, "電話太長（最多 30 字）。"),
        ("clerk=%C2%B2", "找不到這位人員：²"),
        ("rule=no.such-rule", "沒有這條規範：no.such-rule"),
        ("band=excellent", "分數區間不正確：excellent"),
        ("club=1%C2%B2", "找不到這個會館：1²"),
    ],
)
def test_a_bad_parameter_is_named_and_nothing_is_listed(
    world: World, calls: Calls, query: str, message: str
) -> None:
    response = world.client(world.bob).get(f"/calls/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'class="data calls"' not in page and f'href="/calls/{calls.prompt.pk}/"' not in page


def test_a_bad_page_number_shows_the_first_page(world: World, calls: Calls) -> None:
    response = world.client(world.bob).get("/calls/?page=%C2%B2")
    assert response.status_code == 200 and "0912-345-678" in response.content.decode()


def test_another_clubs_clerk_is_not_a_filter(world: World, calls: Calls) -> None:
    page = world.client(world.bob).get(f"/calls/?clerk={world.charlie.pk}").content.decode()
    assert f"找不到這位人員：{world.charlie.pk}" in page


def test_a_search_stays_in_the_viewers_club(world: World, calls: Calls) -> None:
    charlie = world.client(world.charlie).get("/calls/?phone=0912-345-678").content.decode()
    assert "板橋會館" in charlie and "信義會館</td>" not in charlie
    assert _listed(charlie) == 1
    hq = world.client(world.hq).get("/calls/?phone=0912345678&days=all").content.decode()
    assert _listed(hq) == 2
    only = world.client(world.hq).get(f"/calls/?phone=0912345678&club={world.banqiao.pk}")
    assert _listed(only.content.decode()) == 1


def test_a_clerk_searches_the_whole_club(world: World, calls: Calls) -> None:
    page = world.client(world.alice).get("/calls/?phone=%2B886972118306").content.decode()
    assert "+886 972 118 306" in page and "張建國" in page


def test_dates_are_the_clubs_days(world: World, calls: Calls) -> None:
    today = timezone.localdate()
    client = world.client(world.bob)
    page = client.get(f"/calls/?start={today}&end={today}").content.decode()
    assert _listed(page) == 3
    yesterday = today - timedelta(days=1)
    page = client.get(f"/calls/?start={yesterday}&end={yesterday}").content.decode()
    assert "沒有符合條件的通話" not in page and "這段期間沒有通話。" in page


def test_the_score_band_and_failed_rule_follow_the_scorecards(world: World, calls: Calls) -> None:
    scores = dict(Scorecard.objects.values_list("call_id", "score"))
    club = [world.xinyi.pk]
    bad = selectors.call_search(club, selectors.CallQuery(band="bad"))
    assert {c.pk for c in bad} == {pk for pk, s in scores.items() if s is not None and s < 70} - {
        calls.banqiao.pk
    }
    failed = selectors.call_search(club, selectors.CallQuery(failed_rule=NO_NOTE))
    assert failed.count() == 3


def test_a_number_is_found_through_its_index(world: World, calls: Calls) -> None:
    """The phone search reads the phone_key index, never the whole table."""
    key = normalise_phone("0912-345-678")
    assert key is not None
    query = selectors.call_search([world.xinyi.pk], selectors.CallQuery(phone_key=key))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")  # a few rows: force the choice
        plan = query.explain()
    assert "phone_key" in plan, plan
    assert "SCAN desk_call" not in plan and "Seq Scan on desk_call" not in plan, plan
