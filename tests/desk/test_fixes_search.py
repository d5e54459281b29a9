"""Full-width digits, as a Chinese input method types them, find a number
written in ASCII, and a number kept in full-width is found by ASCII digits."""

from __future__ import annotations

from urllib.parse import quote

from callsop.engine.history import normalise_phone
from tests.desk.conftest import World
from tests.desk.test_browser_search import _call, _listed


def test_full_width_digits_are_one_key_with_ascii_ones() -> None:
    assert normalise_phone("０９３３２２２１１１") == normalise_phone("0933-222-111") == "933222111"
    assert normalise_phone("＋８８６　９３３－２２２－１１１") == "933222111"
    assert normalise_phone("０９３３") != normalise_phone("0912")
    assert normalise_phone("－－") is None


def test_a_full_width_number_finds_the_calls_of_its_ascii_form(world: World) -> None:
    _call(world.xinyi, world.alice, "0933-222-111", answer_s=4, ago_min=30)
    _call(world.xinyi, world.alice, "0933-222-111", answer_s=4, ago_min=20)
    _call(world.xinyi, world.alice, "0912-345-678", answer_s=4, ago_min=10)
    client = world.client(world.bob)
    page = client.get("/calls/?phone=" + quote("０９３３２２２１１１")).content.decode()
    assert "電話號碼裡沒有數字" not in page
    assert _listed(page) == 2 and "0933-222-111" in page


def test_a_number_kept_in_full_width_is_found_by_ascii_digits(world: World) -> None:
    call = _call(world.xinyi, world.alice, "０９３３－２２２－１１１", answer_s=4, ago_min=5)
    assert call.phone_key == "933222111"
    page = world.client(world.bob).get("/calls/?phone=0933222111").content.decode()
    assert _listed(page) == 1
