"""Small checks that several rule families share."""

from __future__ import annotations

from dataclasses import dataclass

from callsop.engine.call import Call
from callsop.engine.transcript import Transcript
from callsop.text import Hit, locate, to_simplified

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


@dataclass(frozen=True)
class Address:
    """Staff calling someone by surname and title (王先生) in turn `turn`."""

    turn: int
    surname: str  # in Simplified script, to compare across scripts
    words: str  # as said
    known_then: bool  # the caller said it, or the record held it, before


@dataclass(frozen=True)
class Names:
    addresses: tuple[Address, ...]
    held: frozenset[str]  # surnames the record held before the call
    given: dict[int, frozenset[str]]  # turn -> surnames the caller gave in it (我姓王)

    @property
    def caller_surnames(self) -> frozenset[str]:
        """The caller's own surname(s): held by the record or given in speech."""
        return self.held.union(*self.given.values())


def _held_surnames(call: Call) -> set[str]:
    compiled, record = call.compiled, call.record
    held = set()
    if record.customer and record.customer.known:
        surname = compiled.surname_of(record.customer.name)
        if surname:
            held.add(to_simplified(surname))
    if record.plan and record.plan.salutation:
        held |= {to_simplified(s) for s in compiled.addressed_in(record.plan.salutation)}
        surname = compiled.surname_of(record.plan.salutation)
        if surname:
            held.add(to_simplified(surname))
    return held


def names(call: Call, t: Transcript) -> Names:
    """Who was called what on this call, worked out once for every rule."""
    cached: Names | None = t.memo.get("names")
    if cached is not None:
        return cached
    compiled = call.compiled
    held = _held_surnames(call)
    given: dict[int, set[str]] = {}
    for hit in t.find("caller_name_given"):
        if t.speakers[hit.utterance] == "staff":
            continue
        after = t.norms[hit.utterance][hit.end : hit.end + 2]
        for size in (2, 1):
            if after[:size] in compiled.surnames:
                given.setdefault(hit.utterance, set()).add(to_simplified(after[:size]))
                break
    mentioned: dict[int, set[str]] = {}  # by the caller or a third person: 王先生在嗎
    said_by_staff: dict[int, list[tuple[str, str]]] = {}
    for hit in t.find("titles"):
        surname = compiled.surname_before(t.norms[hit.utterance], hit.start)
        if surname is None:
            continue
        turn = hit.utterance
        if t.speakers[turn] == "staff":
            start = hit.start - len(surname)
            words = locate(t.texts[turn], start, hit.end - start)
            said_by_staff.setdefault(turn, []).append((to_simplified(surname), words))
        else:
            mentioned.setdefault(turn, set()).add(to_simplified(surname))
    known = set(held)
    addresses = []
    for turn in sorted({*said_by_staff, *given, *mentioned}, key=t.position.__getitem__):
        for surname, words in said_by_staff.get(turn, ()):
            addresses.append(Address(turn, surname, words, surname in known))
        known |= given.get(turn, set()) | mentioned.get(turn, set())
    result = Names(tuple(addresses), frozenset(held), {k: frozenset(v) for k, v in given.items()})
    t.memo["names"] = result
    return result
