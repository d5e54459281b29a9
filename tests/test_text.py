from __future__ import annotations

import pytest

from callsop.text import PhraseBook, digit_spans, locate, normalise


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("請稍候", "请稍候"),  # Traditional and Simplified
        ("請稍候", "請 稍候！"),  # spaces and full-width punctuation
        ("您好，信義會館", "您好, 信义会馆."),  # half-width punctuation
        ("ＶＩＰ會員１２３", "vip會員123"),  # full-width letters and digits, case
    ],
)
def test_a_phrase_matches_its_variants(a: str, b: str) -> None:
    assert _hits([a], [b]) == [(0, a)]


def test_normalise_drops_punctuation_and_keeps_the_script() -> None:
    assert normalise("對不起。沒關係！ OK") == "對不起沒關係ok"


def _hits(phrases: list[str], texts: list[str]) -> list[tuple[int, str]]:
    book = PhraseBook({"x": phrases}, gap_max_chars=6)
    norms = [normalise(t) for t in texts]
    starts, at = [], 0
    for n in norms:
        starts.append(at)
        at += len(n) + 1
    found = book.scan(norms, "\x1f".join(norms), starts, "x")
    return [(h.utterance, h.phrase) for h in found.get("x", [])]


def test_phrase_variants_match_in_either_script() -> None:
    hits = _hits(["請稍候", "請稍等", "您稍等一下"], ["好的请稍等", "麻煩您稍等一下喔", "我查一下"])
    assert hits == [(0, "請稍等"), (1, "您稍等一下")]


def test_gap_phrase_needs_its_parts_in_order_and_close() -> None:
    texts = ["請問是王大明先生嗎？", "嗎？請問是", "請問是信義會館健身中心的王大明先生嗎"]
    assert _hits(["請問是…嗎"], texts) == [(0, "請問是…嗎")]


def test_three_dots_typed_on_a_keyboard_are_a_gap_too() -> None:
    assert _hits(["請問是...嗎"], ["請問是王大明先生嗎"]) == [(0, "請問是...嗎")]


def test_gap_phrase_found_by_its_longest_piece() -> None:
    texts = ["是王大明本人嗎", "是的", "我是本人"]
    assert _hits(["是…本人嗎"], texts) == [(0, "是…本人嗎")]


def test_simplified_phrase_matches_traditional_speech() -> None:
    assert _hits(["请稍候"], ["好的，請稍候"]) == [(0, "请稍候")]


def test_phrase_never_spans_two_utterances() -> None:
    assert _hits(["請稍候"], ["請稍", "候"]) == []


@pytest.mark.parametrize(
    "spoken",
    [
        "0912-345-678",
        "0912 345 678",
        "091 234 5678",
        "零九一二三四五六七八",
        "０９１２３４５６７８",
        "〇九幺二三四五六七八",
    ],
)
def test_numbers_read_back_in_any_grouping(spoken: str) -> None:
    assert [d for _, d in digit_spans(f"電話是{spoken}，對嗎")] == ["0912345678"]


def test_commas_separate_numbers() -> None:
    assert [d for _, d in digit_spans("0912345678，0223456789")] == ["0912345678", "0223456789"]


def test_short_numbers_are_not_details() -> None:
    assert digit_spans("三點半，第12堂") == []


def test_locate_maps_back_to_the_spoken_words() -> None:
    original = "好的，請 稍候！我查一下"
    norm = normalise(original)
    start = norm.index(normalise("請稍候"))
    assert locate(original, start, 3) == "請 稍候"


def test_marked_words_are_found_by_the_shared_scan_turn_by_turn() -> None:
    book = PhraseBook(
        {"x": ["請稍候"]}, gap_max_chars=6, shared=["x"], marks=[("還有", "另外"), ("週",)]
    )
    norms = [normalise(t) for t in ["還有一件事", "請稍候", "另外週六還有課嗎", "好"]]
    starts = [0]
    for n in norms[:-1]:
        starts.append(starts[-1] + len(n) + 1)
    found, marked = book.scan_shared(norms, "\x1f".join(norms), starts)
    assert [h.utterance for h in found["x"]] == [1]
    assert marked == [[0, 2], [2]]  # each turn once, in text order
