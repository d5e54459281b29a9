"""Real SIP calls through Kamailio, heard by the collector, scored by the engine.

Time is shrunk tenfold (a ring every 0.3 s instead of 3 s, holds of at
most 6 s instead of 60 s) so the suite stays quick; one call runs at the
real cadence."""

from __future__ import annotations

from typing import Any

import pytest

from callsop.engine import score
from callsop.policy import Policy, default_policy, load_policy
from callsop.telephony.bridge import record_of
from callsop.telephony.dialogs import CallEvent
from tests.telephony import sip_lab
from tests.telephony.sip_lab import Lab


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("policy") / "fast.toml"
    path.write_text("[timing]\nring_period_s = 0.3\nmax_hold_s = 6\n", "utf-8")
    return load_policy(path)


def _findings(
    events: list[dict[str, Any]], policy: Policy, direction: str = "inbound"
) -> dict[str, Any]:
    call_events = [CallEvent(**{k: v for k, v in e.items() if k != "emitted_at"}) for e in events]
    record = record_of(call_events, direction=direction, record_id="lab")  # type: ignore[arg-type]
    return {f.rule: f for f in score([record], policy)[0].findings}


def test_answered_within_two_rings_in_real_time(lab: Lab) -> None:
    events = lab.call(
        sip_lab.CUSTOMER_HANGS_UP, sip_lab.DESK_WAITS_FOR_BYE, ring_ms=5000, talk_ms=1000
    )
    assert [e["kind"] for e in events] == ["offered", "ringing", "answered", "hangup"]
    findings = _findings(events, default_policy())
    assert findings["inbound.answer-promptly"].message == "answered after 2 rings (≤ 3)"
    assert findings["close.customer-hangs-up-first"].verdict == "pass"


def test_answered_after_five_rings(lab: Lab, fast: Policy) -> None:
    events = lab.call(
        sip_lab.CUSTOMER_HANGS_UP, sip_lab.DESK_WAITS_FOR_BYE, ring_ms=1400, talk_ms=500
    )
    findings = _findings(events, fast)
    assert findings["inbound.answer-promptly"].message == "answered after 5 rings (> 3)"
    assert findings["inbound.answer-promptly"].verdict == "fail"


def test_the_desk_hanging_up_first_fails_the_close(lab: Lab, fast: Policy) -> None:
    events = lab.call(
        sip_lab.CUSTOMER_WAITS_FOR_BYE, sip_lab.DESK_HANGS_UP, ring_ms=300, talk_ms=500
    )
    assert (events[-1]["kind"], events[-1]["by"]) == ("hangup", "callee")
    findings = _findings(events, fast)
    assert findings["close.customer-hangs-up-first"].verdict == "fail"


def test_an_outgoing_call_given_up_at_ten_rings(lab: Lab, fast: Policy) -> None:
    # 2.85 s is within the tenth ring of 0.3 s, whatever the scheduling jitter.
    events = lab.call(sip_lab.CUSTOMER_GIVES_UP, sip_lab.DESK_IS_CANCELLED, give_up_ms=2850)
    assert [e["kind"] for e in events] == ["offered", "ringing", "cancelled"]
    finding = _findings(events, fast, direction="outbound")["outbound.no-answer-give-up"]
    assert finding.verdict == "pass", finding.message


def test_an_outgoing_call_given_up_too_soon(lab: Lab, fast: Policy) -> None:
    events = lab.call(sip_lab.CUSTOMER_GIVES_UP, sip_lab.DESK_IS_CANCELLED, give_up_ms=1350)
    finding = _findings(events, fast, direction="outbound")["outbound.no-answer-give-up"]
    assert finding.verdict == "fail"
    assert finding.message.startswith("gave up after 5 rings (< 9)")


def _hold(lab: Lab, hold_ms: int) -> list[dict[str, Any]]:
    return lab.call(
        sip_lab.CUSTOMER_IS_HELD,
        sip_lab.DESK_HOLDS,
        ring_ms=300,
        before_hold_ms=300,
        hold_ms=hold_ms,
        talk_ms=300,
    )


def test_a_twenty_second_hold_is_within_the_limit(lab: Lab, fast: Policy) -> None:
    events = _hold(lab, 2000)
    kinds = [(e["kind"], e["by"]) for e in events]
    assert kinds == [
        ("offered", None),
        ("ringing", None),
        ("answered", None),
        ("hold", "callee"),
        ("resume", "callee"),
        ("hangup", "callee"),
    ]
    finding = _findings(events, fast)["hold.max-duration"]
    assert finding.verdict == "pass", finding.message


def test_a_seventy_second_hold_is_over_the_limit(lab: Lab, fast: Policy) -> None:
    finding = _findings(_hold(lab, 7000), fast)["hold.max-duration"]
    assert finding.verdict == "fail"
    assert finding.message.startswith("hold of 7 s")
    assert finding.message.endswith("(> 6 s)")


def test_a_dropped_line_is_told_from_a_hang_up(lab: Lab, fast: Policy) -> None:
    events = lab.call(
        sip_lab.CUSTOMER_WAITS_FOR_BYE, sip_lab.DESK_LINE_DROPS, ring_ms=300, talk_ms=500
    )
    assert (events[-1]["kind"], events[-1]["cause"]) == ("hangup", "network")
    findings = _findings(events, fast)
    assert findings["close.customer-hangs-up-first"].message == "the line dropped"
    assert findings["outbound.redial-after-drop"].verdict == "fail"  # nobody dialled back


def test_a_transfer_is_heard_with_its_target(lab: Lab, fast: Policy) -> None:
    events = lab.call(
        sip_lab.CUSTOMER_IS_TRANSFERRED, sip_lab.DESK_TRANSFERS, ring_ms=300, talk_ms=300
    )
    transfer = next(e for e in events if e["kind"] == "transfer")
    assert (transfer["by"], transfer["target"]) == ("callee", "205")
    # The PBX carries no briefing for the colleague: that comes from the desk.
    finding = _findings(events, fast)["inbound.warm-transfer"]
    assert finding.verdict == "fail" and "without a briefing" in finding.message
