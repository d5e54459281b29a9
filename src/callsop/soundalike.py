"""Phrases found by how they sound: matching a recogniser's words in pinyin.

A speech recogniser writes what it heard with the wrong characters as often
as not (歡迎你到會館來坐客, 請問玫瑰姐), so on a machine transcript a long
phrase is also compared in toneless pinyin, where those slips vanish. Short
phrases are left to exact matching: two syllables (再見) sound like too many
other words (在建議) to be found by ear.

Positions stay in normalised characters: pinyin is taken one character at a
time, so syllable i is character i of the text, and a match maps straight
back to the words that were said.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

from callsop.text import Phrase


@lru_cache(maxsize=65536)
def _syllable(char: str) -> str:
    said = lazy_pinyin(char)
    return said[0] if said else char


def syllables(text: str) -> list[str]:
    """The toneless pinyin of each character of normalised `text` (a
    character that is not Chinese stands for itself)."""
    return [_syllable(c) for c in text]


@dataclass(frozen=True, slots=True)
class Sounding:
    """One phrase as heard: its words and its pinyin, space-separated."""

    text: str
    chars: int
    pinyin: str


class SoundBook:
    """The long phrases of every list, ready to be found by sound."""

    def __init__(
        self, lists: Mapping[str, Sequence[Phrase]], min_chars: int, min_score: float
    ) -> None:
        self.min_score = min_score
        self.lists: dict[str, tuple[Sounding, ...]] = {}
        for name, phrases in lists.items():
            heard: dict[str, Sounding] = {}  # the two scripts of a phrase sound alike
            for phrase in phrases:
                if len(phrase.pieces) != 1 or len(phrase.pieces[0]) < min_chars:
                    continue
                words = phrase.pieces[0]
                pinyin = " ".join(syllables(words))
                heard.setdefault(pinyin, Sounding(phrase.text, len(words), pinyin))
            if heard:
                self.lists[name] = tuple(heard.values())

    def find(self, list_name: str, text: str) -> tuple[int, int, str, float] | None:
        """The best-sounding phrase of `list_name` in normalised `text`:
        (start, end, phrase, score), or None below the policy's score."""
        phrases = self.lists.get(list_name)
        if not phrases or not text:
            return None
        said = syllables(text)
        joined = " ".join(said)
        offsets = _offsets(said)
        best: tuple[int, int, str, float] | None = None
        for phrase in phrases:
            if len(text) < phrase.chars:  # a lone 嗯 would match anything
                continue
            found = fuzz.partial_ratio_alignment(phrase.pinyin, joined, score_cutoff=self.min_score)
            if found is None or (best is not None and found.score <= best[3]):
                continue
            start = _char_at(offsets, found.dest_start)
            end = _char_at(offsets, max(found.dest_start, found.dest_end - 1)) + 1
            best = (start, end, phrase.text, found.score)
        return best


def _offsets(said: Iterable[str]) -> list[int]:
    """Where each character's syllable begins in the space-joined pinyin."""
    out, at = [], 0
    for syllable in said:
        out.append(at)
        at += len(syllable) + 1
    return out


def _char_at(offsets: list[int], position: int) -> int:
    """The character whose syllable holds `position` of the joined pinyin."""
    return max(0, bisect.bisect_right(offsets, position) - 1)
