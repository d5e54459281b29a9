"""baresip phones through Kamailio, heard by the collector, put on the desk.

The customer and the desk phone are both baresip, driven like a person would
(dial, pick up after a while, hold, resume, hang up); the events reach the
desk through the same feed the live service uses. Real time, at Taiwan's
3-second ring."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callsop.desk.feed import DeskFeed
from callsop.desk.models import Call, Chain, Club, Staff
from callsop.telephony.dialogs import CallEvent
from tests.telephony import sip_lab
from tests.telephony.baresip_phone import Baresip
from tests.telephony.sip_lab import Lab

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def phones(lab: Lab, tmp_path: Path) -> Iterator[tuple[Baresip, Baresip]]:
    customer_port, customer_ctrl, desk_ctrl = sip_lab.free_ports(3)
    desk = Baresip(tmp_path, name="201", sip_port=lab.desk_port, ctrl_port=desk_ctrl)
    customer = Baresip(tmp_path, name="0912345678", sip_port=customer_port, ctrl_port=customer_ctrl)
    yield customer, desk
    customer.stop()
    desk.stop()


@pytest.fixture
def clerk(django_user_model: Any) -> Staff:
    chain = Chain.objects.create(name="康活健身會館")
    club = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    user = django_user_model.objects.create_user(username="alice", password="x")
    return Staff.objects.create(user=user, chain=chain, club=club, name="陳怡君", extension="201")


def _onto_the_desk(lab: Lab) -> Call:
    events = [
        CallEvent(**{k: v for k, v in e.items() if k != "emitted_at"})
        for e in lab.events_until_end()
    ]
    feed = DeskFeed()
    for event in events:
        feed(event)
    feed.close()
    return Call.objects.get(source="pbx")


def test_a_customer_rings_the_desk_is_held_and_hangs_up_first(
    lab: Lab, phones: tuple[Baresip, Baresip], clerk: Staff
) -> None:
    customer, desk = phones
    customer.command("dial", f"sip:201@127.0.0.1:{lab.proxy_port}")
    desk.wait_for("CALL_INCOMING")
    time.sleep(4.0)  # two rings
    desk.command("accept")
    desk.wait_for("CALL_ESTABLISHED")
    time.sleep(1.0)
    desk.command("hold")
    time.sleep(3.0)
    desk.command("resume")
    time.sleep(1.0)
    customer.command("hangup")
    customer.wait_for("CALL_CLOSED")
    call = _onto_the_desk(lab)
    assert call.clerk == clerk and call.caller_phone == "0912345678"
    assert [e.type for e in call.events.all()] == [
        "ringing",
        "answered",
        "hold",
        "resume",
        "hangup",
    ]
    assert call.rings == 2
    assert 2.5 < call.hold_total_s < 4.0
    findings = {f["rule"]: f for f in call.scorecard.findings}
    assert findings["inbound.answer-promptly"]["message"] == "answered after 2 rings (≤ 3)"
    assert findings["hold.max-duration"]["verdict"] == "pass"
    assert findings["close.customer-hangs-up-first"]["verdict"] == "pass"


def test_the_desk_hanging_up_first_is_caught(
    lab: Lab, phones: tuple[Baresip, Baresip], clerk: Staff
) -> None:
    customer, desk = phones
    customer.command("dial", f"sip:201@127.0.0.1:{lab.proxy_port}")
    desk.wait_for("CALL_INCOMING")
    time.sleep(0.5)
    desk.command("accept")
    desk.wait_for("CALL_ESTABLISHED")
    time.sleep(1.0)
    desk.command("hangup")
    desk.wait_for("CALL_CLOSED")
    call = _onto_the_desk(lab)
    assert call.events.get(type="hangup").by == "staff"
    findings = {f["rule"]: f["verdict"] for f in call.scorecard.findings}
    assert findings["close.customer-hangs-up-first"] == "fail"
    assert findings["inbound.answer-promptly"] == "pass"
