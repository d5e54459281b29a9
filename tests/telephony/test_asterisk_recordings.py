"""Every recorded Asterisk 22 scenario, replayed as it was sent, gives the
call that really happened: over AMI (TCP, through panoramisk) and over HEP
(UDP, through the collector), the events and then the desk's call.

The recordings (tests/telephony/asterisk) are moved to the present as a
whole, so the collector's clock check takes them as live traffic and the
truth moves with them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from callsop.desk.models import Call, Chain, Club, ClubLine, Staff
from callsop.desk.services import outbound as out
from callsop.desk.services.telephony import pbx_event_store, pbx_events_apply
from callsop.engine.history import normalise_phone
from callsop.telephony import collector as hep_collector
from callsop.telephony.ami import listen
from callsop.telephony.collector import Collector
from callsop.telephony.dialogs import CallEvent
from callsop.telephony.legs import CallJoiner
from tests.telephony.ami_replay import AmiReplay
from tests.telephony.asterisk_recordings import (
    CLUB_LINES,
    CUSTOMER,
    DESKS,
    PBX,
    SCENARIOS,
    TOLERANCE_S,
    Scenario,
    ami_capture,
    first_timestamp,
    hep_capture,
    shift_timestamps,
    truth,
)
from tests.telephony.hep_replay import restamp
from tests.telephony.test_ami_dialer import PLAN

SECRET = "s3cret"


def _check(name: str, got: list[CallEvent], offset: float, *, over: str) -> None:
    scenario = SCENARIOS[name]
    when = {what: t + offset for what, t in truth(name).items()}
    expected = [e for e in scenario.events if e.over in ("both", over)]
    assert [e.kind for e in got] == [e.kind for e in expected], name
    assert len({e.call_id for e in got}) == 1, "one call per customer call"
    for event, want in zip(got, expected, strict=True):
        assert abs(event.at - when[want.truth]) <= want.tolerance_s, (
            f"{name}: {event.kind} at {event.at - when[want.truth]:+.3f} s from {want.truth!r}"
        )
        cause = want.cause.get(over) if isinstance(want.cause, dict) else want.cause
        assert (event.by, event.cause, event.target) == (want.by, cause, want.target), (
            f"{name}: {event.kind}"
        )
        assert (event.caller, event.callee) == (scenario.caller, scenario.callee)


# Over AMI: the capture's own banner and events, through panoramisk.


async def _hear_ami(blocks: list[str], banner: str, expected: int) -> list[CallEvent]:
    replay = AmiReplay(blocks, secret=SECRET, banner=banner.encode() + b"\r\n", pace_s=0.0005)
    port = await replay.start()
    got: list[CallEvent] = []
    stop = asyncio.Event()
    task = asyncio.create_task(
        listen(
            got.append, host="127.0.0.1", port=port, username="callsop", secret=SECRET, stop=stop
        )
    )
    try:
        deadline = time.monotonic() + 15
        while (replay.sent < len(blocks) or len(got) < expected) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # anything more it would say
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await replay.close()
    assert replay.logins == [True]
    return got


def _over_ami(name: str) -> tuple[list[CallEvent], float]:
    banner, blocks = ami_capture(name)
    offset = time.time() - first_timestamp(blocks)
    expected = [e for e in SCENARIOS[name].events if e.over in ("both", "ami")]
    got = asyncio.run(_hear_ami(shift_timestamps(blocks, offset), banner, len(expected)))
    return got, offset


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_over_ami_the_call_is_what_happened(name: str) -> None:
    got, offset = _over_ami(name)
    _check(name, got, offset, over="ami")


# Over HEP: every datagram as it arrived, over UDP to the collector.


async def _hear_hep(datagrams: list[bytes], *, pbx: list[str]) -> list[CallEvent]:
    got: list[CallEvent] = []
    collector = Collector(got.append, auth_key=b"hep-s3cret")
    collector.tracker = CallJoiner(pbx=pbx)
    bound: list[tuple[str, int]] = []
    task = asyncio.create_task(
        hep_collector.serve(collector, "127.0.0.1", 0, ready=lambda h, p: bound.append((h, p)))
    )
    while not bound:
        await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=bound[0]
    )
    try:
        for datagram in datagrams:
            transport.sendto(datagram)
            await asyncio.sleep(0.001)
        deadline = time.monotonic() + 5
        while collector.counts["datagrams"] < len(datagrams) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        transport.close()
        task.cancel()
    return got


def _over_hep(names: list[str], *, pbx: list[str]) -> tuple[list[CallEvent], dict[str, float]]:
    """The scenarios' datagrams one after the other, each moved to start
    two seconds after the one before; each scenario's offset."""
    datagrams: list[bytes] = []
    offsets: dict[str, float] = {}
    start = time.time()
    for name in names:
        capture = hep_capture(name)
        offsets[name] = start - capture[0][0]
        datagrams += [restamp(d, _stamp(d) + offsets[name]) for _, d in capture]
        start += capture[-1][0] - capture[0][0] + 2.0
    return asyncio.run(_hear_hep(datagrams, pbx=pbx)), offsets


def _stamp(datagram: bytes) -> float:
    from callsop.telephony import hep

    return hep.decode(datagram).captured_at


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_over_hep_the_legs_are_one_call_and_the_call_is_what_happened(name: str) -> None:
    got, offsets = _over_hep([name], pbx=[PBX])
    _check(name, got, offsets[name], over="hep")


