"""Small checks that several rule families share."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from callsop.engine.call import Call
from callsop.engine.transcript import Transcript
from callsop.soundalike import partly_heard, syllables
from callsop.text import Hit, Phrase, script_forms

# A word before 會館 that makes it a place, not the club's name (到會館來).
_NOT_A_NAME_BEFORE = frozenset("到來来去在回的本貴贵")


def club_mention(call: Call, t: Transcript, among: list[int]) -> Hit | None:
    """The first mention of the club's name in the turns `among`.

    A listed name always counts; a name made by a suffix (…會館) needs at
    least one character before it that is not a preposition or pronoun."""
    names = call.compiled.club_names
    for index in among:
        for hit in _all_in_turn(t, index):
            if t.norms[index][hit.start : hit.end] in names:
                return hit
            before = t.norms[index][: hit.start]
            if before and before[-1] not in _NOT_A_NAME_BEFORE:
                return hit
    if t.sounds is not None:  # a recogniser's homophone: 信義會管 for 信義會館
        for index in among:
            heard = t.sounds.find("club_names", t.norms[index])
            if heard is not None and heard[2] in names:
                return Hit(index, heard[0], heard[1], heard[2])
        for index in among:  # a suffix heard as a homophone (會管 for 會館)
            if by_sound := _suffix_by_sound(call, t, index):
                return by_sound
    return None


def _suffix_by_sound(call: Call, t: Transcript, index: int) -> Hit | None:
    """A name made by a suffix with one character the recogniser got wrong
    but the suffix's syllables, exactly (信義會管 for 信義會館), after at
    least two words that are not a preposition or pronoun. A suffix is short,
    so nothing nearly alike counts, only the same sound, and at least one of
    its characters must be as written (回官網 is no 會館)."""
    text = t.norms[index]
    said: list[str] | None = None
    for suffix in call.policy.club.name_suffixes:
        wanted = syllables(suffix)
        n = len(wanted)
        if n < 2:
            continue
        if said is None:
            said = syllables(text)
        forms = script_forms(suffix)
        for start in range(2, len(said) - n + 1):
            if (
                said[start : start + n] != wanted
                or set(text[start - 2 : start]) & _NOT_A_NAME_BEFORE
            ):
                continue
            heard = text[start : start + n]
            if any(a == b for form in forms for a, b in zip(heard, form, strict=False)):
                return Hit(index, start, start + n, suffix)
    return None


def _all_in_turn(t: Transcript, index: int) -> list[Hit]:
    text = t.norms[index]
    hits = []
    for phrase in t.book.lists["club_names"]:
        anchor = phrase.pieces[phrase.anchor]
        at = text.find(anchor)
        while at >= 0:
            hits.append(Hit(index, at, at + len(anchor), phrase.text))
            at = text.find(anchor, at + 1)
    hits.sort(key=lambda h: h.start)
    return hits


def broke_off_for_visitor(call: Call) -> bool:
    """Staff broke the call off for a visitor (§2.3(8)): the desk tagged it
    visitor-interrupt, or staff said so (棘手情況／有訪客)."""
    if "visitor-interrupt" in call.tags:
        return True
    t = call.transcript
    return t is not None and t.first("visitor_arrived", "staff") is not None


def callback_task(call: Call) -> int | None:
    """The index of the first callback task on the record, if there is one."""
    return next((i for i, k in enumerate(call.record.tasks) if k.kind == "callback"), None)


def talk_overs(call: Call, t: Transcript) -> list[tuple[int, int, float]]:
    """(staff turn, customer turn, seconds early) for each time staff started
    speaking more than the policy's grace before the customer's turn ended."""
    cached: list[tuple[int, int, float]] | None = t.memo.get("talk_overs")
    if cached is not None:
        return cached
    found = []
    grace = call.policy.timing.talk_over_grace_s
    # A short staff sound inside the caller's turn (嗯, 對, 好) is listening,
    # not talking over: it ends before the caller does.
    nod = call.policy.timing.backchannel_max_s
    speakers, begins, ends = t.speakers, t.begins, t.ends
    last = -1  # the customer turn that began most recently
    for turn in t.order:
        speaker = speakers[turn]
        if speaker == "customer":
            last = turn
        elif speaker == "staff" and last >= 0 and ends[last] - begins[turn] > grace:
            if ends[turn] - begins[turn] < nod and ends[turn] <= ends[last]:
                continue
            found.append((turn, last, ends[last] - begins[turn]))
    t.memo["talk_overs"] = found
    return found


def maybe_misheard(call: Call, t: Transcript, list_names: Iterable[str], turns: list[int]) -> bool:
    """On a machine transcript, whether staff may have said a phrase of one
    of `list_names` in `turns` and the recogniser misheard it: a turn heard with
    no words, a short one cut off before the speaker goes on, or one holding
    most of a phrase's syllables in place, as said or nearly (緊稍後 for
    請稍候, 你好 for 您好), or ending with its first half (掰 for 拜拜). A
    fail with none of these is no misheard word."""
    if call.speech_source != "machine":
        return False
    wanted = [sounds for name in list_names for sounds in _phrase_sounds(call, name)]
    for index in turns:
        text = t.norms[index]
        if not text or (len(text) <= SPLIT_PHRASE_CHARS and _runs_on(t, index)):
            return True
        said = syllables(text)
        if any(partly_heard(sounds, said, MISHEARD_SHARE) for sounds in wanted):
            return True
    return False


# The share of a phrase's syllables a misheard saying keeps in place.
MISHEARD_SHARE = 0.6
# A recogniser cuts a set phrase (不好意思打擾了) into a segment of its own
# before the speaker goes on: a segment this short that runs on into the
# same speaker's next may be one, heard as anything (呼喚宇宙大教們).
SPLIT_PHRASE_CHARS = 8


# At most this pause between the two segments: a breath, not a hold.
SPLIT_PAUSE_S = 1.0


def _runs_on(t: Transcript, index: int) -> bool:
    place = t.position[index]
    if place + 1 >= len(t.order):
        return False
    after = t.order[place + 1]
    pause = t.utterances[after].start - t.utterances[index].end
    return t.speakers[after] == t.speakers[index] and pause <= SPLIT_PAUSE_S


@lru_cache(maxsize=64)
def _sounds_of(phrases: tuple[Phrase, ...]) -> frozenset[tuple[str, ...]]:
    return frozenset(
        tuple(syllables(piece)) for p in phrases for piece in p.pieces if len(piece) >= 2
    )


def _phrase_sounds(call: Call, list_name: str) -> frozenset[tuple[str, ...]]:
    """The syllables of each piece of the list's phrases, worked out once."""
    return _sounds_of(tuple(call.compiled.book.lists[list_name]))
