"""One call as the rules see it: the record, its timeline and its transcript,
the compiled policy, and the rest of the batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from callsop.engine.history import History
from callsop.engine.timeline import Timeline
from callsop.engine.transcript import Transcript
from callsop.policy import Policy
from callsop.record.model import CallRecord
from callsop.soundalike import SoundBook
from callsop.text import MARKS, PhraseBook, normalise, script_forms

# Phrase lists only ever asked of a turn or two (the first staff turn, the
# reply to an offer): matched directly, not carried through the scan.
DIRECT_LISTS = (
    "greeting",
    "late_answer_apology",
    "self_introduction",
    "verify_party",
    "apologize_interrupt",
    "farewell",
    "consent",
    "agree",
    "refuse",
    "club_names",
)


# The policy's fillers strung together (嗯嗯嗯), as one more shared list:
# found as written, never by sound.
FILLER_STRINGS = "filler_strings"

# Phrase lists nearly every answered call needs (and every polite:… list):
# found in one shared scan.
SHARED_LISTS = (
    FILLER_STRINGS,
    "arguing",
    "titles",
    "caller_name_given",
    "dont_know",
    "asks_for_person",
    "visitor_arrived",
    "repeat_confirm",
    "recap",
    "ask_to_continue",
    "hold_ask",
)


# Lists a rule asks for together, scanned in one pass when it does.
LAZY_GROUPS = (("ask_name", "ask_purpose", "purpose_given"),)


@dataclass(frozen=True)
class Compiled:
    """A policy made ready for matching: built once per `score` call."""

    policy: Policy
    book: PhraseBook
    surnames: frozenset[str]  # in both scripts
    club_names: frozenset[str]
    polite: tuple[tuple[str, str], ...]  # (expression, its phrase list's name)
    machine_weak: frozenset[str] = frozenset()  # rules na on a machine transcript
    _sounds: list[SoundBook] = field(default_factory=list, compare=False, repr=False)

    def sounds(self) -> SoundBook:
        """The long phrases by sound, for machine transcripts: built the first
        time a batch holds one (pinyin's dictionary takes a moment to load)."""
        if not self._sounds:
            m = self.policy.matching
            self._sounds.append(
                SoundBook(
                    {n: v for n, v in self.book.lists.items() if n != FILLER_STRINGS},
                    homophone_min=m.homophone_min_chars,
                    fuzzy_min=m.fuzzy_min_chars,
                    min_score=m.fuzzy_min_score,
                )
            )
        return self._sounds[0]

    @classmethod
    def of(cls, policy: Policy) -> Compiled:
        """The policy compiled, once: scoring a batch in chunks, or in forked
        workers, reuses it."""
        cached = _COMPILED.get(id(policy))
        if cached is None or cached.policy is not policy:
            cached = _COMPILED[id(policy)] = cls.build(policy)
            while len(_COMPILED) > _COMPILED_KEPT:  # the oldest goes first
                del _COMPILED[next(iter(_COMPILED))]
        return cached

    @classmethod
    def build(cls, policy: Policy) -> Compiled:
        lists = {
            name: phrases
            for name, phrases in policy.phrases.items()
            if name not in ("surnames", "fillers")
        }
        for expression, variants in policy.polite.items():
            lists[f"polite:{expression}"] = variants
        lists["club_names"] = (*policy.club.names, *policy.club.name_suffixes)
        times = policy.speech.filler_repeats
        fillers = tuple(
            sorted({form * times for w in policy.phrases["fillers"] for form in script_forms(w)})
        )
        lists[FILLER_STRINGS] = fillers
        shared = [n for n in lists if n in SHARED_LISTS or n.startswith("polite:")]
        import callsop.rules  # noqa: F401  (its gates' words join the shared scan)

        book = PhraseBook(
            lists, policy.matching.gap_max_chars, DIRECT_LISTS, shared, LAZY_GROUPS, tuple(MARKS)
        )
        surnames = frozenset(f for s in policy.phrases["surnames"] for f in script_forms(s))
        return cls(
            policy=policy,
            book=book,
            surnames=surnames,
            club_names=frozenset(f for n in policy.club.names for f in script_forms(n)),
            polite=tuple((e, f"polite:{e}") for e in policy.polite),
            machine_weak=frozenset(policy.matching.machine_weak_rules),
        )

    def surname_before(self, text: str, at: int) -> str | None:
        """The surname that ends at `at` in `text` (the 王 of 王先生), if any."""
        for size in (2, 1):
            if at >= size and text[at - size : at] in self.surnames:
                return text[at - size : at]
        return None

    def surname_of(self, name: str | None) -> str | None:
        """The surname a full name starts with (歐陽 before 歐), if it is one we know."""
        if not name:
            return None
        norm = normalise(name)
        for size in (2, 1):
            if norm[:size] in self.surnames:
                return norm[:size]
        return None

    def addressed_in(self, text: str) -> list[str]:
        """Surnames used with a title in `text` (a plan's salutation: 王先生)."""
        found = []
        norm = normalise(text)
        for phrase in self.book.lists["titles"]:
            at = norm.find(phrase.pieces[0])
            while at >= 0:
                surname = self.surname_before(norm, at)
                if surname:
                    found.append(surname)
                at = norm.find(phrase.pieces[0], at + 1)
        return found


# Keyed by id(). An entry holds its policy, so its id cannot be reused while
# it is here; a process that loads many policies keeps only the latest few.
_COMPILED: dict[int, Compiled] = {}
_COMPILED_KEPT = 8


class Call:
    def __init__(
        self,
        record: CallRecord,
        index: int,
        compiled: Compiled,
        history: History,
        now: float | None,
    ) -> None:
        self.record = record
        self.index = index
        self.compiled = compiled
        self.policy = compiled.policy
        self.history = history
        self.now = now
        self.timeline = Timeline(record)
        self.tags = frozenset(record.tags)

    @cached_property
    def speech_source(self) -> str:
        """human, machine or voice-only: where the utterances came from."""
        speech = self.record.speech
        return speech.source if speech is not None else "human"

    @cached_property
    def recorded(self) -> bool:
        """The utterances were heard in a recording, by a machine or as voice alone
        (not a person's transcript, even one that kept the recording's timings)."""
        return self.speech_source != "human"

    @cached_property
    def timed_by_audio(self) -> bool:
        """The turns' times were measured in a recording, so silence between
        them is real silence (a person typing a transcript rounds and skips)."""
        return self.recorded or any(u.source == "audio" for u in self.record.utterances)

    @cached_property
    def transcript(self) -> Transcript | None:
        """What was said, with the words: None without utterances, and for a
        recording heard as voice alone (who spoke when, no words)."""
        utterances = self.record.utterances
        if not utterances or not any(u.text for u in utterances):
            return None
        sounds = self.compiled.sounds() if self.speech_source == "machine" else None
        return Transcript(utterances, self.compiled.book, sounds)

    @cached_property
    def voice(self) -> Transcript | None:
        """Who spoke when, with or without the words: what timing rules read."""
        if self.transcript is not None:
            return self.transcript
        if not self.record.utterances:
            return None
        return Transcript(self.record.utterances, self.compiled.book)

    @cached_property
    def one_track(self) -> bool:
        """A recording with one track (mono): no turn is staff's or the customer's."""
        return self.recorded and all(u.speaker == "other" for u in self.record.utterances)

    @property
    def inbound(self) -> bool:
        return self.record.direction == "inbound"

    @property
    def outbound(self) -> bool:
        return self.record.direction == "outbound"

    @cached_property
    def answered(self) -> bool | None:
        """True, False, or None when neither events nor speech tell."""
        if self.timeline.answered is not None:
            return True
        if self.timeline.has_events:
            return False
        t = self.voice
        if t is not None and t.staff and (t.customer or t.other):
            return True
        if self.recorded and self.record.utterances:  # speech heard on the line
            return True
        return None

    @cached_property
    def transcript_only(self) -> bool:
        """Nothing but what was said came with the call (a WebVTT file, say):
        no events and nothing staff kept, so record rules cannot judge it."""
        r = self.record
        reported = self.timeline.has_events  # holds heard in a recording are not kept by staff
        kept = (r.note, r.complaint, r.plan, r.memos, r.tasks, r.escalations, reported)
        return bool(r.utterances) and not any(kept)

    def at(self, t: float) -> float:
        """Epoch seconds of a moment `t` seconds into the call."""
        return self.record.started_at.timestamp() + t

    @cached_property
    def end_t(self) -> float | None:
        """When the call ended: the hang-up, else the last event or turn."""
        if self.timeline.hangup is not None:
            return self.timeline.hangup.t
        ends = [e.t for e in self.timeline.events] + [u.end for u in self.record.utterances]
        return max(ends) if ends else None
