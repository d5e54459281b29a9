"""Chinese text as the rules see it, and phrase matching that survives real speech.

Text is matched in a plain form: no spaces or punctuation, ASCII for
full-width letters and digits, lower case. Script is handled on the phrase
side: every phrase is expanded into its Traditional and Simplified forms
(OpenCC) once, when the policy is compiled, so the text of a call never
needs converting; that keeps scoring within a few times a JSON round trip.
The original text is kept for display; `locate` maps a match back to the
words the speaker said.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import daachorse
import opencc

GAP = "…"
SEP = "\x1f"  # between utterances; survives normalisation, never in a phrase

# Spaces, ASCII and CJK punctuation, general punctuation, full-width forms.
# Not \s: it also matches SEP (\x1f counts as white space in Python).
_STRIP = re.compile(
    r"[ \t\n\r\f\v!-/:-@\[-`{-~\u00a0-\u00bf\u1680\u2000-\u206f\u2e00-\u2e7f\u3000-\u303f"
    r"\ufe10-\ufe1f\ufe30-\ufe4f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+"
)
# A recogniser's marks ([UNK], <unk>, [noise]) and the hesitation 呃 go too,
# by a slower pattern used only on text that may hold them.
_STRIP_MARKS = re.compile(
    r"(?:\[[A-Za-z_]{1,12}\]|<[A-Za-z_|]{1,16}>|" + _STRIP.pattern.removesuffix("]+") + "呃])+"
)


def _stripper(text: str) -> re.Pattern[str]:
    return _STRIP_MARKS if "[" in text or "<" in text or "呃" in text else _STRIP


_WIDE_OR_UPPER = re.compile(r"[A-Z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_FULLWIDTH_TABLE = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B)}


@lru_cache(maxsize=8)
def converter(config: str) -> opencc.OpenCC:
    """One OpenCC converter per configuration ("t2s", "s2t"...), shared:
    each takes a hundredth of a second to load."""
    return opencc.OpenCC(config)


_t2s = converter("t2s")
_s2t = converter("s2t")


# The same characters one at a time: quicker to strip than runs, and the
# commonest (，。？、) go first by str.replace, quicker still.
_STRIP_ONE = re.compile(_STRIP.pattern.removesuffix("+"))
_COMMONEST = ("，", "。", "？", "、")


def normalise(text: str) -> str:
    """The plain matching form of `text` (keeps SEP between utterances)."""
    strip = _stripper(text)
    if strip is _STRIP:  # the order of removal is no matter: each goes alone
        for mark in _COMMONEST:
            text = text.replace(mark, "")
        text = _STRIP_ONE.sub("", text)
    else:  # a recogniser's mark may hold punctuation: [UNK] is matched whole
        text = strip.sub("", text)
    if _WIDE_OR_UPPER.search(text):
        text = text.translate(_FULLWIDTH_TABLE).lower()
    return text


def script_forms(text: str) -> tuple[str, ...]:
    """`text` normalised, in the script it was written in and in the other."""
    plain = normalise(text)
    forms = dict.fromkeys((plain, _t2s.convert(plain), _s2t.convert(plain)))
    return tuple(forms)


def locate(original: str, start: int, length: int) -> str:
    """The words of `original` behind normalised characters [start, start+length).

    Normalising only removes characters (the stripped spans), so walking those
    spans maps a normalised position back to the original one."""
    if length <= 0:
        return original
    last = start + length - 1
    strip = _stripper(original)
    first_gap = strip.search(original)
    if first_gap is None or first_gap.start() > last:  # nothing removed before the words
        return original[start : last + 1]
    first_at = last_at = None
    kept = 0  # normalised characters before `previous`
    previous = 0
    for gap in strip.finditer(original):
        run = gap.start() - previous
        if first_at is None and start < kept + run:
            first_at = previous + start - kept
        if last < kept + run:
            last_at = previous + last - kept
            break
        kept += run
        previous = gap.end()
    else:
        if first_at is None:
            first_at = previous + start - kept
        last_at = previous + last - kept
    if first_at is None or last_at >= len(original):
        return original
    return original[first_at : last_at + 1]


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase of a list in one script: the words as the policy wrote them,
    the normalised pieces between its gaps ("請問是…嗎" has two), and the
    piece the scan looks for (the longest: short ones are everywhere)."""

    text: str
    pieces: tuple[str, ...]
    anchor: int


@lru_cache(maxsize=4096)  # a policy's phrases are compiled to check it, then to use it
def compile_phrase(text: str) -> tuple[Phrase, ...]:
    """The phrase in every script form; leading and trailing gaps are dropped.
    A gap is written … (or ..., as a keyboard types it)."""
    out = []
    for form in script_forms(text.replace("...", GAP).replace(GAP, SEP)):
        pieces = tuple(p for p in form.split(SEP) if p)
        if not pieces:
            raise ValueError(f"phrase {text!r} has no words")
        anchor = max(range(len(pieces)), key=lambda i: len(pieces[i]))
        out.append(Phrase(text, pieces, anchor))
    return tuple(out)


