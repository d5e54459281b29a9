"""§4(11) Closing: take leave politely, and let the customer hang up first."""

from __future__ import annotations

from callsop.engine.call import Call
from callsop.engine.findings import Outcome, failed, not_applicable, passed
from callsop.rules.base import Rule, answered_or_na, staff_turn_says


def check_farewell(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    return staff_turn_says(
        call, -1, "farewell", "the staff's last turn takes no leave (再見)", "took leave ({phrase})"
    )


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
        checks="the staff's last turn takes leave politely (再見 or a variant, or the SOP's "
        "「歡迎您到會館來做客」)",
        applies_zh="已接通的通話",
        checks_zh="館員最後一句話有禮貌道別（再見或類似說法，或 SOP 的「歡迎您到會館來做客」）",
        why="通話完畢要禮貌告辭。如：歡迎您到會館來做客，再見！",
        options=("phrases.farewell",),
        check=check_farewell,
    ),
    Rule(
        id="close.customer-hangs-up-first",
        clause="4(11)",
        title="讓客戶先掛電話",
        sources=("events",),
        applies="answered calls",
        checks="the hang-up came from the customer's side",
        applies_zh="已接通的通話",
        checks_zh="由客戶那一方掛斷電話",
        why="不要搶先掛斷電話（客戶、來話方先掛）。",
        check=check_customer_hangs_up_first,
    ),
)
