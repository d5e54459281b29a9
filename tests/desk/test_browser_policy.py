"""The policy form in a real browser: the manager changes a number, a phrase
list (rows added and removed) and a rule's severity; a value out of bounds is
named beside its field and nothing is kept; the export imports back."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from callsop.desk.models import Club
from callsop.desk.services.policy import policy_of
from callsop.policy import policy_tables
from tests.desk import test_browser
from tests.desk.conftest import World

pytestmark = pytest.mark.browser

browser = test_browser.browser
desk = test_browser.desk
Desk = test_browser.Desk


def _club(world: World) -> Club:
    return Club.objects.get(pk=world.xinyi.pk)


def test_the_manager_edits_the_policy_as_a_form(desk: Desk, world: World, tmp_path: Path) -> None:
    page = desk.login(world.bob)
    page.goto("/policy/")
    desk.shot(page, "form-desk")

    # A value out of bounds: named beside its field, nothing kept, the rest as typed.
    page.fill('input[name="timing.max_hold_s"]', "45")
    page.fill('input[name="timing.ring_period_s"]', "1e-300")
    page.get_by_role("button", name="檢查並儲存").click()
    ring = page.locator('[data-key="timing.ring_period_s"]')
    expect(ring.locator(".field-error")).to_have_text("須介於 0.1 與 10 秒之間")
    expect(page.locator("#policy-errors")).to_contain_text("有 1 個欄位需要修正")
    expect(page.locator('input[name="timing.max_hold_s"]')).to_have_value("45")
    expect(page.locator('input[name="timing.ring_period_s"]')).to_have_value("1e-300")
    desk.shot(page, "refused")
    assert _club(world).policy_toml == ""

    # Put right; a phrase list edited row by row; a severity chosen.
    page.fill('input[name="timing.ring_period_s"]', "3")
    farewell = page.locator('details[data-key="phrases.farewell"]')
    farewell.locator("summary").click()
    rows = farewell.locator("ol.phrase-rows li")
    expect(rows).to_have_count(6)
    farewell.get_by_role("button", name="刪除「掰掰」").click()
    expect(rows).to_have_count(5)
    farewell.get_by_role("button", name="＋ 新增一句").click()
    page.keyboard.type("祝您愉快")
    expect(farewell.locator("summary .count")).to_have_text("6 句")
    page.select_option('select[name="severity.talk.speech-rate"]', "critical")
    page.get_by_role("button", name="檢查並儲存").click()
    expect(page.get_by_role("status")).to_contain_text("已儲存")

    policy = policy_of(_club(world))
    assert policy.timing.max_hold_s == 45
    assert policy.phrases["farewell"] == (
        "再見",
        "拜拜",
        "再會",
        "下次見",
        "歡迎您到會館來做客",
        "祝您愉快",
    )
    assert policy.severity["talk.speech-rate"] == "critical"
    expect(page.locator('input[name="timing.max_hold_s"]')).to_have_value("45")

    # Export, then import it back over a cleared policy: the same policy.
    before = policy_tables(policy)
    with page.expect_download() as download:
        page.get_by_role("link", name="匯出設定檔（.toml）").click()
    exported = tmp_path / "xinyi-policy.toml"
    download.value.save_as(exported)
    assert "祝您愉快" in exported.read_text("utf-8")
    Club.objects.filter(pk=world.xinyi.pk).update(policy_toml="")
    page.goto("/policy/")
    expect(page.locator('input[name="timing.max_hold_s"]')).to_have_value("60")
    page.locator("summary", has_text="匯入設定檔").click()
    page.set_input_files('input[name="policy_file"]', str(exported))
    page.get_by_role("button", name="匯入檔案").click()
    expect(page.get_by_role("status")).to_contain_text("已匯入")
    assert policy_tables(policy_of(_club(world))) == before

    # A bad paste names its line, and keeps nothing.
    page.locator("summary", has_text="匯入設定檔").click()
    page.fill('textarea[name="policy_toml"]', "[timing]\nring_period_s = nan\n")
    page.get_by_role("button", name="檢查並匯入").click()
    expect(page.locator("#import-error")).to_contain_text("timing.ring_period_s")
    assert policy_tables(policy_of(_club(world))) == before

    page.goto("/policy/")
    page.set_viewport_size({"width": 820, "height": 1180})
    desk.shot(page, "form-tablet")


def test_a_clerk_reads_the_policy_and_cannot_change_it(desk: Desk, world: World) -> None:
    page = desk.login(world.alice)
    page.goto("/policy/")
    expect(page.locator(".readonly-note")).to_contain_text("只有館長可以修改設定")
    expect(page.locator('input[name="timing.max_hold_s"]')).to_be_disabled()
    expect(page.get_by_role("button", name="檢查並儲存")).to_have_count(0)
    expect(page.get_by_role("link", name="匯出設定檔（.toml）")).to_be_visible()
    desk.shot(page, "clerk")