def test_over_hep_the_pbx_is_learnt_from_the_first_call_it_relays() -> None:
    """Told nothing, the collector learns the PBX from the first inbound
    call; the Originate after it (whose first leg comes from the PBX with
    nothing to relay) is then one outgoing call too."""
    names = ["answered-2-rings", "originate-outgoing", "blind-transfer"]
    got, offsets = _over_hep(names, pbx=[])
    calls: dict[str, list[CallEvent]] = {}
    for event in got:
        calls.setdefault(event.call_id, []).append(event)
    assert len(calls) == 3
    for name, events in zip(names, calls.values(), strict=True):
        _check(name, events, offsets[name], over="hep")


# On the desk: the events, stored and applied, make the call.


@pytest.fixture
def club(django_user_model: type) -> Iterator[Club]:
    chain = Chain.objects.create(name="康活健身會館")
    club = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    for number in CLUB_LINES:
        ClubLine.objects.create(club=club, number=normalise_phone(number))
    for ext in DESKS:
        user = django_user_model.objects.create_user(username=f"desk{ext}", password="x")  # type: ignore[attr-defined]
        Staff.objects.create(user=user, chain=chain, club=club, name=f"櫃台{ext}", extension=ext)
    yield club


def _desk_call(events: list[CallEvent], source: str) -> Call:
    for event in events:
        pbx_event_store(source=source, event=event)
    while pbx_events_apply():
        pass
    calls = list(Call.objects.all())
    assert len(calls) == 1, [(c.direction, c.caller_phone) for c in calls]
    return calls[0]


def _check_desk(name: str, call: Call, offset: float, *, over: str) -> None:
    scenario: Scenario = SCENARIOS[name]
    want = scenario.desk
    assert call.state == Call.State.ENDED
    assert call.direction == want.direction
    assert (call.clerk.extension if call.clerk else None) == want.clerk
    customer = scenario.caller if want.direction == "inbound" else scenario.callee
    assert call.caller_phone == customer
    assert call.outcome == want.outcome
    hangup = call.events.get(type="hangup")
    assert hangup.by == want.ended_by
    end = next(e for e in scenario.events if e.kind in ("hangup", "cancelled", "failed"))
    assert abs(call.ended_at.timestamp() - (truth(name)[end.truth] + offset)) <= end.tolerance_s
    transfer = call.events.filter(type="transfer").first()
    assert (transfer.to.extension if transfer and transfer.to else None) == want.transfer_to
    assert (call.hold_total_s > 0) == (want.held is True or want.held == over)


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_over_ami_the_desk_has_the_call(name: str, club: Club) -> None:
    got, offset = _over_ami(name)
    _check_desk(name, _desk_call(got, "ami"), offset, over="ami")


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_over_hep_the_desk_has_the_call(name: str, club: Club) -> None:
    got, offsets = _over_hep([name], pbx=[PBX])
    _check_desk(name, _desk_call(got, "hep"), offsets[name], over="hep")


def test_the_command_prints_one_call_per_customer_call_in_its_usual_shape() -> None:
    """`callsop telephony --listen … --pbx …`, the real process, hears the
    attended transfer's three legs as one call, printed as it always was."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys

    env = os.environ | {"CALLSOP_HEP_PASSWORD": "hep-s3cret"}
    command = [sys.executable, "-m", "callsop", "telephony", "--listen", "127.0.0.1:0"]
    process = subprocess.Popen(
        [*command, "--pbx", PBX], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stderr is not None and process.stdout is not None
    said = process.stderr.readline()
    assert "listening for HEP on 127.0.0.1:" in said, said
    port = int(said.rsplit(":", 1)[1])
    capture = hep_capture("attended-transfer")
    offset = time.time() - capture[0][0]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for _, datagram in capture:
            sender.sendto(restamp(datagram, _stamp(datagram) + offset), ("127.0.0.1", port))
            time.sleep(0.001)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=10)
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["kind"] for line in lines] == [
        "offered",
        "ringing",
        "answered",
        "transfer",
        "hangup",
    ]
    assert all(
        set(line)
        == {"call_id", "kind", "at", "caller", "callee", "by", "cause", "target", "emitted_at"}
        for line in lines
    )
    assert len({line["call_id"] for line in lines}) == 1
    assert (lines[0]["caller"], lines[0]["callee"]) == ("0912345678", "0227001234")
    assert (lines[3]["by"], lines[3]["target"]) == ("callee", "102")


@pytest.mark.django_db
@pytest.mark.parametrize("over", ["ami", "hep"])
def test_a_call_the_desks_dialer_placed_is_the_call_the_pbx_reports(club: Club, over: str) -> None:
    """Click-to-dial: the clerk's 撥號 made the desk's call; the PBX's report
    of the Originate (the same call) becomes its events, not a second call."""
    clerk = Staff.objects.get(extension="101")
    planned = out.outbound_plan(club=club, clerk=clerk, data=PLAN)
    if over == "ami":
        got, offset = _over_ami("originate-outgoing")
    else:
        got, offsets = _over_hep(["originate-outgoing"], pbx=[PBX])
        offset = offsets["originate-outgoing"]
    # The clerk pressed 撥號 a second before the PBX began the call.
    out.outbound_dial(call=planned, now=datetime.fromtimestamp(got[0].at - 1.0, UTC))
    call = _desk_call(got, over)
    assert call.pk == planned.pk and call.external_id == got[0].call_id
    assert normalise_phone(call.caller_phone) == normalise_phone(CUSTOMER)
    answered = truth("originate-outgoing")[f"{CUSTOMER} accept"] + offset
    assert call.answered_at is not None
    assert abs(call.answered_at.timestamp() - answered) <= TOLERANCE_S
    assert call.events.get(type="hangup").by == "customer"
