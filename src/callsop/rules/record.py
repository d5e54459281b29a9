"""§4(2) and §4(12): what staff keep about the call, and which line it used."""

from __future__ import annotations

from callsop.engine.call import Call
from callsop.engine.findings import Outcome, failed, not_applicable, passed
from callsop.record.model import Note
from callsop.rules.base import Rule, answered_or_na

_FIELDS = ("when", "who", "where", "what", "why", "how")
_MAY_BE_IRRELEVANT = {"where"}


def check_five_w_one_h(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    note = call.record.note
    missing = _missing(note) if note is not None else None
    wrong_number = "wrong-number" in call.tags
    if wrong_number and (missing is None or missing):
        # §2.3(4) asks only for warmth on a wrong number: there is no matter to note.
        return not_applicable("a wrong number: nothing to note")
    if missing is None and call.transcript_only:
        return not_applicable("a transcript alone: nothing kept with the call")
    if missing is None:
        return failed("no call note", {"field": "note"})
    if missing:
        return failed(f"the note lacks {', '.join(missing)}", {"field": "note"})
    # A wrong number noted in full is noted: the clerk did more than was owed.
    why = " (a wrong number)" if wrong_number else ""
    return passed(f"the note fills WHEN, WHO, WHERE, WHAT, WHY, HOW{why}", {"field": "note"})


def _missing(note: Note) -> list[str]:
    """The 5W1H fields a note leaves empty, upper-case."""
    missing = []
    for name in _FIELDS:
        value = (getattr(note, name) or "").strip()
        if not value or (value == "-" and name not in _MAY_BE_IRRELEVANT):
            missing.append(name.upper())
    return missing


def check_business_only(call: Call) -> Outcome:
    if call.record.line not in call.policy.club.consult_lines:
        if call.record.line is None:
            return not_applicable("no line recorded")
        return not_applicable(f"line {call.record.line} is not a consultation line")
    purpose = call.record.purpose
    if purpose is None:
        return not_applicable("the call's purpose is not recorded")
    if purpose != "business":
        return failed(
            f"a {purpose} call on the consultation line {call.record.line}", {"field": "purpose"}
        )
    return passed("a business call", {"field": "purpose"})


RULES = (
    Rule(
        id="note.five-w-one-h",
        clause="4(2), 3(6)",
        title="5W1H 記錄完整",
        sources=("record",),
        applies="answered calls, except a wrong number (tag wrong-number): §2.3(4) asks only "
        "that staff stay warm, and there is no matter to note",
        checks='the call note fills WHEN, WHO, WHERE, WHAT, WHY, HOW (WHERE may be "-", not relevant)',
        applies_zh="已接通的通話；打錯電話（標記 wrong-number）除外：§2.3(4) 只要求親切對待，沒有事情需要記錄",
        checks_zh='通話記錄填寫了 WHEN、WHO、WHERE、WHAT、WHY、HOW（WHERE 可填 "-" 表示不相關）',
        why="要遵循「5W1H」法則：WHEN什麼時候、WHO物件是誰、WHERE在什麼地點、WHAT什麼事、WHY為什麼、HOW如何進行。"
        "（§2.3(4)：接到不是自己的電話或打錯的電話都要親切對待。）",
        check=check_five_w_one_h,
    ),
    Rule(
        id="line.business-only",
        direction="outbound",
        clause="4(12)",
        title="諮詢電話不打私人電話",
        sources=("record",),
        applies="outbound calls on a consultation line",
        checks="the call's purpose is business",
        applies_zh="使用諮詢專線的撥出電話",
        checks_zh="通話目的為業務",
        why="不要用諮詢電話往外打非業務電話；保障電話業務的暢通無阻。",
        options=("club.consult_lines",),
        check=check_business_only,
    ),
)
