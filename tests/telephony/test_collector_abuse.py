"""No packet can derail the collector: a capture time far from its clock,
a flood of INVITEs from one sender, or more dialogs than it holds leave
the other calls' events whole. Real UDP on loopback throughout; 127.0.0.2
is a second sender."""

from __future__ import annotations

import logging
import re
import socket
import time

import pytest

from callsop.telephony import hep, sip
from callsop.telephony.collector import (
    MAX_SKEW_S,
    NEW_CALL_BURST,
    NEW_CALLS_PER_S,
    Collector,
    NewCallBudget,
)
from callsop.telephony.dialogs import UNANSWERED_IDLE_S, CallEvent, DialogTracker
from tests.telephony import flows
from tests.telephony.hep_replay import Telephony, listening

NOW = 1_796_000_000.0
PHONE, PROXY = ("192.0.2.4", 5060), ("192.0.2.10", 5060)
FAR_FUTURE = 4294967295.0  # the largest HEP seconds chunk
LOG = "callsop.telephony.collector"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _call(call_id: str) -> list[tuple[float, bytes]]:
    """flows.answered_call() under another Call-ID."""
    old, new = flows.CALL_ID.encode(), call_id.encode()
    return [(t, message.replace(old, new)) for t, message in flows.answered_call()]


def _stamped(messages: list[tuple[float, bytes]], start: float) -> list[bytes]:
    return [
        hep.encode(m, source=PHONE, destination=PROXY, captured_at=start + t) for t, m in messages
    ]


def _invite(call_id: str, at: float) -> bytes:
    message = flows.request("INVITE", 1, sdp="sendrecv", call_id=call_id)
    return hep.encode(message, source=PHONE, destination=PROXY, captured_at=at)


def _kinds(events: list[CallEvent], call_id: str) -> list[str]:
    return [e.kind for e in events if e.call_id == call_id]


def test_a_packet_stamped_far_in_the_future_leaves_every_call_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[CallEvent] = []
    clock = Clock(NOW + 8)
    collector = Collector(events.append, clock=clock)
    answered, ringing = _call("answered@192.0.2.4"), _call("ringing@192.0.2.4")
    with listening(collector) as udp, caplog.at_level(logging.WARNING, logger=LOG):
        # One call answered at 7.5 s, one ringing since 2.1 s.
        udp.send(_stamped(answered[:5], NOW) + _stamped(ringing[:3], NOW + 2))
        udp.send([_invite("future@192.0.2.66", FAR_FUTURE)])
        clock.now = NOW + 50
        udp.send(_stamped(answered[5:], NOW) + _stamped(ringing[3:], NOW + 2))
        assert len(collector.tracker) == 3
        clock.now = NOW + 200  # both ended at about 80 s: past their linger
        udp.send([b"keep-alive"])
        assert len(collector.tracker) == 1  # the INVITE from the future: not yet Timer C
        clock.now = NOW + 400
        udp.send([b"keep-alive"])
        assert len(collector.tracker) == 0
    assert _kinds(events, "answered@192.0.2.4") == flows.ANSWERED_CALL_EVENTS
    assert _kinds(events, "ringing@192.0.2.4") == flows.ANSWERED_CALL_EVENTS
    [future] = [e for e in events if e.call_id == "future@192.0.2.66"]
    assert (future.kind, future.at) == ("offered", NOW + 8)  # counted when it arrived
    assert collector.counts["time out of range"] == 1
    [warning] = [record for record in caplog.records if record.name == LOG]
    assert "127.0.0.1" in warning.getMessage() and "NTP" in warning.getMessage()