class Hit(NamedTuple):
    """A phrase found in utterance `utterance`, normalised chars [start, end)."""

    utterance: int
    start: int
    end: int
    phrase: str


def match_at(phrase: Phrase, text: str, start: int, gap: int) -> tuple[int, int] | None:
    """The span of `phrase` around its anchor found at `start` in `text`."""
    pieces, a = phrase.pieces, phrase.anchor
    left, right = start, start + len(pieces[a])
    for piece in pieces[a + 1 :]:
        at = text.find(piece, right, right + gap + len(piece))
        if at < 0:
            return None
        right = at + len(piece)
    for piece in reversed(pieces[:a]):
        at = text.rfind(piece, max(0, left - gap - len(piece)), left)
        if at < 0:
            return None
        left = at
    return left, right


def match_in(phrases: Iterable[Phrase], text: str, gap: int) -> tuple[int, int, str] | None:
    """The earliest match of any of `phrases` in one text: (start, end, phrase)."""
    best: tuple[int, int, str] | None = None
    for phrase in phrases:
        anchor = phrase.pieces[phrase.anchor]
        at = text.find(anchor)
        while at >= 0:
            span = match_at(phrase, text, at, gap)
            if span is not None:
                if best is None or span[0] < best[0]:
                    best = (span[0], span[1], phrase.text)
                break
            at = text.find(anchor, at + 1)
    return best


Owners = tuple[str, tuple[str, ...], tuple[tuple[str, "Phrase"], ...], tuple[int, ...]]

# Word sets whose turns the rules ask of every call (what a pattern needs
# before it is worth running), each found by the one shared scan of a
# transcript: see `mark_words`.
MARKS: list[tuple[str, ...]] = []


def mark_words(words: Iterable[str]) -> int:
    """Registers words whose turns `Transcript.marked` gives, by the number
    returned; a book compiled after this finds them in its shared scan."""
    MARKS.append(tuple(words))
    return len(MARKS) - 1


class PhraseBook:
    """Every phrase list of a policy, ready to find in a call's transcript.

    Lists are found in one of three ways, by how rules ask for them:
    - `shared`: lists nearly every call needs share one Aho-Corasick scan
      of the whole transcript (daachorse: a double-array automaton, quick on
      Chinese, where a trie with a hundred branches at its root is slow),
      each hit sorted into the lists that own it;
    - `direct`: lists only ever asked of a turn or two (the first staff
      turn) are looked for in those turns alone;
    - the rest, asked only when a rule applies (a hold, a complaint), get an
      automaton each, run over the transcript the first time they are asked.
    `marks` (word sets) are found in the shared scan too: which turns hold
    one of each set's words.
    """

    def __init__(
        self,
        lists: Mapping[str, Sequence[str]],
        gap_max_chars: int,
        direct: Iterable[str] = (),
        shared: Iterable[str] = (),
        groups: Iterable[Iterable[str]] = (),
        marks: Sequence[Iterable[str]] = (),
    ) -> None:
        self.gap = gap_max_chars
        self.marks = len(marks)
        self.lists: dict[str, tuple[Phrase, ...]] = {
            name: tuple(form for p in phrases for form in compile_phrase(p))
            for name, phrases in lists.items()
        }
        self.direct = frozenset(direct) & set(self.lists)
        self.shared = frozenset(shared) & set(self.lists) - self.direct
        self._shared = _automaton({n: self.lists[n] for n in self.shared}, marks)
        # The rest: one automaton per group of lists a rule asks for together
        # (who is calling: name, purpose), else one per list.
        rest = [n for n in self.lists if n not in self.direct and n not in self.shared]
        grouped = [[n for n in group if n in rest] for group in groups]
        grouped += [[n] for n in rest if not any(n in g for g in grouped)]
        self.group_of: dict[str, tuple[str, ...]] = {}
        self._own: dict[tuple[str, ...], Matcher | None] = {}
        for group in grouped:
            if group:
                key = tuple(group)
                self._own[key] = _automaton({n: self.lists[n] for n in key})
                self.group_of.update(dict.fromkeys(key, key))

    def scan(
        self, norms: Sequence[str], joined: str, starts: Sequence[int], list_name: str
    ) -> dict[str, list[Hit]]:
        """Hits in the utterances `norms` (joined by SEP into `joined`,
        utterance i starting at `starts[i]`), in text order, of the group of
        lists that `list_name` belongs to (a shared list: `scan_shared`)."""
        return self._scan(self._own[self.group_of[list_name]], norms, joined, starts, [])

    def scan_shared(
        self, norms: Sequence[str], joined: str, starts: Sequence[int]
    ) -> tuple[dict[str, list[Hit]], list[list[int]]]:
        """The hits of every shared list, in text order, and for each of the
        marks the turns that hold one of its words, in text order."""
        marked: list[dict[int, None]] = [{} for _ in range(self.marks)]
        found = self._scan(self._shared, norms, joined, starts, marked)
        return found, [list(turns) for turns in marked]

    def _scan(
        self,
        matcher: Matcher | None,
        norms: Sequence[str],
        joined: str,
        starts: Sequence[int],
        marked: list[dict[int, None]],
    ) -> dict[str, list[Hit]]:
        found: defaultdict[str, list[Hit]] = defaultdict(list)
        if matcher is None:
            return found
        automaton, owners = matcher
        gap = self.gap
        make = tuple.__new__  # Hit(...) costs twice as much, once per hit
        index, last = 0, len(starts) - 1
        for start, end, pattern in automaton.find_overlapping(joined):
            while index < last and starts[index + 1] <= start:
                index += 1
            words, singles, gapped, marks = owners[pattern]
            for number in marks:
                marked[number][index] = None
            local = start - starts[index]
            if singles:
                hit = make(Hit, (index, local, local + end - start, words))
                for name in singles:
                    found[name].append(hit)
            for name, phrase in gapped:
                span = match_at(phrase, norms[index], local, gap)
                if span is not None:
                    found[name].append(make(Hit, (index, span[0], span[1], phrase.text)))
        return found


