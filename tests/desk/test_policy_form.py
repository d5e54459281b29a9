"""The policy page as a form: the manager edits numbers, phrase lists and
severities field by field; a wrong field is named beside itself and nothing
is kept; clerks read it; the TOML export imports back to the same policy."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from callsop.desk.models import Club, PolicyChange
from callsop.desk.policy_form import PolicyForm
from callsop.desk.services.policy import policy_of
from callsop.policy import policy_tables
from tests.desk.conftest import World


def _form_data(world: World, **changes: Any) -> dict[str, Any]:
    """Every field of the form as the page fills it in, with `changes` (keys with __ for .)."""
    values = PolicyForm.of(policy_of(world.xinyi)).values
    data = dict(values)
    for key, value in changes.items():
        data[key.replace("__", ".")] = value
    return data


def _post(client: Client, data: dict[str, Any]) -> Any:
    return client.post("/policy/", data)


def _club(world: World) -> Club:
    return Club.objects.get(pk=world.xinyi.pk)


def test_the_form_shows_each_number_with_unit_bounds_and_clause(world: World) -> None:
    page = world.client(world.bob).get("/policy/").content.decode()
    assert 'name="timing.max_hold_s" value="60"' in page
    field = page[page.index('data-key="timing.max_hold_s"') :][:1200]
    assert "秒" in field and "範圍 1–600" in field and "§4(6)" in field
    rings = page[page.index('data-key="timing.answer_within_rings"') :][:1200]
    assert "聲" in rings and "§2.2(2)" in rings
    assert 'name="severity.hold.max-duration"' in page
    assert 'name="phrases.greeting"' in page


def test_the_manager_changes_a_number_a_phrase_list_and_a_severity(world: World) -> None:
    data = _form_data(
        world,
        timing__max_hold_s="45",
        phrases__greeting="您好\n早安",
        **{"severity.talk.speech-rate": "critical"},
    )
    response = _post(world.client(world.bob), data)
    assert response.status_code == 303, response.content.decode()[:2000]
    policy = policy_of(_club(world))
    assert policy.timing.max_hold_s == 45
    assert policy.phrases["greeting"] == ("您好", "早安")
    assert policy.severity["talk.speech-rate"] == "critical"
    # Only what changed is kept: the rest still follows the default.
    stored = _club(world).policy_toml
    assert "max_hold_s = 45.0" in stored and "answer_within_rings" not in stored
    assert _club(world).policy_updated_at is not None


def test_every_change_keeps_who_and_when(world: World) -> None:
    manager = world.client(world.bob)
    page = manager.get("/policy/").content.decode()
    assert "尚無修改" in page
    _post(manager, _form_data(world, timing__max_hold_s="45"))
    _post(manager, _form_data(world, timing__max_hold_s="45"))  # nothing changed: no entry
    manager.post("/policy/", {"policy_toml": "[timing]\nmax_hold_s = 50\n"})
    changes = list(PolicyChange.objects.filter(club=world.xinyi))
    assert [c.by for c in changes] == [world.bob, world.bob]
    assert "max_hold_s = 50" in changes[0].after and "max_hold_s = 45" in changes[0].before
    assert changes[1].before == ""
    page = world.client(world.alice).get("/policy/").content.decode()
    history = page[page.index("修改紀錄") :][:3000]
    assert history.count(world.bob.name) == 2 and "max_hold_s = 50" in history
    # A refused edit is not a change.
    manager.post("/policy/", {"policy_toml": "[timing]\nmax_hold_s = -1\n"})
    assert PolicyChange.objects.filter(club=world.xinyi).count() == 2


@pytest.mark.parametrize(
    ("key", "typed", "words"),
    [
        ("timing.ring_period_s", "1e-300", "須介於 0.1 與 10 秒之間"),
        ("timing.ring_period_s", "nan", "不可是 NaN 或無限大"),
        ("timing.ring_period_s", "inf", "不可是 NaN 或無限大"),
        ("timing.max_hold_s", "-5", "須介於 1 與 600 秒之間"),
        ("timing.max_hold_s", "一分鐘", "「一分鐘」不是數字"),
        ("timing.max_hold_s", "", "請填寫數字"),
        ("timing.answer_within_rings", "2.5", "須是整數"),
        ("timing.answer_within_rings", "11", "須介於 1 與 10 聲之間"),
        ("timing.retry_after_min_s", "300", "須小於「無人接聽後，最晚幾秒再撥」（300 秒）"),
        ("speech.min_polite_expressions", "11", "不可多於禮貌用語的數目（10 種）"),
        ("timing.timezone", "Mars/Olympus", "找不到時區「Mars/Olympus」"),
        ("phrases.greeting", "", "至少要有一句用語"),
        ("phrases.greeting", "您好\n。", "「。」沒有文字"),
        ("severity.hold.max-duration", "huge", "請選擇重大、主要或次要"),
        ("matching.machine_weak_rules", ["close.farwell"], "「close.farwell」不是計分的規範"),
    ],
)
def test_a_wrong_field_is_named_beside_itself_and_nothing_is_kept(
    world: World, key: str, typed: Any, words: str
) -> None:
    data = _form_data(world, speech__filler_repeats="4")
    data[key] = typed
    response = _post(world.client(world.bob), data)
    assert response.status_code == 400
    page = response.content.decode()
    field = page[page.index(f'data-key="{key}"') :][:9000]
    assert words in field, field
    assert _club(world).policy_toml == ""
    # What was typed stays, wrong and right alike.
    assert 'name="speech.filler_repeats" value="4"' in page


def test_two_wrong_fields_are_both_named(world: World) -> None:
    data = _form_data(world, timing__max_hold_s="0", speech__filler_repeats="1")
    page = _post(world.client(world.bob), data).content.decode()
    assert "有 2 個欄位需要修正" in page
    assert page.count('class="field-error"') == 2


def test_a_clerk_sees_the_form_read_only_and_cannot_post_it(world: World) -> None:
    client = world.client(world.alice)
    page = client.get("/policy/").content.decode()
    assert "只有館長可以修改設定" in page
    assert '<fieldset class="plain" disabled>' in page
    assert "檢查並儲存" not in page and "匯入設定檔" not in page
    assert _post(client, _form_data(world, timing__max_hold_s="45")).status_code == 403
    assert world.client(world.charlie).post("/policy/", {"policy_toml": ""}).status_code == 403
    assert _club(world).policy_toml == ""


def test_hq_has_no_club_policy_page(world: World) -> None:
    assert world.client(world.hq).get("/policy/").status_code == 403


def test_the_export_imports_back_to_the_same_policy(world: World) -> None:
    bob = world.client(world.bob)
    data = _form_data(world, timing__max_hold_s="45", phrases__farewell="再見\n拜拜")
    assert _post(bob, data).status_code == 303
    before = policy_tables(policy_of(_club(world)))
    exported = world.client(world.alice).get("/policy/export.toml")
    assert exported.status_code == 200
    assert "attachment" in exported["Content-Disposition"]
    text = exported.content.decode()
    assert "# §4(6) 不超過一分鐘" in text and "信義會館的設定" in text
    assert _post(bob, {"policy_toml": ""}).status_code == 303
    assert policy_of(_club(world)).timing.max_hold_s == 60
    upload = SimpleUploadedFile("xinyi-policy.toml", text.encode(), content_type="application/toml")
    assert bob.post("/policy/", {"policy_file": upload}).status_code == 303
    assert policy_tables(policy_of(_club(world))) == before


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[timing\nmax_hold_s = 45\n", "第 1 行"),
        ("[timing]\nring_period_s = 1e-300\n", "timing.ring_period_s"),
        ("[timing]\nring_period_s = nan\n", "timing.ring_period_s"),
        ("[timing]\nmax_hold_s = true\n", "timing.max_hold_s"),
        ("[timing]\nmax_hold = 45\n", "timing.max_hold"),
    ],
)
def test_a_bad_import_names_the_line_or_key_and_keeps_nothing(
    world: World, text: str, words: str
) -> None:
    response = _post(world.client(world.bob), {"policy_toml": text})
    assert response.status_code == 400
    page = response.content.decode()
    assert words in page[page.index('id="import-error"') :][:600]
    assert _club(world).policy_toml == ""


def test_an_upload_that_is_not_utf8_is_refused(world: World) -> None:
    upload = SimpleUploadedFile("p.toml", "[timing]\n".encode("utf-16"))
    response = world.client(world.bob).post("/policy/", {"policy_file": upload})
    assert response.status_code == 400
    assert "不是 UTF-8" in response.content.decode()
