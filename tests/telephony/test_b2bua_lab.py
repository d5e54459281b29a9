"""Calls through a back-to-back PBX, heard by the real `callsop telephony`
as one call each, however many SIP dialogs the PBX makes of it.

The customer dials the club's line; the PBX answers that leg itself and
places a leg of its own to desk 201 (and to colleague 202 on a transfer),
each with its own Call-ID. The collector must join them: one call_id (the
customer's leg), the desk that answered as `target`, the time of what each
phone did to within 50 ms."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.telephony import b2bua_lab
from tests.telephony.b2bua_lab import CLUB_LINE, COLLEAGUE, CUSTOMER, DESK, B2buaLab, Phones
from tests.telephony.baresip_phone import Baresip

WITHIN_S = 0.05  # an event's time against the moment the phone acted


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[B2buaLab]:
    running = b2bua_lab.start(tmp_path_factory.mktemp("b2bua-lab"))
    try:
        yield running
    finally:
        b2bua_lab.stop(running)


@pytest.fixture
def phones(lab: B2buaLab, tmp_path: Path) -> Iterator[Phones]:
    with lab.phones(tmp_path) as started:
        yield started


def _rings_and_is_answered(lab: B2buaLab, phones: Phones) -> dict[str, float]:
    """The customer dials the club's line; desk 201 picks up after a ring."""
    acted = {"dialled": time.time()}
    phones.customer.command("dial", lab.uri(CLUB_LINE))
    phones.desk.wait_for("CALL_INCOMING")
    acted["rang"] = time.time()
    time.sleep(1.0)
    acted["answered"] = time.time()
    phones.desk.command("accept")
    phones.desk.wait_for("CALL_ESTABLISHED")
    phones.customer.wait_for("CALL_ESTABLISHED")
    return acted


def _hangs_up(phone: Baresip, *others: Baresip) -> float:
    at = time.time()
    phone.command("hangup")
    for each in (phone, *others):
        each.wait_for("CALL_CLOSED")
    return at


def _one_call(events: list[dict[str, Any]]) -> None:
    assert len({e["call_id"] for e in events}) == 1, [(e["call_id"], e["kind"]) for e in events]
    assert {(e["caller"], e["callee"]) for e in events} == {(CUSTOMER, CLUB_LINE)}


def _at(events: list[dict[str, Any]], kind: str) -> float:
    """When the call first had an event of this kind."""
    return float(next(e["at"] for e in events if e["kind"] == kind))


def _on_time(events: list[dict[str, Any]], acted: dict[str, float]) -> None:
    late = {
        kind: round(_at(events, kind) - acted[moment], 3)
        for kind, moment in (
            ("offered", "dialled"),
            ("ringing", "rang"),
            ("answered", "answered"),
            ("hangup", "hung_up"),
        )
    }
    assert all(abs(s) <= WITHIN_S for s in late.values()), late


def test_a_call_the_desk_answers_is_one_call_to_the_desk(lab: B2buaLab, phones: Phones) -> None:
    acted = _rings_and_is_answered(lab, phones)
    time.sleep(0.5)
    acted["hung_up"] = _hangs_up(phones.customer, phones.desk)
    events = lab.call_events()
    _one_call(events)
    assert [e["kind"] for e in events] == ["offered", "ringing", "answered", "hangup"]
    assert events[2]["target"] == DESK
    assert events[-1]["by"] == "caller"
    _on_time(events, acted)


def test_the_desk_hanging_up_first_is_the_callee_ending_it(lab: B2buaLab, phones: Phones) -> None:
    acted = _rings_and_is_answered(lab, phones)
    time.sleep(0.5)
    acted["hung_up"] = _hangs_up(phones.desk, phones.customer)
    events = lab.call_events()
    _one_call(events)
    assert [e["kind"] for e in events] == ["offered", "ringing", "answered", "hangup"]
    assert (events[-1]["by"], events[-1]["cause"]) == ("callee", None)
    _on_time(events, acted)


def test_a_blind_transfer_to_a_colleague_stays_one_call(lab: B2buaLab, phones: Phones) -> None:
    acted = _rings_and_is_answered(lab, phones)
    time.sleep(0.5)
    transferred_at = time.time()
    phones.desk.command("transfer", lab.uri(COLLEAGUE))
    phones.colleague.wait_for("CALL_INCOMING")
    phones.desk.wait_for("CALL_CLOSED")  # the PBX ends the transferer's leg
    time.sleep(0.5)
    phones.colleague.command("accept")
    phones.colleague.wait_for("CALL_ESTABLISHED")
    time.sleep(0.5)
    acted["hung_up"] = _hangs_up(phones.customer, phones.colleague)
    events = lab.call_events()
    _one_call(events)
    kinds = [e["kind"] for e in events]
    assert kinds[:3] == ["offered", "ringing", "answered"] and events[2]["target"] == DESK
    transfer = next(e for e in events if e["kind"] == "transfer")
    assert (transfer["by"], transfer["target"]) == ("callee", COLLEAGUE)
    assert abs(transfer["at"] - transferred_at) <= WITHIN_S
    assert kinds.count("hangup") == 1 and kinds[-1] == "hangup"
    assert events[-1]["by"] == "caller"  # the customer hung up last
    _on_time(events, acted)


def test_a_customer_giving_up_while_the_desk_rings_is_one_cancelled_call(
    lab: B2buaLab, phones: Phones
) -> None:
    dialled_at = time.time()
    phones.customer.command("dial", lab.uri(CLUB_LINE))
    phones.desk.wait_for("CALL_INCOMING")
    time.sleep(1.0)
    gave_up_at = _hangs_up(phones.customer, phones.desk)  # a CANCEL, leg by leg
    events = lab.call_events()
    _one_call(events)
    assert [e["kind"] for e in events] == ["offered", "ringing", "cancelled"]
    assert events[-1]["by"] == "caller"
    assert abs(events[0]["at"] - dialled_at) <= WITHIN_S
    assert abs(events[-1]["at"] - gave_up_at) <= WITHIN_S
