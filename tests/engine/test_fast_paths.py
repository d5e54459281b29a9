"""The quick paths of normalising and reading digits give what the plain
definitions give, on every kind of character they treat specially."""

from __future__ import annotations

import random

from callsop.rules import speech_acts
from callsop.text import _CN_DIGITS, _FULLWIDTH_TABLE, _STRIP, normalise, spoken_digits

SPECIAL = (
    "，。？、！ -.\u3000\uff0d[]<>UNKunk呃ＡＢ０９零〇一二三四五六七八九兩两幺١٢\x1f"
    + "您好信義會館"
)


def _strings(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(SPECIAL) for _ in range(rng.randrange(0, 24))) for _ in range(count)]


def test_normalise_strips_as_the_run_pattern_does() -> None:
    for text in _strings(3000):
        if "[" in text or "<" in text or "呃" in text:
            continue  # the marks' own pattern, unchanged
        expected = _STRIP.sub("", text)
        if any("A" <= c <= "Z" or "\uff10" <= c <= "\uff5a" for c in expected):
            expected = expected.translate(_FULLWIDTH_TABLE).lower()
        assert normalise(text) == expected, repr(text)


def test_a_recognisers_mark_is_still_removed_whole() -> None:
    assert normalise("好[UNK]的，謝謝") == "好的謝謝"
    assert normalise("[，UNK]") == "unk"  # punctuation inside: no mark, only punctuation goes


def test_spoken_digits_reads_every_digit_in_order() -> None:
    for text in _strings(3000, seed=9):
        translated = text.translate(_FULLWIDTH_TABLE).translate(_CN_DIGITS)
        assert spoken_digits(text) == "".join(c for c in translated if c.isdecimal()), repr(text)
    assert spoken_digits("零九一二，三四五，六七八") == "0912345678"


def test_no_terms_hold_every_form_of_a_light_pair() -> None:
    no_terms = speech_acts._NO_TERMS
    for a in speech_acts._LIGHT:
        for b in speech_acts._LIGHT:
            assert speech_acts._every_form(a + b) <= no_terms
    for words in speech_acts._STOCK_PAIRS:
        assert speech_acts._every_form(words) <= no_terms
    assert "會館" not in no_terms