def test_a_stamp_out_of_range_is_warned_once_a_minute_per_sender(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[CallEvent] = []
    clock = Clock(NOW)
    collector = Collector(events.append, clock=clock)
    with listening(collector) as udp, caplog.at_level(logging.WARNING, logger=LOG):
        udp.send([_invite(f"epoch{n}", 0.0) for n in range(3)])
        udp.send([_invite("epoch3", 0.0)], sender="127.0.0.2")
        clock.now = NOW + 30
        udp.send([_invite("late", NOW + 30 - MAX_SKEW_S - 1)])  # just beyond the skew
        udp.send([_invite("near", NOW + 30 + MAX_SKEW_S - 1)])  # just within it
        clock.now = NOW + 61
        udp.send([_invite("epoch4", 0.0)])
    warned = [record.getMessage() for record in caplog.records if record.name == LOG]
    assert [w.split()[2] for w in warned] == ["127.0.0.1", "127.0.0.2", "127.0.0.1"]
    assert collector.counts["time out of range"] == 6
    assert [(e.call_id, e.at) for e in events][-3:] == [
        ("late", NOW + 30),
        ("near", NOW + 30 + MAX_SKEW_S - 1),
        ("epoch4", NOW + 61),
    ]


def test_dialogs_flooded_in_with_one_capture_time_are_swept_on_the_collector_s_clock() -> None:
    clock = Clock(NOW)
    collector = Collector(lambda _: None, clock=clock, budget=NewCallBudget(burst=5000))
    with listening(collector) as udp:
        udp.send([_invite(f"flood{n}", NOW) for n in range(2000)])
        assert len(collector.tracker) == 2000
        clock.now = NOW + MAX_SKEW_S + UNANSWERED_IDLE_S + 1  # never answered: Timer C
        udp.send([b"any datagram at all"])
        assert len(collector.tracker) == 0


def test_a_flood_from_one_sender_is_bounded_and_another_sender_s_call_comes_through() -> None:
    events: list[CallEvent] = []
    clock = Clock(NOW)
    collector = Collector(events.append, clock=clock, tracker=DialogTracker(max_dialogs=1000))
    with listening(collector) as udp:
        udp.send([_invite(f"flood{n}", NOW) for n in range(10_000)])
        assert len(collector.tracker) == 1000
        assert collector.counts["new calls over the rate limit"] == 10_000 - NEW_CALL_BURST
        assert collector.counts["dialogs evicted"] == NEW_CALL_BURST - 1000
        clock.now = NOW + 40
        udp.send(_stamped(_call("real@192.0.2.5"), NOW), sender="127.0.0.2")
        assert len(collector.tracker) == 1000
    assert _kinds(events, "real@192.0.2.5") == flows.ANSWERED_CALL_EVENTS


def test_the_rate_limit_never_drops_a_followed_dialog_s_messages() -> None:
    events: list[CallEvent] = []
    clock = Clock(NOW + 40)
    budget = NewCallBudget(per_second=1.0, burst=2)
    collector = Collector(events.append, clock=clock, budget=budget)
    first, second, third = _call("first"), _call("second"), _call("third")
    with listening(collector) as udp:
        udp.send(_stamped(first[:1] + second[:1] + third[:1], NOW))  # the third is one too many
        udp.send(_stamped(first[:1] * 2 + first[1:], NOW))  # the INVITE sent again, then the call
        udp.send(_stamped(third[1:], NOW))  # never followed: nothing
        udp.send(_stamped(_call("other")[:1], NOW), sender="127.0.0.2")
        clock.now += 1.0  # one more new dialog's worth
        udp.send(_stamped(_call("fourth")[:1] + _call("fifth")[:1], NOW))
    assert _kinds(events, "first") == flows.ANSWERED_CALL_EVENTS
    assert _kinds(events, "second") == _kinds(events, "other") == ["offered"]
    assert _kinds(events, "third") == _kinds(events, "fifth") == []
    assert _kinds(events, "fourth") == ["offered"]
    assert collector.counts["new calls over the rate limit"] == 2


def test_the_budget_remembers_a_bounded_number_of_senders() -> None:
    budget = NewCallBudget(per_second=0.0, burst=1, max_senders=2)
    assert budget.take("192.0.2.1", NOW) and budget.take("192.0.2.2", NOW)
    assert not budget.take("192.0.2.1", NOW)
    assert budget.take("192.0.2.3", NOW)  # pushes out 192.0.2.2, heard least recently
    assert len(budget) == 2
    assert budget.take("192.0.2.2", NOW)  # forgotten: a full bucket again
    with pytest.raises(ValueError, match="burst >= 1"):
        NewCallBudget(burst=0)


def test_the_command_hears_another_sender_s_call_at_once_through_a_flood() -> None:
    with Telephony() as telephony:
        flooder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        caller.bind(("127.0.0.2", 0))
        began = at = time.time()
        for n in range(10_000):
            flooder.sendto(_invite(f"flood{n}@192.0.2.66", at), telephony.address)
            if n % 100 == 99:
                time.sleep(0.02)  # 5,000 a second: what the collector hears at, not the kernel
        caller.sendto(_invite("future@192.0.2.77", FAR_FUTURE), telephony.address)
        sent_at = time.time()
        caller.sendto(_invite("real@192.0.2.5", sent_at), telephony.address)
        before, emitted_at = telephony.until("real@192.0.2.5")
        errors = telephony.stop()
    assert emitted_at - sent_at < 1.0, f"the call from 127.0.0.2 was not offered at once: {errors}"
    flood_heard = sum(e["call_id"].startswith("flood") for e in before)
    assert 0 < flood_heard <= NEW_CALL_BURST + NEW_CALLS_PER_S * (sent_at - began + 1)
    assert [e["call_id"] for e in before if not e["call_id"].startswith("flood")] == [
        "future@192.0.2.77"
    ]
    over = re.search(r"new calls over the rate limit (\d+)", errors)
    assert over is not None and int(over.group(1)) > 0, errors
    assert "time out of range 1" in errors
    assert "HEP from 127.0.0.2" in errors  # the warning, on standard error


# The dialog table's bound -----------------------------------------------------


def _feed(tracker: DialogTracker, call_id: str, upto: int, at: float = NOW) -> list[str]:
    """The first `upto` messages of a call: 1 offers it, 3 rings, 4 answers,
    10 hangs up."""
    return [e.kind for t, m in _call(call_id)[:upto] for e in tracker.feed(sip.parse(m), at + t)]


def test_a_full_table_pushes_out_ended_then_unanswered_then_answered_dialogs() -> None:
    tracker = DialogTracker(max_dialogs=3)
    _feed(tracker, "answered", 4)
    _feed(tracker, "ringing", 3)
    _feed(tracker, "ended", 10)  # the one heard last, but over
    assert _feed(tracker, "new1", 1) == ["offered"]
    assert "ended" not in tracker and tracker.evicted == 1
    _feed(tracker, "new2", 1)  # pushes out "ringing", the unanswered heard least recently
    assert "ringing" not in tracker and "new1" in tracker
    _feed(tracker, "new3", 1)
    _feed(tracker, "new4", 1)
    assert "answered" in tracker and len(tracker) == 3 and tracker.evicted == 4
    answered_rest = [m for _, m in _call("answered")[4:]]
    for message in answered_rest:  # still followed to its end
        tracker.feed(sip.parse(message), NOW + 90)
    assert "answered" in tracker


def test_each_message_makes_its_dialog_the_last_to_go() -> None:
    tracker = DialogTracker(max_dialogs=2)
    _feed(tracker, "older", 1)
    _feed(tracker, "newer", 1)
    tracker.feed(sip.parse(_call("older")[2][1]), NOW + 1)  # older rings: heard most recently
    _feed(tracker, "third", 1)
    assert "older" in tracker and "newer" not in tracker


def test_an_evicted_dialog_says_nothing_more_and_answered_calls_go_last() -> None:
    tracker = DialogTracker(max_dialogs=2)
    _feed(tracker, "first", 4)
    _feed(tracker, "second", 4)
    _feed(tracker, "third", 1)  # all answered: the one heard least recently goes
    assert "first" not in tracker and tracker.evicted == 1
    bye = _call("first")[9][1]
    assert tracker.feed(sip.parse(bye), NOW + 80) == []


def test_a_resumed_dialog_counts_against_the_bound() -> None:
    tracker = DialogTracker(max_dialogs=1)
    _feed(tracker, "heard", 1)
    tracker.resume([CallEvent("stored", "offered", NOW, "0912345678", "201")])
    assert "stored" in tracker and "heard" not in tracker and tracker.evicted == 1


def test_a_table_of_no_dialogs_is_refused() -> None:
    with pytest.raises(ValueError, match="max_dialogs must be at least 1, not 0"):
        DialogTracker(max_dialogs=0)
