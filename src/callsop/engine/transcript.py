"""What was said on one call, normalised once and scanned once for every phrase."""

from __future__ import annotations

import bisect
import operator
from collections.abc import Iterable, Sequence
from functools import cached_property
from itertools import accumulate
from operator import attrgetter
from typing import Any

from callsop.engine.findings import Evidence
from callsop.record.model import Utterance
from callsop.soundalike import SoundBook
from callsop.text import SEP, Hit, PhraseBook, locate, match_in, normalise

_text, _speaker = attrgetter("text"), attrgetter("speaker")
_begin, _end = attrgetter("start"), attrgetter("end")


class Transcript:
    """`sounds` is given for a machine transcript: a long phrase is then also
    found by how it sounds, in a turn where its words were not found as written."""

    def __init__(
        self, utterances: Sequence[Utterance], book: PhraseBook, sounds: SoundBook | None = None
    ) -> None:
        self.utterances = utterances
        self.book = book
        self.sounds = sounds
        texts = list(map(_text, utterances))
        joined = normalise(SEP.join(texts))
        norms = joined.split(SEP)
        if len(norms) != len(utterances):  # a turn's own text held the separator
            texts = [t.replace(SEP, " ") for t in texts]
            norms = [normalise(t) for t in texts]
            joined = SEP.join(norms)
        self.texts = texts  # what evidence quotes: the words as said
        self.norms = norms
        self.joined = joined
        self.starts = list(accumulate([len(n) + 1 for n in norms[:-1]], initial=0))
        speakers: list[str] = list(map(_speaker, utterances))
        starts_at: list[float] = list(map(_begin, utterances))
        self.speakers, self.begins = speakers, starts_at
        self.ends: list[float] = list(map(_end, utterances))
        self.in_order = starts_at == sorted(starts_at)
        order = list(range(len(utterances)))
        if not self.in_order:
            order.sort(key=starts_at.__getitem__)
        self.order = order
        in_time = speakers if self.in_order else [speakers[i] for i in order]
        self.staff = [order[k] for k, s in enumerate(in_time) if s == "staff"]
        self.customer = [order[k] for k, s in enumerate(in_time) if s == "customer"]
        self.other = [order[k] for k, s in enumerate(in_time) if s == "other"]
        self.memo: dict[str, Any] = {}  # what several rules derive once per call
        self._lazy: dict[str, list[Hit]] = {}  # hits of lists scanned on demand

    @cached_property
    def _shared(self) -> tuple[dict[str, list[Hit]], list[list[int]]]:
        return self.book.scan_shared(self.norms, self.joined, self.starts)

    @property
    def _hits(self) -> dict[str, list[Hit]]:
        return self._shared[0]

    def marked(self, mark: int) -> list[int] | None:
        """The turns holding a word of mark `mark` (see `text.mark_words`), in
        text order; None when the policy was compiled before it was registered."""
        if mark >= self.book.marks:
            return None
        return self._shared[1][mark]

    def _own_hits(self, list_name: str) -> list[Hit]:
        if list_name not in self._lazy:
            found = self.book.scan(self.norms, self.joined, self.starts, list_name)
            for name in self.book.group_of[list_name]:
                self._lazy[name] = found.get(name, [])
        return self._lazy[list_name]

    @cached_property
    def position(self) -> Sequence[int]:
        """Utterance index -> its place in time order (itself, in order)."""
        if self.in_order:
            return range(len(self.order))
        places = [0] * len(self.order)
        for place, index in enumerate(self.order):
            places[index] = place
        return places

    def find(self, list_name: str, among: Iterable[int] | str | None = None) -> list[Hit]:
        """Hits of a phrase list in text order. `among` limits them to some
        turns, or to one speaker ("staff", "customer", "other")."""
        hits = self._find_written(list_name, among)
        if (
            self.sounds is None
            or list_name not in self.sounds.lists
            or list_name in self.book.direct
        ):
            return hits  # a direct list's turns were heard as they were read
        return self._with_sounds(list_name, among, hits)

    def _with_sounds(
        self, list_name: str, among: Iterable[int] | str | None, hits: list[Hit]
    ) -> list[Hit]:
        assert self.sounds is not None
        turns: Iterable[int] = self.order if among is None or isinstance(among, str) else among
        if isinstance(among, str):
            turns = [i for i in turns if self.speakers[i] == among]
        written = {h.utterance for h in hits}
        heard = []
        for index in turns:
            if index not in written:
                found = self.sounds.find(list_name, self.norms[index])
                if found is not None:
                    heard.append(Hit(index, found[0], found[1], found[2]))
        if not heard:
            return hits
        place = self.position
        return sorted(hits + heard, key=lambda h: (place[h.utterance], h.start))

    def _find_written(self, list_name: str, among: Iterable[int] | str | None) -> list[Hit]:
        if list_name in self.book.direct:
            turns = self.order if among is None else among
            if isinstance(turns, str):
                turns = [i for i in self.order if self.speakers[i] == turns]
            return [h for h in (self._direct(list_name, i) for i in turns) if h is not None]
        if list_name in self.book.shared:
            hits = self._hits.get(list_name, [])
        else:
            hits = self._own_hits(list_name)
        if among is None:
            return hits
        if isinstance(among, str):
            speakers = self.speakers
            return [h for h in hits if speakers[h.utterance] == among]
        wanted = set(among)
        return [h for h in hits if h.utterance in wanted]

    def first(self, list_name: str, among: Iterable[int] | str | None = None) -> Hit | None:
        """The earliest hit of a phrase list in time order, or None."""
        if list_name in self.book.direct and among is not None and not isinstance(among, str):
            for index in among:
                hit = self._direct(list_name, index)
                if hit is not None:
                    return hit
            return None
        if self.in_order and isinstance(among, str) and list_name not in self.book.direct:
            speakers = self.speakers  # hits are in time order: stop at the first
            return next((h for h in self.find(list_name) if speakers[h.utterance] == among), None)
        hits = self.find(list_name, among)
        if not hits:
            return None
        if self.in_order:
            return hits[0]
        return min(hits, key=lambda h: (self.position[h.utterance], h.start))

    def _direct(self, list_name: str, index: int) -> Hit | None:
        found = match_in(self.book.lists[list_name], self.norms[index], self.book.gap)
        if found is None and self.sounds is not None:
            heard = self.sounds.find(list_name, self.norms[index])
            found = None if heard is None else heard[:3]
        return None if found is None else Hit(index, found[0], found[1], found[2])

    def evidence(self, hit: Hit) -> Evidence:
        words = locate(self.texts[hit.utterance], hit.start, hit.end - hit.start)
        return {"t": self.begins[hit.utterance], "utterance": hit.utterance, "words": words}

    def turn(self, index: int, words: str | None = None) -> Evidence:
        utterance = self.utterances[index]
        return {"t": utterance.start, "utterance": index, "words": words or utterance.text}

    def duration(self, indexes: Iterable[int]) -> float:
        begins, ends = self.begins, self.ends
        return sum([ends[i] - begins[i] for i in indexes])

    @cached_property
    def talk_s(self) -> float:
        total: float = sum(map(operator.sub, self.ends, self.begins))  # ints too, not only floats
        return total

    @cached_property
    def staff_s(self) -> float:
        return self.duration(self.staff)

    def turn_at(self, position: int) -> int:
        """The utterance that position `position` of `joined` falls in."""
        return bisect.bisect_right(self.starts, position) - 1

    def later(self, index: int, turns: Sequence[int]) -> list[int]:
        """The turns of `turns` that come after utterance `index`."""
        place = self.position[index]
        position = self.position
        return [i for i in turns if position[i] > place]
