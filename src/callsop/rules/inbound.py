"""§2 Incoming calls: answering, greeting, asking who calls, memos, transfers,
escalation, contact details, visitors."""

from __future__ import annotations

from callsop.engine.call import Call
from callsop.engine.findings import Outcome, failed, not_applicable, passed
from callsop.engine.transcript import Transcript
from callsop.rules.base import NO_SPEECH, Rule, answered_or_na, speech
from callsop.rules.common import broke_off_for_visitor, callback_task, club_mention
from callsop.rules.names import names
from callsop.rules.speech_acts import Gate, both_scripts, next_contact
from callsop.text import locate, normalise


def _rings_to_answer(call: Call) -> int | None:
    tl = call.timeline
    if tl.answered is None:
        return None
    return tl.ring_count(tl.answered.t, call.policy.timing.ring_period_s)


def check_answer_promptly(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    rings = _rings_to_answer(call)
    tl = call.timeline
    if rings is None or tl.ringing is None or tl.answered is None:
        return not_applicable("no ringing or answer event")
    limit = call.policy.timing.answer_within_rings
    evidence = ({"t": tl.ringing.t}, {"t": tl.answered.t})
    if rings > limit:
        return failed(f"answered after {rings} rings (> {limit})", *evidence)
    return passed(f"answered after {rings} rings (≤ {limit})", *evidence)


def check_apologize_late_answer(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    rings = _rings_to_answer(call)
    limit = call.policy.timing.answer_within_rings
    if rings is None:
        return not_applicable("no ringing or answer event")
    if rings <= limit:
        return not_applicable(f"answered within {limit} rings")
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    if not t.staff:
        return failed("staff never spoke")
    first = t.staff[0]
    hit = t.first("late_answer_apology", [first])
    if hit is None:
        return failed(f"answered after {rings} rings; no apology for the wait", t.turn(first))
    return passed(f"apologised for {rings} rings ({hit.phrase})", t.evidence(hit))


OPENING_GAP_S = 1.0  # a recogniser's cut within one sentence: the same breath


# The staff's first turn heard this soon after the answer is the opening itself.
OPENING_HEARD_S = 2.0


def opening_turns(t: Transcript) -> list[int]:
    """The staff's first turn, with the staff turns that carry it on before
    the caller says anything: a recogniser cuts 「您好」｜「信義會館…」 in two."""
    first = t.staff[0]
    opening = [first]
    end = t.ends[first]
    for index in t.staff[1:]:
        if t.begins[index] - end > OPENING_GAP_S or any(
            end <= t.begins[c] < t.begins[index] for c in t.customer
        ):
            break
        opening.append(index)
        end = t.ends[index]
    return opening


def _opening_heard(call: Call, t: Transcript, first: int) -> bool:
    """Whether the staff's first turn is the opening itself: heard right
    after the answer and before the caller spoke (a recogniser that lost a
    noisy greeting starts later)."""
    answered = call.timeline.answered
    return (
        answered is not None
        and t.begins[first] - answered.t <= OPENING_HEARD_S
        and (not t.customer or t.begins[first] < t.begins[t.customer[0]])
    )


def check_greeting_with_club_name(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    if not t.staff:
        return failed("staff never spoke")
    first = t.staff[0]
    opening = opening_turns(t)
    greeting = t.first("greeting", opening)
    club = club_mention(call, t, opening)
    said = t.turn(first, " ".join(t.texts[i] for i in opening))
    if greeting is None and club is None:  # two misses no one misheard word explains
        return failed(
            "first turn has neither a greeting nor the club's name",
            said,
            beyond_mishearing=_opening_heard(call, t, first),
        )
    if greeting is None:
        return failed("first turn names the club but does not greet", said)
    if club is None:
        return failed("first turn greets but does not name the club", said)
    return passed("greeted and named the club", said)


# A caller who says whose family they are (我是小雯的媽媽) has said who they
# are as plainly as a surname would; a friend or a colleague has not.
_FAMILY_OF = both_scripts(
    "我是[^，。？！]{1,6}的(?:妈妈|妈|爸爸|爸|母亲|父亲|太太|老婆|先生|老公|女儿|儿子"
    "|姐姐|妹妹|哥哥|弟弟|家人|家长|奶奶|爷爷|外婆|外公)"
)
_FAMILY_OF_GATE = Gate("我是")


def check_ask_caller_identity(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    t = speech(call)
    asked_by_tag = "asks-for-person" in call.tags
    if isinstance(t, Outcome):
        return t if asked_by_tag else not_applicable("the caller asked for nobody")
    request = t.first("asks_for_person", "customer")
    if not asked_by_tag and request is None:
        return not_applicable("the caller asked for nobody")
    staff: list[int] | str = "staff"
    customer: list[int] | str = "customer"
    answered_at = call.timeline.answered.t if call.timeline.answered else 0.0
    handovers = [e.t for e in call.timeline.transfers if e.t >= answered_at]  # not PBX routing
    if handovers:  # what counts is asked before the handover
        cutoff = handovers[0]
        staff = [i for i in t.staff if t.utterances[i].start < cutoff]
        customer = [i for i in t.customer if t.utterances[i].start < cutoff]
    name = t.first("ask_name", staff)
    purpose = t.first("ask_purpose", staff)
    given = names(call, t)
    known = bool(given.held) or bool(call.record.customer and call.record.customer.known)
    caller_turns = t.customer if isinstance(customer, str) else customer
    volunteered_name = any(given.given.get(i) for i in caller_turns) or any(
        i in caller_turns and _FAMILY_OF.search(t.norms[i]) for i in _FAMILY_OF_GATE.turns(t)
    )
    volunteered_purpose = t.first("purpose_given", customer)
    missing = []
    if name is None and not volunteered_name and not known:
        missing.append("name (貴姓)")
    if purpose is None and volunteered_purpose is None:
        missing.append("purpose (有什麼事)")
    if missing:
        before = " before the transfer" if handovers else ""
        return failed("did not ask the caller's " + " or ".join(missing) + before)
    evidence = [t.evidence(h) for h in (name, purpose) if h is not None]
    return passed("asked who is calling and why", *evidence)


def check_message_for_absent(call: Call) -> Outcome:
    if "person-absent" not in call.tags:
        return not_applicable("the person asked for was not away")
    memos = call.record.memos
    if not memos:
        return failed("no memo on the record for the absent colleague", {"field": "memos"})
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    hit = t.first("offer_message", "staff")
    if hit is None:
        return failed("staff did not offer to take a message or a number")
    who = memos[0].for_ or "the colleague"
    return passed(f"offered a message ({hit.phrase}); memo for {who}", t.evidence(hit), {"memo": 0})


def check_warm_transfer(call: Call) -> Outcome:
    transfers = call.timeline.transfers
    if not transfers:
        return not_applicable("no transfer")
    minimum = call.policy.speech.min_transfer_summary_chars
    for event in transfers:
        summary = normalise(event.summary or "")
        if len(summary) < minimum:
            to = f" to {event.to}" if event.to else ""
            detail = (
                "without a briefing"
                if not summary
                else f"with a {len(summary)}-character briefing (< {minimum})"
            )
            return failed(f"transfer at {event.t:g} s{to} {detail}", {"t": event.t})
    count = "one transfer" if len(transfers) == 1 else f"{len(transfers)} transfers"
    return passed(
        f"{count}, each with a briefing", *({"t": e.t, "summary": e.summary} for e in transfers)
    )


def check_escalate_urgent(call: Call) -> Outcome:
    note = call.record.note
    if note is None or not note.urgent:
        return not_applicable("the call note is not marked urgent")
    if not call.record.escalations:
        return failed("urgent note, no escalation on the record", {"field": "escalations"})
    to = call.record.escalations[0].to or "a superior"
    return passed(f"escalated to {to}", {"escalation": 0})


def _follow_up_owed(call: Call) -> str | None:
    record = call.record
    if record.memos:
        return "memo"
    if any(task.kind == "callback" for task in record.tasks):
        return "callback"
    if record.complaint is not None or "complaint" in call.tags:
        return "complaint"
    if any(task.kind == "follow-up" for task in record.tasks):
        return "follow-up"  # a contract to mail, a booking to confirm
    t = call.transcript
    if t is not None and any(
        t.speakers[i] == "staff" and _CALLBACK_PROMISE.search(t.norms[i])
        for i in _CALLBACK_PROMISE_GATE.turns(t)
    ):
        return "callback"  # promised in words: 我請她回您, 館長五分鐘內回電給您
    return None


# Staff promising that someone will call the caller back: a follow-up owed
# even when the clerk set no task for it.
_CALLBACK_PROMISE = both_scripts(
    "(?:请|让|叫)(?:他|她)[^，。？！]{0,4}回(?:您|你)"
    "|回电(?:话)?给(?:您|你)|给(?:您|你)回电|回(?:您|你)电话"
    "|(?:再|会)(?:跟|和|与)(?:您|你)(?:联络|联系)|(?:再|会)打(?:电话)?给(?:您|你)"
)
_CALLBACK_PROMISE_GATE = Gate("回您 回你 回电 联络 联系 打给 打电话给")


def check_ask_contact_details(call: Call) -> Outcome:
    owed = _follow_up_owed(call)
    if owed is None:
        return not_applicable("no follow-up owed")
    record = call.record
    # The caller ID (customer.phone) alone does not count: it shows the line
    # that rang, not a number the caller gave for the follow-up. A customer
    # on file with that number is another matter: the club has it already.
    for where, phone in (
        *((f"memos[{i}]", m.phone) for i, m in enumerate(record.memos)),
        *((f"tasks[{i}]", task.phone) for i, task in enumerate(record.tasks)),
    ):
        if phone:
            return passed(f"a contact number is on the record ({where})", {"field": where})
    customer = record.customer
    if customer is not None and customer.known and customer.phone:
        return passed(
            "the caller is on file with a contact number (customer.phone)",
            {"field": "customer.phone"},
        )
    t = speech(call)
    if isinstance(t, Outcome):
        return not_applicable(f"{owed} owed; no number on the record and no transcript")
    hit = t.first("ask_contact", "staff")
    if hit is not None:
        return passed(f"asked for a contact number ({hit.phrase})", t.evidence(hit))
    # The caller naming the line they call from (回我這支就好) gives that number.
    if customer is not None and customer.phone:
        for turn in t.customer:
            said = _THIS_NUMBER.search(t.norms[turn])
            if said is not None:
                words = locate(t.texts[turn], said.start(), said.end() - said.start())
                return passed(
                    f"the caller gave the number they call from ({words}; customer.phone)",
                    t.turn(turn, words),
                    {"field": "customer.phone"},
                )
    return failed(f"{owed} owed, but no contact number asked for or recorded")


# A caller giving the number they call from for the follow-up: 我这个号码就行,
# 打这支就好, 回我这个电话.
_THIS_NUMBER = both_scripts(
    "(?:打|回|拨|联络|联系|找)(?:给)?我?(?:(?:这个|这只)(?:号码|号|电话|手机)|这支(?:号码|电话|手机)?)"
    "|(?:这个|这支|这只)(?:号码|号|电话|手机)(?:就)?(?:好|行|可以)"
)


def check_visitor_callback(call: Call) -> Outcome:
    if not broke_off_for_visitor(call):
        return not_applicable("no visitor broke off the call")
    task = callback_task(call)
    t = call.transcript
    if task is None:
        return failed("broke off for a visitor; no callback task on the record", {"field": "tasks"})
    if t is None:
        return NO_SPEECH
    hit = t.first("visitor_callback", "staff")
    if hit is not None:
        return passed(
            f"promised a callback ({hit.phrase}) and set the task", t.evidence(hit), {"task": task}
        )
    # In the clerk's own words: a time ahead and a call (稍後我打給您, 我十分鐘內回您).
    found = next_contact(t, calls_only=True)
    if found is None:
        return failed("did not tell the caller they would be called back")
    index, cue = found
    words = locate(t.texts[index], cue.start, cue.end - cue.start)
    return passed(
        f"promised a callback ({words}) and set the task", t.turn(index, words), {"task": task}
    )


RULES = (
    Rule(
        id="inbound.answer-promptly",
        direction="inbound",
        clause="2.2(2)",
        title="三聲內接聽",
        sources=("events",),
        applies="incoming calls that were answered",
        checks="answered within the policy's 3 rings",
        applies_zh="已接聽的來電",
        checks_zh="在設定的 3 聲內接聽",
        why="鈴響三聲之內，接起電話。",
        options=("timing.answer_within_rings", "timing.ring_period_s"),
        check=check_answer_promptly,
    ),
    Rule(
        id="inbound.apologize-late-answer",
        direction="inbound",
        clause="2.2(2)",
        title="超過三聲要道歉",
        sources=("events", "speech"),
        applies="incoming calls answered after more than 3 rings",
        checks="staff apologises for the wait in the first turn (讓您久等了／抱歉久等)",
        applies_zh="響鈴超過 3 聲才接聽的來電",
        checks_zh="館員第一句話為久候致歉（讓您久等了／抱歉久等）",
        why="超過三聲要道歉。",
        options=("timing.answer_within_rings", "phrases.late_answer_apology"),
        check=check_apologize_late_answer,
    ),
    Rule(
        id="inbound.greeting-with-club-name",
        direction="inbound",
        clause="2.2(2)",
        title="問候並自報家門",
        sources=("speech",),
        applies="incoming calls that were answered",
        checks="the staff's first turn greets and names the club",
        applies_zh="已接聽的來電",
        checks_zh="館員第一句話有問候並報出會館名稱（自報家門）",
        why="接起電話，禮貌問候，自報家門。",
        options=("phrases.greeting", "club.names", "club.name_suffixes"),
        check=check_greeting_with_club_name,
    ),
    Rule(
        id="inbound.ask-caller-identity",
        direction="inbound",
        clause="2.2(3)",
        title="問清姓名、單位、事由",
        sources=("speech",),
        applies="incoming calls where the caller asks for a particular person "
        "(tag asks-for-person, or words like 找…教練／…在嗎)",
        checks="before a transfer, staff asks the caller's name (請問您貴姓／哪裡找) and purpose "
        "(請問有什麼事), unless the caller already gave them",
        applies_zh="來電者指名找特定人員的來電（標記 asks-for-person，或有 找…教練／…在嗎 等用語）",
        checks_zh="轉接前，館員詢問來電者姓名（請問您貴姓／哪裡找）與事由"
        "（請問有什麼事），來電者已先說明者除外",
        why="明確找某人的電話，要問清對方姓名、單位、事由。",
        options=(
            "phrases.asks_for_person",
            "phrases.ask_name",
            "phrases.ask_purpose",
            "phrases.caller_name_given",
            "phrases.purpose_given",
        ),
        check=check_ask_caller_identity,
    ),
    Rule(
        id="inbound.message-for-absent",
        direction="inbound",
        clause="2.3(1)(2)",
        title="不在時轉告並填備忘錄",
        sources=("speech", "record"),
        applies="incoming calls where the person asked for is out or busy (tag person-absent)",
        checks="staff offers to pass a message or take a number, and a memo is on the record",
        applies_zh="所找人員外出或忙碌的來電（標記 person-absent）",
        checks_zh="館員表示可代為轉告或請對方留下電話，且紀錄上有備忘錄",
        why="對方來電話找人不在或正在開會時應注意用語，並填寫備忘錄。如：有什麼事情是否需要我轉告他"
        "（她）或請您留下電話號碼，等他回來後和您聯繫好嗎？",
        options=("phrases.offer_message",),
        check=check_message_for_absent,
    ),
    Rule(
        id="inbound.warm-transfer",
        clause="2.3(2)(5)(6)",
        title="轉接前先簡報",
        sources=("events", "record"),
        applies="calls with a transfer",
        checks="every transfer carries a short summary for the receiver",
        applies_zh="有轉接的通話",
        checks_zh="每次轉接都附上給接手者的簡短摘要",
        why="在轉交前，應先把對方所談內容簡明扼要的告訴接收人。",
        options=("speech.min_transfer_summary_chars",),
        check=check_warm_transfer,
    ),
    Rule(
        id="inbound.escalate-urgent",
        clause="2.2(4)",
        title="緊急事項即時上報",
        sources=("record",),
        applies="calls whose note is marked urgent",
        checks="an escalation to a superior is on the record",
        applies_zh="通話記錄標示為緊急的通話",
        checks_zh="紀錄上有向上級呈報的記載",
        why="做好電話記錄，緊急事項要及時向上報告並處理。",
        check=check_escalate_urgent,
    ),
    Rule(
        id="inbound.ask-contact-details",
        direction="inbound",
        clause="2.2(5)",
        title="留下聯繫電話",
        sources=("speech", "record"),
        applies="incoming calls that owe a follow-up (a memo, a callback or follow-up task, a complaint)",
        checks="a contact number is asked for in speech, or one is kept on the follow-up "
        "(the memo's or the task's phone; the caller ID alone does not count)",
        applies_zh="需要後續處理的來電（備忘錄、回電或後續聯絡任務、客訴）",
        checks_zh="對話中有詢問聯絡電話，或備忘錄、回電任務上記有電話（僅有來電顯示號碼不算）",
        why="做好電話資訊回饋。如：是這樣，您如果方便請留一下位址和聯繫電話好嗎？",
        options=("phrases.ask_contact",),
        check=check_ask_contact_details,
    ),
    Rule(
        id="inbound.visitor-callback",
        direction="inbound",
        clause="2.3(8)",
        title="訪客到達時約定回電",
        sources=("speech", "record"),
        applies="incoming calls broken off for a visitor (tag visitor-interrupt, or 棘手情況／有訪客)",
        checks="staff told the caller they will call back, and a callback task is on the record",
        applies_zh="因訪客到來而中斷的來電（標記 visitor-interrupt，或 棘手情況／有訪客）",
        checks_zh="館員告知來電者會再回電，且紀錄上有回電任務",
        why="通話中訪客到達時，應極時與通話方講明，我有一個棘手情況，稍後我給您打過去。",
        options=("phrases.visitor_arrived", "phrases.visitor_callback"),
        check=check_visitor_callback,
    ),
)