Matcher = tuple[daachorse.CharwiseDoubleArrayAhoCorasick, list[Owners]]


def _automaton(
    lists: dict[str, tuple[Phrase, ...]], marks: Sequence[Iterable[str]] = ()
) -> Matcher | None:
    """One automaton over the anchors of `lists` and the words of `marks`,
    and for each: the lists that own it (words, single-piece lists, gapped
    phrases) and the marks it belongs to."""
    anchors: dict[str, dict[tuple[str, tuple[str, ...]], Phrase]] = {}
    for name, phrases in lists.items():
        for phrase in phrases:
            owners = anchors.setdefault(phrase.pieces[phrase.anchor], {})
            owners.setdefault((name, phrase.pieces), phrase)  # one hit per list and words
    marks_of: dict[str, list[int]] = {}
    for number, words in enumerate(marks):
        for word in dict.fromkeys(words):
            anchors.setdefault(word, {})
            marks_of.setdefault(word, []).append(number)
    if not anchors:
        return None
    entries: list[Owners] = []
    for anchor, owned in anchors.items():
        singles = [(name, p.text) for (name, pieces), p in owned.items() if len(pieces) == 1]
        gapped = tuple((name, p) for (name, pieces), p in owned.items() if len(pieces) > 1)
        words = singles[0][1] if singles else ""
        entries.append(
            (words, tuple(name for name, _ in singles), gapped, tuple(marks_of.get(anchor, ())))
        )
    return daachorse.CharwiseDoubleArrayAhoCorasick(list(anchors)), entries


_CN_DIGITS = str.maketrans("零〇一二三四五六七八九兩两幺", "00123456789221")
_DIGIT = "0-9\uff10-\uff19零〇一二三四五六七八九兩两幺"
_NUMBER_SEPARATORS = re.compile("[ \\-\u2010-\u2015.\uff0d]")
_NUMBER = re.compile(f"[{_DIGIT}](?:[ \\-\u2010-\u2015.\uff0d]?[{_DIGIT}])+")


def digit_spans(text: str, min_digits: int = 4) -> list[tuple[int, str]]:
    """(position, digits) of each number of at least `min_digits` digits in
    `text`. Groupings and spoken digits are read alike: 0912-345-678,
    0912 345 678 and 零九一二三四五六七八 all give 0912345678 (幺 is the
    spoken 1 of phone numbers). Commas and other punctuation end a number."""
    out = []
    for match in _NUMBER.finditer(text):
        digits = _NUMBER_SEPARATORS.sub("", match.group(0))
        digits = digits.translate(_FULLWIDTH_TABLE).translate(_CN_DIGITS)
        if len(digits) >= min_digits:
            out.append((match.start(), digits))
    return out


# A character that is a digit once read (\d takes in the full-width ones).
_A_DIGIT = re.compile("[\\d零〇一二三四五六七八九兩两幺]+")


def spoken_digits(text: str) -> str:
    """Every digit said in `text`, in order, as one string: a number read
    back in groups with pauses (零九一二，三四五，六七八) reads as 0912345678.
    The digits are picked out first: translating the few is cheaper than the turn."""
    picked = "".join(_A_DIGIT.findall(text))
    return picked.translate(_FULLWIDTH_TABLE).translate(_CN_DIGITS)


@lru_cache(maxsize=256)
def to_simplified(text: str) -> str:
    converted: str = _t2s.convert(text)
    return converted
