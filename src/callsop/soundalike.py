"""Phrases found by how they sound: matching a recogniser's words in pinyin.

A speech recogniser writes what it heard with the wrong characters as often
as not (歡迎你到會館來坐客, 讓泥酒等了, 請稍後), so on a machine transcript a
phrase is also looked for in toneless pinyin, where those slips vanish:

- a phrase of `homophone_min` characters or more (請稍候) counts when the
  words said sound exactly like it, syllable for syllable (請稍後);
- a phrase of `fuzzy_min` characters or more also counts when it sounds
  nearly like it: syllable for syllable, every syllable with an initial
  that is the same or one commonly confused (n/l, zh/z, an empty initial and
  y/w…) and at least half its letters alike, and all of them together
  alike by the policy's score (0-100).

Two-syllable phrases (再見) are never found by sound: too many other words
sound like them (在建議). Checking each syllable, not the pinyin string as
a whole, keeps three syllables out of four (請問您要) from passing for a
four-syllable phrase (請問您是).

Positions stay in normalised characters: pinyin is taken one character at a
time, so syllable i is character i of the text, and a match maps straight
back to the words that were said.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from callsop.text import Phrase

# pypinyin and rapidfuzz are imported where first used: loading pypinyin's
# dictionaries takes a fifth of a second, and most batches never need them
# (no machine transcript, no surname compared by sound).

# Initials a recogniser (or a speaker) commonly trades for one another.
_INITIAL_GROUP = {"zh": "z", "ch": "c", "sh": "s", "l": "n", "h": "f", "y": "", "w": ""}
_TWO_LETTER = ("zh", "ch", "sh")
_CONSONANTS = frozenset("bpmfdtnlgkhjqxrzcsyw")
_SYLLABLE_FLOOR = 50  # each syllable at least this alike (rapidfuzz ratio)


@lru_cache(maxsize=65536)
def _syllable(char: str) -> str:
    from pypinyin import lazy_pinyin

    said = lazy_pinyin(char)
    return said[0] if said else char


def syllables(text: str) -> list[str]:
    """The toneless pinyin of each character of normalised `text` (a
    character that is not Chinese stands for itself)."""
    return [_syllable(c) for c in text]


@lru_cache(maxsize=65536)
def _initial(syllable: str) -> str:
    if syllable[:2] in _TWO_LETTER:
        head = syllable[:2]
    elif syllable[:1] in _CONSONANTS:
        head = syllable[:1]
    else:
        head = ""
    return _INITIAL_GROUP.get(head, head)


@dataclass(frozen=True, slots=True)
class Sounding:
    """One phrase as heard: its words and its syllables."""

    text: str
    syllables: tuple[str, ...]
    fuzzy: bool  # may sound nearly like it; else exactly

    @property
    def pinyin(self) -> str:
        return " ".join(self.syllables)


class SoundBook:
    """The phrases of every list long enough to be found by sound."""

    def __init__(
        self,
        lists: Mapping[str, Sequence[Phrase]],
        *,
        homophone_min: int,
        fuzzy_min: int,
        min_score: float,
    ) -> None:
        self.min_score = min_score
        self.lists: dict[str, tuple[Sounding, ...]] = {}
        for name, phrases in lists.items():
            heard: dict[tuple[str, ...], Sounding] = {}  # both scripts sound alike
            for phrase in phrases:
                if len(phrase.pieces) != 1 or len(phrase.pieces[0]) < homophone_min:
                    continue
                words = phrase.pieces[0]
                said = tuple(syllables(words))
                heard.setdefault(said, Sounding(phrase.text, said, len(words) >= fuzzy_min))
            if heard:
                self.lists[name] = tuple(heard.values())

    def find(self, list_name: str, text: str) -> tuple[int, int, str, float] | None:
        """The best-sounding phrase of `list_name` in normalised `text`:
        (start, end, phrase, score), or None when none sounds alike enough."""
        phrases = self.lists.get(list_name)
        if not phrases or not text:
            return None
        from rapidfuzz import fuzz

        said = syllables(text)
        joined = " ".join(said)
        best: tuple[int, int, str, float] | None = None
        for phrase in phrases:
            n = len(phrase.syllables)
            if len(said) < n:  # a lone 嗯 would match anything
                continue
            # A quick look over the whole turn first: most phrases are not near.
            if fuzz.partial_ratio(phrase.pinyin, joined) < self.min_score:
                continue
            for start in range(len(said) - n + 1):
                score = _alike(phrase, said[start : start + n], self.min_score)
                if score is not None and (best is None or score > best[3]):
                    best = (start, start + n, phrase.text, score)
        return best


def _alike(phrase: Sounding, window: Sequence[str], min_score: float) -> float | None:
    """How alike the syllables of `window` sound to the phrase's, 0-100, or None."""
    if not phrase.fuzzy:
        return 100.0 if tuple(window) == phrase.syllables else None
    from rapidfuzz import fuzz

    total = 0.0
    for wanted, heard in zip(phrase.syllables, window, strict=True):
        if wanted == heard:
            total += 100
            continue
        if _initial(wanted) != _initial(heard):
            return None
        alike = fuzz.ratio(wanted, heard)
        if alike < _SYLLABLE_FLOOR:
            return None
        total += alike
    score = total / len(phrase.syllables)
    return score if score >= min_score else None


def partly_heard(wanted: Sequence[str], said: Sequence[str], share: float = 0.5) -> bool:
    """Whether some window of the syllables `said` holds, in place, at least
    `share` of the syllables `wanted` (and two at least), each as said or
    nearly (ni for nin: the same initial, the rest alike), or ends with the
    phrase's first half as said, cut there: what a recogniser leaves of a
    phrase it misheard (不好意思打仗 for 不好意思打擾, 你好 for 您好, 掰 for 拜拜)."""
    n = len(wanted)
    need = max(2, math.ceil(share * n))
    if n < 2 or not said:
        return False
    for start in range(-n + need, len(said) - need + 1):
        kept = sum(
            1
            for k, syllable in enumerate(wanted)
            if 0 <= start + k < len(said) and _near(syllable, said[start + k])
        )
        if kept >= need:
            return True
    # Cut where the segment ends: the phrase's first half, as said, ends it
    # (謝謝 掰 for 謝謝 拜拜).
    half = math.ceil(n / 2)
    return tuple(said[-half:]) == tuple(wanted[:half])


@lru_cache(maxsize=65536)
def _near(wanted: str, heard: str) -> bool:
    if wanted == heard:
        return True
    if _initial(wanted) != _initial(heard):
        return False
    from rapidfuzz import fuzz

    return fuzz.ratio(wanted, heard) >= NEAR_SYLLABLE


NEAR_SYLLABLE = 75  # nin and ni: 80; xie and xue: 67; hao and hou: 67
