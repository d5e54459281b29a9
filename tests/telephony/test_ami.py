"""Asterisk's AMI as call events: the tracker on recorded event text, the
adapter (panoramisk) against a server replaying it, and the desk fed by it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from callsop.desk.models import Call, Chain, Club, ClubLine, Staff
from callsop.desk.services.scoring import scores_recheck
from callsop.desk.services.telephony import pbx_event_store, pbx_events_apply
from callsop.telephony.ami import AmiTracker, extension_of, listen
from callsop.telephony.dialogs import CallEvent
from tests.telephony.ami_replay import AmiReplay, blocks

AMI = Path(__file__).parent / "ami"


def _parse(block: str) -> dict[str, str]:
    return dict(
        line.split(": ", 1) if ": " in line else (line.rstrip(":"), "")
        for line in block.splitlines()
    )


def _track(name: str) -> list[CallEvent]:
    tracker = AmiTracker()
    events: list[CallEvent] = []
    for block in blocks(AMI / name):
        events += tracker.feed(_parse(block), received_at=0.0)
    return events


def test_channel_names_give_extensions() -> None:
    assert extension_of("PJSIP/201-00000011") == "201"
    assert extension_of("SIP/1001-0000a53") == "1001"
    assert extension_of("PJSIP/trunk-hinet-00000021") is None
    assert extension_of("Local/201@from-internal-00000001;1") is None
    assert extension_of("garbage") is None


def test_an_incoming_call_held_once_and_hung_up_by_the_caller() -> None:
    events = _track("inbound-held.ami")
    assert [(e.kind, e.by) for e in events] == [
        ("offered", None),
        ("ringing", None),
        ("answered", None),
        ("hold", "callee"),  # the second Hold event is a repeat
        ("resume", "callee"),
        ("hangup", "caller"),
    ]
    assert {e.call_id for e in events} == {"1795750000.16"}
    assert (events[0].caller, events[0].callee) == ("0912345678", "0227001234")
    assert events[2].callee == "201"  # answered at extension 201
    assert events[4].at - events[3].at == pytest.approx(42.0)
    assert events[-1].cause is None


def test_an_outgoing_call_whose_line_drops() -> None:
    events = _track("outbound-dropped.ami")
    assert [(e.kind, e.by, e.cause) for e in events] == [
        ("offered", None, None),
        ("ringing", None, None),
        ("answered", None, None),
        ("hangup", "callee", "network"),
    ]
    assert (events[0].caller, events[0].callee) == ("202", "0922111222")


def test_unknown_events_and_strangers_change_nothing() -> None:
    tracker = AmiTracker()
    assert tracker.feed({"Event": "PeerStatus", "Peer": "PJSIP/201"}, 0.0) == []
    assert tracker.feed({"Event": "Hangup", "Linkedid": "nope", "Channel": "PJSIP/9-1"}, 0.0) == []
    assert tracker.feed({"Response": "Success"}, 0.0) == []
    assert tracker.feed({"Event": "Newchannel", "Linkedid": "1.1", "Uniqueid": "1.2"}, 0.0) == []


async def _collect(replay: AmiReplay, expected: int, secret: str = "s3cret") -> list[CallEvent]:
    port = await replay.start()
    got: list[CallEvent] = []
    stop = asyncio.Event()

    def sink(event: CallEvent) -> None:
        got.append(event)
        if len(got) >= expected:
            stop.set()

    task = asyncio.create_task(
        listen(
            sink,
            host="127.0.0.1",
            port=port,
            username="callsop",
            secret=secret,
            stop=stop,
            reconnect_after_s=1,
        )
    )
    try:
        await asyncio.wait_for(stop.wait(), 15)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await replay.close()
    return got


def test_the_adapter_logs_in_and_hears_the_call() -> None:
    replay = AmiReplay(blocks(AMI / "inbound-held.ami"), secret="s3cret")
    got = asyncio.run(_collect(replay, expected=6))
    assert replay.logins == [True]
    assert [e.kind for e in got] == ["offered", "ringing", "answered", "hold", "resume", "hangup"]


def test_a_dropped_connection_is_reopened_and_no_event_is_lost() -> None:
    events = blocks(AMI / "inbound-held.ami") + blocks(AMI / "outbound-dropped.ami")
    replay = AmiReplay(events, secret="s3cret", drop_after=5)
    got = asyncio.run(_collect(replay, expected=10))
    assert replay.logins == [True, True]
    assert [e.kind for e in got] == [
        "offered",
        "ringing",
        "answered",
        "hold",
        "resume",
        "hangup",
        "offered",
        "ringing",
        "answered",
        "hangup",
    ]


@pytest.mark.django_db
def test_ami_calls_reach_the_desk(django_user_model: type) -> None:
    chain = Chain.objects.create(name="康活健身會館")
    club = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    ClubLine.objects.create(club=club, number="227001234")
    for username, ext in (("alice", "201"), ("bob", "202")):
        user = django_user_model.objects.create_user(username=username, password="x")  # type: ignore[attr-defined]
        Staff.objects.create(user=user, chain=chain, club=club, name=username, extension=ext)
    for name in ("inbound-held.ami", "outbound-dropped.ami"):
        for event in _track(name):
            pbx_event_store(source="ami", event=event)
    pbx_events_apply()
    inbound = Call.objects.get(direction="inbound")
    assert inbound.clerk.extension == "201" and inbound.rings == 3
    assert inbound.hold_total_s == pytest.approx(42.0)
    assert inbound.events.get(type="hangup").by == "customer"
    outbound = Call.objects.get(direction="outbound")
    assert outbound.clerk.extension == "202" and outbound.caller_phone == "0922111222"
    assert outbound.outcome == Call.Outcome.DROPPED
    verdicts = {f["rule"]: f["verdict"] for f in outbound.scorecard.findings}
    assert verdicts["outbound.redial-after-drop"] == "na"  # the minute to redial is still open
    closes = outbound.scorecard.recheck_at
    assert closes == outbound.ended_at + timedelta(seconds=61)
    assert scores_recheck(club_ids=[club.pk], now=closes - timedelta(seconds=2)) == 0
    assert scores_recheck(club_ids=[club.pk], now=closes) == 1
    outbound.scorecard.refresh_from_db()
    verdicts = {f["rule"]: f["verdict"] for f in outbound.scorecard.findings}
    assert verdicts["outbound.redial-after-drop"] == "fail"  # never redialled
    assert outbound.scorecard.recheck_at is None
