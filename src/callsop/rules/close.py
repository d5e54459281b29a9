"""§4(11) Closing: take leave politely, and let the customer hang up first."""

from __future__ import annotations

from callsop.engine.call import Call
from callsop.engine.findings import Outcome, failed, not_applicable, passed
from callsop.rules.base import Rule, answered_or_na, speech, staff_turn_says
from callsop.rules.common import broke_off_for_visitor, callback_task
from callsop.rules.speech_acts import farewell_cue
from callsop.text import locate

# A staff turn this short after their farewell (好, 嗯, 好的) still closes it.
_AFTERWORD_MAX_CHARS = 3


def check_farewell(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    listed = staff_turn_says(
        call, -1, "farewell", "the staff's last turn takes no leave (再見)", "took leave ({phrase})"
    )
    t = speech(call)
    if listed.verdict != "fail" or isinstance(t, Outcome) or not t.staff:
        return listed
    # Leave-taking in other words (祝您生活愉快, 期待再為您服務), or 再見 cut
    # at a segment boundary; a last turn of a word or two after it counts
    # with the turn before.
    plain = t.norms
    last = t.staff[-1]
    turns = [last]
    if len(t.staff) > 1 and len(plain[last]) <= _AFTERWORD_MAX_CHARS:
        turns.insert(0, t.staff[-2])
    for n, index in enumerate(turns):
        previous = plain[turns[n - 1]] if n else ""
        following = plain[turns[n + 1]] if n + 1 < len(turns) else ""
        cue = farewell_cue(plain[index], previous, following)
        if cue is not None:
            words = locate(t.texts[index], cue.start, cue.end - cue.start)
            return passed(f"took leave ({words})", t.turn(index, words))
    return listed


def check_customer_hangs_up_first(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    hangup = call.timeline.hangup
    if hangup is None:
        return not_applicable("no hang-up event")
    evidence = {"t": hangup.t}
    if hangup.by == "customer":
        return passed("the customer hung up first", evidence)
    if hangup.by == "staff":
        if broke_off_for_visitor(call) and callback_task(call) is not None:
            # §2.3(8) has staff end the call to serve the visitor at once;
            # inbound.visitor-callback judges that ending.
            return not_applicable("staff ended the call for a visitor, with a callback set")
        return failed(f"staff hung up first at {hangup.t:g} s", evidence)
    if hangup.by == "network":
        return not_applicable("the line dropped")
    return not_applicable("the hang-up does not say who hung up")


RULES = (
    Rule(
        id="close.farewell",
        clause="4(11)",
        title="禮貌告辭",
        sources=("speech",),
        applies="answered calls",
        checks="the staff's last turn takes leave politely (再見 or a variant, a wish such as "
        "祝您生活愉快, 期待再為您服務, or the SOP's 「歡迎您到會館來做客」); a 再見 a recogniser "
        "cut at a segment boundary (感謝…見) counts, and so does a last word or two (好的) after "
        "the farewell",
        applies_zh="已接通的通話",
        checks_zh="館員最後一句話有禮貌道別（再見或類似說法、祝您生活愉快、期待再為您服務，"
        "或 SOP 的「歡迎您到會館來做客」）；語音辨識在斷句處切斷的再見（感謝…見）也算，"
        "道別後再補一兩個字（好的）亦同",
        why="通話完畢要禮貌告辭。如：歡迎您到會館來做客，再見！",
        options=("phrases.farewell",),
        check=check_farewell,
    ),
    Rule(
        id="close.customer-hangs-up-first",
        clause="4(11)",
        title="讓客戶先掛電話",
        sources=("events",),
        applies="answered calls, except a call staff ended for a visitor with a callback set: "
        "§2.3(8) asks staff to promise a callback and serve the visitor at once, so that "
        "ending is judged by inbound.visitor-callback",
        checks="the hang-up came from the customer's side",
        applies_zh="已接通的通話；館員因訪客到達而結束、並已排定回電的通話除外："
        "§2.3(8) 要館員答應稍後回電、立即接待訪客，這樣的結束由「訪客到達時約定回電」評定",
        checks_zh="由客戶那一方掛斷電話",
        why="不要搶先掛斷電話（客戶、來話方先掛）。"
        "（§2.3(8)：通話中訪客到達時，應極時與通話方講明，我有一個棘手情況，稍後我給您打過去。並馬上接待來訪客人。）",
        check=check_customer_hangs_up_first,
    ),
)
