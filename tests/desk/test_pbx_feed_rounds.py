"""A round of PBX events reads what it needs for all its calls at once."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from callsop.desk.models import Call, ClubLine, PbxEvent
from callsop.desk.services.telephony import pbx_calls_apply, pbx_events_store
from callsop.telephony.dialogs import CallEvent
from tests.desk.conftest import World

CALLS = 20


@pytest.fixture
def lines(world: World) -> None:
    ClubLine.objects.create(club=world.xinyi, number="227001234", kind="main")
    world.alice.extension = "101"
    world.alice.save()


def _events(kind: str, at: float, **extra: str) -> list[CallEvent]:
    events = []
    for n in range(CALLS):
        fields = {"caller": f"09123456{n:02d}", "callee": "0227001234"} | extra
        events.append(CallEvent(call_id=f"c{n}@pbx", kind=kind, at=at + n, **fields))  # type: ignore[arg-type]
    return events


def _round(events: list[CallEvent]) -> list[str]:
    """Stores and applies one burst; the statements the applying took."""
    pbx_events_store(source="hep", events=events)
    with CaptureQueriesContext(connection) as queries:
        done = pbx_calls_apply(call_ids=[e.call_id for e in events])
    assert done.applied == len(events)
    return [q["sql"] for q in queries.captured_queries]


def _latest_event_reads(statements: list[str]) -> int:
    return sum(1 for sql in statements if "MAX(" in sql and "desk_callevent" in sql)


def test_a_rounds_calls_latest_events_are_read_once(
    world: World, lines: None, t0: datetime
) -> None:
    s = t0.timestamp()
    _round(_events("ringing", s))
    answers = _round(_events("answered", s + 100, callee="101"))
    assert _latest_event_reads(answers) == 1
    assert set(Call.objects.values_list("state", flat=True)) == {"talking"}
    assert set(Call.objects.values_list("clerk__name", flat=True)) == {world.alice.name}
    # A hang-up stamped before the answer each call shows is older: ignored.
    late = _round(_events("hangup", s + 50, by="caller"))
    assert _latest_event_reads(late) == 1
    assert set(Call.objects.values_list("state", flat=True)) == {"talking"}
    outcomes = set(PbxEvent.objects.filter(kind="hangup").values_list("outcome", flat=True))
    assert outcomes == {"ignored: older than what the call already shows"}


def test_events_of_one_call_in_one_round_see_each_other(
    world: World, lines: None, t0: datetime
) -> None:
    s = t0.timestamp()
    _round(_events("ringing", s))
    burst = (
        _events("answered", s + 100, callee="101")
        + _events("hold", s + 110, by="callee")
        + _events("resume", s + 120, by="callee")
        + _events("hangup", s + 130, by="caller")
    )
    _round(burst)
    assert set(Call.objects.values_list("state", "outcome")) == {("ended", "completed")}
    hangups = {e.by for call in Call.objects.all() for e in call.events.filter(type="hangup")}
    assert hangups == {"customer"}
    # A hold stamped between the answer and the hang-up comes too late.
    _round(_events("hold", s + 115, by="callee"))
    outcomes = set(PbxEvent.objects.filter(kind="hold").values_list("outcome", flat=True))
    assert outcomes == {"held", "ignored: the call has ended"}
