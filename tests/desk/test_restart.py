"""The collector stopped and started again in the middle of a call: it takes
the call up from the events it stored, so the hold and the hang-up that come
after the restart still reach the desk, and nothing is said twice."""

from __future__ import annotations

from datetime import datetime

from callsop.desk.models import Call, PbxEvent
from callsop.desk.services.telephony import (
    pbx_event_store,
    pbx_events_apply,
    pbx_live_histories,
)
from callsop.telephony import hep
from callsop.telephony.collector import Collector
from callsop.telephony.dialogs import CallEvent
from callsop.telephony.legs import CallJoiner
from tests.desk.conftest import World
from tests.telephony import flows

PHONE, PROXY = ("192.0.2.4", 5060), ("192.0.2.1", 5060)


def _collector(t0: datetime) -> tuple[Collector, list[CallEvent]]:
    """A collector as `callsop telephony` runs it (legs joined), its clock in
    the middle of the replayed call, so the call's capture times are believed."""
    heard: list[CallEvent] = []
    clock = lambda: t0.timestamp() + 40  # noqa: E731
    return Collector(heard.append, clock=clock, tracker=CallJoiner()), heard


def _play(collector: Collector, messages: list[tuple[float, bytes]], start: float) -> None:
    for t, message in messages:
        collector.feed(hep.encode(message, source=PHONE, destination=PROXY, captured_at=start + t))


def _store(events: list[CallEvent]) -> None:
    for event in events:
        pbx_event_store(source="hep", event=event)
    pbx_events_apply()


def test_a_restart_mid_call_takes_the_call_up_again(world: World, t0: datetime) -> None:
    world.alice.extension = "201"
    world.alice.save()
    messages = flows.answered_call()
    before, after = messages[:5], messages[5:]  # stops after the answer, before the hold
    first, heard = _collector(t0)
    _play(first, before, t0.timestamp())
    _store(heard)
    call = Call.objects.get()
    assert call.state == Call.State.TALKING and call.clerk == world.alice

    # Started again: only what was stored is known.
    histories = pbx_live_histories()
    assert [[e.kind for e in h] for h in histories] == [["offered", "ringing", "answered"]]
    second, heard_after = _collector(t0)
    for history in histories:
        second.tracker.resume(history)
    _play(second, messages[2:4] + after, t0.timestamp())  # with a retransmitted 180 and 200
    assert [e.kind for e in heard_after] == ["hold", "resume", "hangup"]
    assert [e.by for e in heard_after] == ["callee", "callee", "caller"]
    _store(heard_after)
    call.refresh_from_db()
    assert call.state == Call.State.ENDED
    assert call.hold_total_s == 34.0
    assert call.events.get(type="hangup").by == "customer"
    assert PbxEvent.objects.filter(processed_at__isnull=True).count() == 0


def test_a_fresh_collector_ignores_a_dialog_it_never_saw(world: World, t0: datetime) -> None:
    fresh, heard = _collector(t0)
    _play(fresh, flows.answered_call()[5:], t0.timestamp())
    assert heard == []
