"""Our own SIP user agent dials through the PBX: gives up at ten rings,
retries by the dial plan, and the engine judges both attempts."""

from __future__ import annotations

import time
from typing import Any

import pytest

from callsop.engine import score
from callsop.policy import Policy, load_policy
from callsop.telephony.bridge import record_of
from callsop.telephony.dialer import Dialer
from callsop.telephony.dialogs import CallEvent
from callsop.telephony.dialplan import next_dial, ring_for_s
from tests.telephony import sip_lab
from tests.telephony.sip_lab import Lab


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    """A hundredth of the retry window and a tenth of a ring: 1.8-3 s, 0.3 s."""
    path = tmp_path_factory.mktemp("policy") / "fast.toml"
    path.write_text(
        "[timing]\nring_period_s = 0.3\nretry_after_min_s = 1.8\nretry_after_max_s = 3.0\n", "utf-8"
    )
    return load_policy(path)


def _record(events: list[dict[str, Any]], record_id: str) -> Any:
    calls = [CallEvent(**{k: v for k, v in e.items() if k != "emitted_at"}) for e in events]
    return record_of(calls, direction="outbound", record_id=record_id)


def test_the_dialer_gives_up_at_ten_rings_then_retries_and_gets_through(
    lab: Lab, fast: Policy
) -> None:
    with Dialer(proxy=f"127.0.0.1:{lab.proxy_port}", extension="201") as dialer:
        phone = lab.phone(sip_lab.DESK_IS_CANCELLED)
        first = dialer.place("0912345678", ring_for_s=ring_for_s(fast))
        phone.wait(timeout=30)
        unanswered = lab.events_until_end()
        assert first.outcome == "no-answer"
        plan = next_dial(first, fast)
        assert plan is not None and plan.reason == "retry"
        time.sleep(max(0.0, plan.at - time.time()))
        phone = lab.phone(sip_lab.DESK_WAITS_FOR_BYE, ring_ms=600)
        second = dialer.place(plan.number, ring_for_s=ring_for_s(fast), talk_for_s=0.5)
        phone.wait(timeout=30)
        answered = lab.events_until_end()
        assert second.outcome == "answered"
    assert [e["kind"] for e in unanswered] == ["offered", "ringing", "cancelled"]
    assert [e["kind"] for e in answered] == ["offered", "ringing", "answered", "hangup"]
    cards = score([_record(unanswered, "try-1"), _record(answered, "try-2")], fast)
    give_up = next(f for f in cards[0].findings if f.rule == "outbound.no-answer-give-up")
    retry = next(f for f in cards[0].findings if f.rule == "outbound.retry-after-no-answer")
    assert give_up.verdict == "pass", give_up.message
    assert retry.verdict == "pass", retry.message
    assert cards[1].verdict("outbound.no-answer-give-up") == "na"  # it was answered
