"""Asterisk's AMI as call events, beyond the recorded scenarios
(test_asterisk_recordings.py): hand-written event text for what the
recordings lack (a repeated Hold, a trunk call, an outgoing drop with cause
38, a reconnect), and ring groups and queues built from the recorded
blocks; the adapter (panoramisk) against a server replaying them, and the
desk fed by it."""

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
from tests.telephony.asterisk_recordings import ami_capture

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
    assert events[2].target == "201"  # answered at extension 201
    assert events[2].callee == "0227001234"  # the number the customer called stays the callee
    assert events[4].at - events[3].at == pytest.approx(42.0)
    assert events[-1].cause is None


def test_an_outgoing_call_whose_line_drops() -> None:
    events = _track("outbound-dropped.ami")
    assert [(e.kind, e.by, e.cause) for e in events] == [
        ("offered", None, None),
        ("ringing", None, None),
        ("answered", None, None),
        ("hangup", None, "network"),  # no one hung up
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


# Ring groups and queues, from the recorded call's own blocks: several desks
# ring at once (Dial(PJSIP/101&PJSIP/102)), one answers, the others stop.


def _recorded(name: str) -> list[dict[str, str]]:
    _, blocks = ami_capture(name)
    return [_parse(b) for b in blocks]


def _as_desk(block: dict[str, str], ext: str, uniqueid: str = "1796152280.99") -> dict[str, str]:
    """A copy of a block about desk 101's channel, about desk `ext`'s."""
    out = {k: v.replace("PJSIP/101-", f"PJSIP/{ext}-") for k, v in block.items()}
    for key in ("CallerIDNum", "DestCallerIDNum", "DialString"):
        if out.get(key) == "101":
            out[key] = ext
    if "PJSIP/101-" in block.get("Channel", ""):
        out["Uniqueid"] = uniqueid
    if "PJSIP/101-" in block.get("DestChannel", ""):
        out["DestUniqueid"] = uniqueid
    return out


def _hangup_of_dest(block: dict[str, str], cause: str) -> dict[str, str]:
    return {
        "Event": "Hangup",
        "Timestamp": block["Timestamp"],
        "Channel": block["DestChannel"],
        "Uniqueid": block["DestUniqueid"],
        "Linkedid": block["Linkedid"],
        "Cause": cause,
    }


def _ring_group(answering: str) -> list[dict[str, str]]:
    """answered-2-rings with desk 102 rung beside 101; `answering` picks up,
    the other is cancelled (cause 26: answered elsewhere)."""
    out: list[dict[str, str]] = []
    for block in _recorded("answered-2-rings"):
        event, state = block.get("Event"), block.get("ChannelStateDesc")
        if "PJSIP/101-" not in block.get("Channel", "") + block.get("DestChannel", ""):
            out.append(block)
            continue
        twin = _as_desk(block, "102")
        if event in ("Newchannel", "DialBegin") or (event == "Newstate" and state == "Ringing"):
            out += [block, twin]  # both desks are rung
        elif (event == "Newstate" and state == "Up") or event == "DialEnd":
            taker, other = (block, twin) if answering == "101" else (twin, block)
            out.append(taker)
            if event == "DialEnd":
                out += [other | {"DialStatus": "CANCEL"}, _hangup_of_dest(other, "26")]
        else:  # the rest of the call, on the desk that took it
            out.append(block if answering == "101" else twin)
    return out


@pytest.mark.parametrize("answering", ["101", "102"])
def test_a_ring_group_rings_two_desks_and_one_answers(answering: str) -> None:
    tracker = AmiTracker()
    events = [e for block in _ring_group(answering) for e in tracker.feed(block, 0.0)]
    assert [(e.kind, e.target) for e in events] == [
        ("offered", None),
        ("ringing", None),  # rung once, however many desks ring
        ("answered", answering),
        ("hangup", None),
    ]
    assert events[-1].by == "caller"  # the other desk's cancelled leg ended nothing
    assert events[-1].at - events[2].at == pytest.approx(5.0, abs=0.05)
    assert len(tracker) == 0


def test_a_queue_member_taking_the_call_answers_it() -> None:
    """app_queue says who took the call in AgentConnect, with the member's
    interface, when the member is reached through a Local channel."""
    tracker = AmiTracker()
    start = _recorded("answered-2-rings")
    head = [b for b in start if b.get("Event") == "Newchannel"][:1]
    customer = head[0]
    events = tracker.feed(customer, 0.0)
    connect = {
        "Event": "AgentConnect",
        "Timestamp": f"{float(customer['Timestamp']) + 4:.6f}",
        "Channel": customer["Channel"],
        "Uniqueid": customer["Uniqueid"],
        "Linkedid": customer["Linkedid"],
        "DestChannel": "Local/102@from-queue-00000003;1",
        "Queue": "front-desk",
        "MemberName": "櫃台102",
        "Interface": "PJSIP/102",
        "HoldTime": "4",
        "RingTime": "3",
    }
    events += tracker.feed(connect, 0.0)
    assert [(e.kind, e.target) for e in events] == [("offered", None), ("answered", "102")]
