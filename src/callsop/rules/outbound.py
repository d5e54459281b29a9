"""§1 Outgoing calls: plan, opening, fetching, closing, no answer, dropped lines."""

from __future__ import annotations

import re
from datetime import datetime

from callsop.engine.call import Call
from callsop.engine.findings import Outcome, failed, not_applicable, passed
from callsop.engine.transcript import Transcript
from callsop.rules.base import (
    Rule,
    answered_or_na,
    seconds,
    speech,
    staff_turn_says,
)
from callsop.rules.common import club_mention, maybe_misheard
from callsop.rules.speech_acts import both_scripts, next_contact
from callsop.text import locate, to_simplified


def check_plan_complete(call: Call) -> Outcome:
    plan = call.record.plan
    if plan is None:
        return failed("no call plan on the record", {"field": "plan"})
    missing = [
        label
        for label, present in (
            ("purpose", bool(plan.purpose and plan.purpose.strip())),
            ("number verified", plan.number_verified),
            ("name verified", plan.name_verified),
            ("salutation", bool(plan.salutation and plan.salutation.strip())),
            ("outline", bool(plan.outline and plan.outline.strip())),
            ("time budget", bool(plan.time_budget_min)),
        )
        if not present
    ]
    if missing:
        return failed("plan lacks " + ", ".join(missing), {"field": "plan"})
    return passed(f"plan complete (budget {plan.time_budget_min:g} min)", {"field": "plan"})


