"""SIP traffic scored by the engine: the timing rules measured from the PBX."""

from __future__ import annotations

from callsop.engine import score
from callsop.policy import default_policy
from callsop.telephony import sip
from callsop.telephony.bridge import record_of
from callsop.telephony.dialogs import CallEvent, DialogTracker
from tests.telephony import flows

EPOCH = 1_795_000_000.0


def _events(flow: list[tuple[float, bytes]]) -> list[CallEvent]:
    tracker = DialogTracker()
    return [e for t, m in flow for e in tracker.feed(sip.parse(m), EPOCH + t)]


def _verdicts(flow: list[tuple[float, bytes]], direction: str = "inbound") -> dict[str, str]:
    record = record_of(_events(flow), direction=direction, record_id="pbx-1")  # type: ignore[arg-type]
    return {f.rule: f.message for f in score([record], default_policy())[0].findings}


def test_an_incoming_call_becomes_a_record_with_measured_times() -> None:
    record = record_of(_events(flows.answered_call()), direction="inbound", record_id="pbx-1")
    assert [(e.type, e.t, e.by) for e in record.events] == [
        ("ringing", 0.1, None),
        ("answered", 7.5, None),
        ("hold", 20.0, None),
        ("resume", 54.0, None),
        ("hangup", 80.0, "customer"),
    ]
    assert record.customer is not None and record.customer.phone == "0912345678"
    assert record.staff is not None and record.staff.id == "201"


def test_the_timing_rules_judge_the_pbx_times() -> None:
    messages = _verdicts(flows.answered_call())
    assert messages["inbound.answer-promptly"] == "answered after 3 rings (≤ 3)"
    assert messages["hold.max-duration"] == "one hold of 34 s (≤ 60 s)"
    assert messages["close.customer-hangs-up-first"] == "the customer hung up first"


def test_on_an_outgoing_call_the_caller_is_staff() -> None:
    flow = [
        *flows.answered_call()[:5],
        (30.0, flows.request("BYE", 2, **flows.IN_DIALOG_FROM_CUSTOMER)),
    ]
    record = record_of(_events(flow), direction="outbound", record_id="pbx-2")
    assert record.events[0].type == "dialing"
    assert (record.events[-1].type, record.events[-1].by) == ("hangup", "staff")


def test_a_dropped_line_hangs_up_by_network() -> None:
    reason = 'Reason: Q.850;cause=41;text="Temporary failure"\r\n'
    bye = flows.request("BYE", 2, extra=reason, **flows.IN_DIALOG_FROM_CUSTOMER)
    record = record_of(
        _events([*flows.answered_call()[:5], (40.0, bye)]), direction="inbound", record_id="x"
    )
    assert (record.events[-1].type, record.events[-1].by) == ("hangup", "network")


def test_an_unanswered_outgoing_call_given_up_at_ten_rings() -> None:
    flow = [
        (0.0, flows.request("INVITE", 1, sdp="sendrecv")),
        (0.2, flows.response(180, "Ringing", 1)),
        (30.1, flows.request("CANCEL", 1)),
        (30.2, flows.response(487, "Request Terminated", 1)),
    ]
    messages = _verdicts(flow, "outbound")
    assert messages["outbound.no-answer-give-up"] == "gave up after 10 rings (10 ± 1)"
