"""§2.3(7) Complaints: listened to, clarified, and logged the same day."""

from __future__ import annotations

from callsop.engine.call import Call
from callsop.engine.findings import Outcome, failed, not_applicable, passed
from callsop.rules.base import Rule, speech
from callsop.rules.common import talk_overs
from callsop.rules.speech_acts import clarifying_question, complaint_heard, in_stock_offer


def _is_complaint(call: Call) -> bool:
    return "complaint" in call.tags


def check_same_day_record(call: Call) -> Outcome:
    if not _is_complaint(call):
        return not_applicable("not a complaint")
    entry = call.record.complaint
    if entry is None:
        return failed("complaint call with no complaint entry", {"field": "complaint"})
    tz = call.policy.tz
    call_day = call.record.started_at.astimezone(tz).date()
    logged = entry.logged_at.astimezone(tz)
    evidence = {"field": "complaint.logged_at", "at": logged.isoformat(timespec="minutes")}
    if logged.date() != call_day:
        return failed(
            f"logged on {logged.date().isoformat()}, not the call's day ({call_day.isoformat()})",
            evidence,
        )
    return passed(f"logged the same day at {logged.strftime('%H:%M')}", evidence)


def check_listen_and_clarify(call: Call) -> Outcome:
    # §2.3(7) is about a caller who is unhappy or complains: tagged so on
    # the desk, or heard so in the call when nobody tagged it.
    tagged = _is_complaint(call)
    t = speech(call)
    if not tagged and (isinstance(t, Outcome) or complaint_heard(t) is None):
        return not_applicable("not a complaint")
    if isinstance(t, Outcome):
        return t
    after = t.utterances[t.customer[0]].start if t.customer else 0.0
    staff = [i for i in t.staff if t.utterances[i].start >= after]
    # A phrase of the list counts outside the stock offer (请问 opens
    # 请问还有其他可以帮您的吗 too); else any question that is no offer.
    plain = t.norms
    listed = t.find("clarify", staff)
    question = next(
        (h for h in listed if not in_stock_offer(plain[h.utterance], h.start, h.end)), None
    )
    asked = t.evidence(question) if question is not None else None
    if asked is None:
        found = clarifying_question(t, staff)
        if found is not None:
            asked = t.turn(found[0])
    overs = talk_overs(call, t)
    if overs:
        s, _, early = overs[0]
        return failed(f"talked over the customer ({early:.1f} s before they finished)", t.turn(s))
    if asked is None:
        return failed("asked the complaining customer no clarifying question")
    return passed("listened and asked to clarify", asked)


RULES = (
    Rule(
        id="complaint.same-day-record",
        clause="2.3(7)",
        title="抱怨當日記錄",
        sources=("record",),
        applies="calls tagged complaint",
        checks="a complaint entry exists, logged on the same day as the call (in the policy's "
        "time zone)",
        applies_zh="標記為 complaint 的通話",
        checks_zh="有客訴紀錄，且與通話在同一天登記（以設定的時區為準）",
        why="來話表示不滿、抱怨的要先誠懇，聽對方講述，不明則問。並做好當日記錄。",
        options=("timing.timezone",),
        check=check_same_day_record,
    ),
    Rule(
        id="complaint.listen-and-clarify",
        clause="2.3(7), 3(5)",
        title="傾聽並問清楚",
        sources=("speech",),
        applies="calls tagged complaint, or where the caller complains in speech",
        checks="staff asks at least one clarifying question and never talks over the customer; "
        "a question is known by its words, not its punctuation (a final 嗎／呢, 有沒有, 是不是, "
        "什麼, 哪, 幾, 怎麼…), and the stock offer 請問還有其他可以幫您的嗎 is none",
        applies_zh="標記為 complaint 的通話，或來電者在通話中抱怨、投訴",
        checks_zh="館員至少問一個釐清問題，且從不搶話打斷客戶；是否提問看用字而非標點"
        "（句末的嗎／呢、有沒有、是不是、什麼、哪、幾、怎麼…），制式的「請問還有其他可以幫您的嗎」不算",
        why="聽對方講述，不明則問。認真傾聽，挑選出對自己有利的線索和下面交流的切入點。",
        options=("phrases.clarify", "timing.talk_over_grace_s"),
        check=check_listen_and_clarify,
    ),
)