def check_greeting(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    return staff_turn_says(
        call, 0, "greeting", "staff's first turn has no greeting (您好)", "greeted with {phrase}"
    )


def check_self_introduction(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    turns = t.staff[: call.policy.speech.self_introduction_turns]
    if not turns:
        return failed("staff never spoke")
    club = club_mention(call, t, turns)
    own = t.first("self_introduction", turns)
    limit = f"the first {len(turns)} staff turns"
    if club is None and own is None:
        return failed(f"named neither the club nor themselves in {limit}", t.turn(turns[0]))
    if club is None:
        return failed(
            f"did not name the club in {limit}", t.evidence(own) if own else t.turn(turns[0])
        )
    if own is None:
        role = _ROLE_AND_NAME.match(t.norms[club.utterance], club.end)
        if role is not None:  # 內湖會館的客服阿美: the club, a role and a name
            words = locate(t.texts[club.utterance], club.start, role.end() - club.start)
            return passed("named the club and themselves", t.turn(club.utterance, words))
        return failed(f"did not give their own name in {limit}", t.turn(club.utterance))
    return passed("named the club and themselves", t.turn(club.utterance), t.evidence(own))


# Right after the club's name, a role and a name (的客服阿美, 前台小美, or a
# full name ending the turn): staff saying who they are without 我是.
_ROLE_AND_NAME = both_scripts(
    "(?:的)?(?:客服|前台|柜台|会籍顾问|会籍|顾问|教练|业务|专员|经理|主任|馆长|店长|人事)"
    "(?:部|专员|人员)?(?:(?:小|阿|老)[\u4e00-\u9fff]|[\u4e00-\u9fff]{1,3}$)"
)


def check_verify_party(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    turns = t.staff[: call.policy.speech.verify_party_turns]
    if not turns:
        return failed("staff never spoke")
    hit = t.first("verify_party", turns)
    if hit is not None:
        return passed(f"checked the person ({hit.phrase})", t.evidence(hit))
    for turn in turns:
        text = t.norms[turn]
        asked = asks_who_answered(text)
        after = _next_turn(t, turn)
        if asked is None and after is not None and t.speakers[after] == "staff":
            # a recogniser's segment boundary may cut the question (請問是陳先 | 生嗎)
            asked = asks_who_answered(text + t.norms[after])
            if asked is not None and asked[0] >= len(text):
                asked = None  # wholly in the next turn: that turn is judged on its own
        if asked is not None:
            words = locate(t.texts[turn], asked[0], min(asked[1], len(text)) - asked[0])
            return passed(f"checked the person ({words})", t.turn(turn, words))
    return failed(f"did not check who answered in the first {len(turns)} staff turns")


# Asking who answered, in the many ways staff put it, with or without a
# question mark (a recogniser seldom writes one): 您是之前反映冷氣的那位嗎,
# 是陳先生本人嗎, 陳小姐嗎, 請問您是哪位, 王先生在嗎. Matched on the
# Simplified form; 嘛 and 么 are a recogniser's 嗎.
_ASKS = "(?:吗|嘛|么|吧|对吧|对不对|对吗|是吗|没错吧|是不是)"
_TITLE = "(?:先生|小姐|女士|太太|老师|家长|妈妈|爸爸|同学|阿姨|会员)"
_WHO_ANSWERED = re.compile(
    # 您是…嗎, but not 您是要…嗎 / 您是不是有…: those ask what, not who
    f"(?:您|你|妳)(?:就)?是(?!不|否|要|想|有|在|说|觉|可|会|用|打|还|已|怎|什|几|多)"
    f".{{1,20}}?{_ASKS}"
    f"|是不是.{{0,10}}?(?:本人|{_TITLE}|那位|这位)"
    f"|本人(?:{_ASKS}|呢)"
    f"|(?<!我)是.{{1,8}}?{_TITLE}(?:本人)?{_ASKS}"
    # 这里是陈家吗, 请问这是欧阳静小姐的家吗, 这是龚先生的手机吗
    f"|(?:这里|这边|那边|这)是.{{1,10}}?(?:家|手机|电话|号码){_ASKS}"
    f"|{_TITLE}(?:{_ASKS}|在吗|在不在|在家吗)"
    f"|(?:请问|您是|你是)哪位|怎么称呼(?:您|你)?|(?:您|你)怎么称呼|(?:您|你)贵姓"
)


def _next_turn(t: Transcript, turn: int) -> int | None:
    """The turn right after `turn` in time order, if any."""
    place = t.position[turn] + 1
    return t.order[place] if place < len(t.order) else None


def asks_who_answered(text: str) -> tuple[int, int] | None:
    """The span of normalised `text` that asks who answered, if any."""
    match = _WHO_ANSWERED.search(to_simplified(text))
    return None if match is None else match.span()


def check_thank_for_fetching(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    t = speech(call)
    if isinstance(t, Outcome):
        if "fetched" in call.tags:
            return t
        return not_applicable("nobody else answered")
    if "fetched" not in call.tags and not t.other:
        return not_applicable("nobody else answered")
    # The thanks belong between the fetcher's words and the person's first
    # words (or in the staff's reply to them), not at the end of the call.
    # Without an `other` turn the recogniser heard the fetcher as the
    # customer: their first turn is the fetcher's, the next the person's.
    if t.other:
        fetcher: int | None = t.other[0]
        person = t.later(t.other[0], t.customer)
        if not person and "fetched" not in call.tags:
            # 她不在: the one who answered took a message, and fetched no one.
            return not_applicable("the one who answered fetched nobody")
    else:
        fetcher = t.customer[0] if t.customer else None
        person = t.customer[1:]
    turns = t.later(fetcher, t.staff) if fetcher is not None else list(t.staff)
    if person:
        until = t.position[person[0]]
        turns = [i for i in turns if t.position[i] < until] + t.later(person[0], t.staff)[:1]
    hit = t.first("thanks", turns)
    if hit is None:
        return failed("did not thank the one who fetched the person")
    return passed(f"thanked them ({hit.phrase})", t.evidence(hit))


def check_apologize_unscheduled(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    if call.record.prearranged is None:
        return not_applicable("not recorded whether the call was prearranged")
    if call.record.prearranged:
        return not_applicable("the call was prearranged")
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    turns = t.staff[: call.policy.speech.apologize_unscheduled_turns]
    if not turns:
        return failed("staff never spoke")
    hit = t.first("apologize_interrupt", turns)
    if hit is None:
        return failed(
            f"unscheduled call without an apology in the first {len(turns)} staff turns",
            beyond_mishearing=not maybe_misheard(call, t, ["apologize_interrupt"], turns),
        )
    return passed(f"apologised for the interruption ({hit.phrase})", t.evidence(hit))


def check_next_contact(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    for i, task in enumerate(call.record.tasks):
        if task.kind in ("follow-up", "callback"):
            due = f" due {task.due.isoformat()}" if task.due else ""
            return passed(f"{task.kind} task on the record{due}", {"task": i})
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    hits = t.find("next_contact", "staff")
    if hits:
        return passed(f"next contact set ({hits[-1].phrase})", t.evidence(hits[-1]))
    found = next_contact(t)
    if found is None:
        return failed("no next contact set (in speech or as a task)")
    index, cue = found
    words = locate(t.texts[index], cue.start, cue.end - cue.start)
    return passed(f"next contact set ({words})", t.turn(index, words))


def check_no_answer_give_up(call: Call) -> Outcome:
    if call.answered is not False:
        return not_applicable("call answered" if call.answered else "no events")
    tl = call.timeline
    if tl.ringing is None:
        return not_applicable("never rang (no ringing event)")
    if tl.hangup is None:
        return not_applicable("no hang-up event")
    if tl.hangup.by != "staff":
        who = tl.hangup.by or "an unrecorded side"
        return not_applicable(f"ended by {who}, not given up by staff")
    target = call.policy.timing.give_up_rings
    slack = call.policy.timing.give_up_tolerance_rings
    rings = tl.ring_count(tl.hangup.t, call.policy.timing.ring_period_s) or 0
    evidence = ({"t": tl.ringing.t}, {"t": tl.hangup.t})
    if rings < target - slack:
        return failed(f"gave up after {rings} rings (< {target - slack})", *evidence)
    if rings > target + slack:
        return failed(f"gave up after {rings} rings (> {target + slack})", *evidence)
    return passed(f"gave up after {rings} rings ({target} ± {slack})", *evidence)


def _when(epoch: float, call: Call) -> str:
    return datetime.fromtimestamp(epoch, call.policy.tz).strftime("%H:%M:%S")


def check_retry_after_no_answer(call: Call) -> Outcome:
    if call.answered is not False:
        return not_applicable("call answered" if call.answered else "no events")
    if "final" in call.tags:
        return not_applicable("marked final: not to be retried")
    phone = call.record.customer.phone if call.record.customer else None
    if not phone:
        return not_applicable("no customer number to match a retry")
    end = call.end_t or 0.0
    gave_up = call.at(end)
    timing = call.policy.timing
    low, high = timing.retry_after_min_s, timing.retry_after_max_s
    window = f"{seconds(low)}–{seconds(high)}"
    nxt = call.history.next_call(phone, gave_up, exclude=call.index, direction="outbound")
    if nxt is None:
        if call.now is not None and call.now < gave_up + high:
            return not_applicable(f"retry due by {_when(gave_up + high, call)}")
        return failed(f"no retry to this number ({window} later)", {"t": end})
    delay = nxt.at - gave_up
    evidence = ({"t": end}, {"call": nxt.id, "at": _when(nxt.at, call)})
    if delay < low:
        return failed(f"retried after {seconds(delay)} (< {seconds(low)})", *evidence)
    if delay > high:
        return failed(f"retried after {seconds(delay)} (> {seconds(high)})", *evidence)
    return passed(f"retried after {seconds(delay)} ({window})", *evidence)


def check_redial_after_drop(call: Call) -> Outcome:
    hangup = call.timeline.hangup
    if hangup is None or hangup.by != "network":
        return not_applicable("line not dropped")
    phone = call.record.customer.phone if call.record.customer else None
    if not phone:
        return not_applicable("no customer number to match a redial")
    dropped = call.at(hangup.t)
    limit = call.policy.timing.redial_within_s
    nxt = call.history.next_call(phone, dropped, exclude=call.index)
    if nxt is not None and call.inbound and nxt.direction == "inbound":
        delay = nxt.at - dropped
        if delay <= limit:
            return passed(
                f"the customer called back after {seconds(delay)} (≤ {seconds(limit)})",
                {"t": hangup.t},
                {"call": nxt.id, "at": _when(nxt.at, call)},
            )
    redial = call.history.next_call(phone, dropped, exclude=call.index, direction="outbound")
    if redial is None:
        if call.now is not None and call.now < dropped + limit:
            return not_applicable(f"redial due by {_when(dropped + limit, call)}")
        return failed(f"line dropped at {seconds(hangup.t)}; never redialled", {"t": hangup.t})
    delay = redial.at - dropped
    evidence = ({"t": hangup.t}, {"call": redial.id, "at": _when(redial.at, call)})
    if delay > limit:
        return failed(f"redialled after {seconds(delay)} (> {seconds(limit)})", *evidence)
    return passed(f"redialled after {seconds(delay)} (≤ {seconds(limit)})", *evidence)


RULES = (
    Rule(
        id="outbound.plan-complete",
        direction="outbound",
        clause="1.1(1)(2)(3)(4)",
        title="撥打前準備完整",
        sources=("record",),
        applies="outbound calls",
        checks="the call has a plan with purpose, verified number, verified name with how to "
        "address them, an outline, and a time budget",
        applies_zh="撥出電話",
        checks_zh="通話有撥打計畫，含目的、已核實的號碼、已核實的姓名與稱呼、"
        "談話大綱及預計通話時間",
        why="明確打電話的目的及交談的方向；核實電話號碼、姓名（確定對方的稱呼）；事先準備好講話內容"
        "或交談的框架；控制好雙方通話的時間。",
        check=check_plan_complete,
    ),
    Rule(
        id="outbound.greeting",
        direction="outbound",
        clause="1.2(1)",
        title="接通後禮貌問候",
        sources=("speech",),
        applies="outbound calls that were answered",
        checks="the staff's first turn greets (您好 or a variant)",
        applies_zh="已接通的撥出電話",
        checks_zh="館員的第一句話有問候（您好或類似說法）",
        why="電話接通後，禮貌問候。如：您好！",
        options=("phrases.greeting",),
        check=check_greeting,
    ),
    Rule(
        id="outbound.self-introduction",
        direction="outbound",
        clause="1.2(1)",
        title="自我介紹",
        sources=("speech",),
        applies="outbound calls that were answered",
        checks="within the staff's first turns they name the club and themselves "
        "(我是…／敝姓…／…會館)",
        applies_zh="已接通的撥出電話",
        checks_zh="館員在開頭幾句話內報出會館名稱與自己的名字（我是…／敝姓…／…會館）",
        why="極時做自我介紹。",
        options=(
            "speech.self_introduction_turns",
            "phrases.self_introduction",
            "club.names",
            "club.name_suffixes",
        ),
        check=check_self_introduction,
    ),
    Rule(
        id="outbound.verify-party",
        direction="outbound",
        clause="1.2(1)",
        title="核實對方身分",
        sources=("speech",),
        applies="outbound calls that were answered",
        checks="within the staff's first turns they check they reached the intended person "
        "(請問是…嗎／請問您是…／…在嗎, and in other words: 您是之前反映…的那位嗎, "
        "是陳先生本人嗎, 陳小姐嗎, 請問您是哪位; with or without a question mark)",
        applies_zh="已接通的撥出電話",
        checks_zh="館員在開頭幾句話內確認找到要找的人（請問是…嗎／請問您是…／…在嗎，"
        "或其他說法：您是之前反映…的那位嗎、是陳先生本人嗎、陳小姐嗎、請問您是哪位；"
        "有無問號皆可）",
        why="同時核實對方是否是你要找的人。",
        options=("speech.verify_party_turns", "phrases.verify_party"),
        check=check_verify_party,
    ),
    Rule(
        id="outbound.thank-for-fetching",
        direction="outbound",
        clause="1.2(2)",
        title="向代找者致謝",
        sources=("speech",),
        applies="outbound calls where someone else answered and fetched the person "
        "(tag fetched, or a turn by speaker other)",
        checks="after the other person spoke, staff thanks them (謝謝／多謝／麻煩您了)",
        applies_zh="由他人接聽並代找對方的撥出電話（標記 fetched，或有說話者為 other 的發言）",
        checks_zh="他人發言後，館員向其致謝（謝謝／多謝／麻煩您了）",
        why="請對方找來你要找的人與你通話，並向對方致謝。",
        options=("phrases.thanks",),
        check=check_thank_for_fetching,
    ),
    Rule(
        id="outbound.apologize-unscheduled",
        direction="outbound",
        clause="1.2(3)",
        title="非預約來電致歉",
        sources=("speech",),
        applies="outbound calls that were answered and not prearranged",
        checks="within the staff's first turns they apologise for the interruption "
        "(打擾了／不好意思打擾／是不是打擾了您)",
        applies_zh="已接通且未事先預約的撥出電話",
        checks_zh="館員在開頭幾句話內為打擾致歉（打擾了／不好意思打擾／是不是打擾了您）",
        why="如果不是事先預約的電話，要表示歉意：「我是不是打擾了你的重要事情」。",
        options=("speech.apologize_unscheduled_turns", "phrases.apologize_interrupt"),
        check=check_apologize_unscheduled,
    ),
    Rule(
        id="outbound.next-contact",
        direction="outbound",
        clause="1.2(4)",
        title="為下次接觸留下理由",
        sources=("speech", "record"),
        applies="outbound calls that were answered",
        checks="a next contact is set out: in speech (再跟您聯絡／下次／改天…) or as a "
        "follow-up or callback task on the record",
        applies_zh="已接通的撥出電話",
        checks_zh="約定了下次聯絡：在對話中（再跟您聯絡／下次／改天…），"
        "或紀錄上有後續追蹤或回電任務",
        why="達到目的後，馬上結束通話，並為下一次接觸留下理由。",
        options=("phrases.next_contact",),
        check=check_next_contact,
    ),
    Rule(
        id="outbound.no-answer-give-up",
        direction="outbound",
        clause="1.4(1)",
        title="鈴響十次無人接聽即掛斷",
        sources=("events",),
        applies="outbound calls never answered that staff ended",
        checks="staff gave up at the policy's 10 rings, ±1 (not earlier, not later)",
        applies_zh="始終無人接聽、由館員結束的撥出電話",
        checks_zh="館員在設定的 10 聲（±1 聲）時掛斷，不早也不晚",
        why="鈴響十次無人接聽，應掛斷。",
        options=("timing.give_up_rings", "timing.give_up_tolerance_rings", "timing.ring_period_s"),
        check=check_no_answer_give_up,
    ),
    Rule(
        id="outbound.retry-after-no-answer",
        direction="outbound",
        clause="1.4(1)",
        title="3–5 分鐘後再撥",
        sources=("history",),
        applies="outbound calls never answered and not tagged final",
        checks="the same number was dialled again 3–5 minutes after the give-up",
        applies_zh="始終無人接聽且未標記 final 的撥出電話",
        checks_zh="掛斷後 3–5 分鐘再次撥打同一號碼",
        why="鈴響十次無人接聽，應掛斷，3-5分鐘後再試著撥打。",
        options=("timing.retry_after_min_s", "timing.retry_after_max_s"),
        check=check_retry_after_no_answer,
    ),
    Rule(
        id="outbound.redial-after-drop",
        clause="1.4(4)",
        title="斷線立即重撥",
        sources=("history",),
        applies="calls that ended by a dropped line (hang-up by network)",
        checks="staff dialled the same number again within 60 s (for an incoming call, "
        "the customer calling straight back also counts)",
        applies_zh="因斷線而結束的通話（由 network 掛斷）",
        checks_zh="館員在 60 秒內重撥同一號碼（來電斷線時，客戶立即回撥也算）",
        why="不小心終斷電話，要立即進行重撥。",
        options=("timing.redial_within_s",),
        check=check_redial_after_drop,
    ),
)
