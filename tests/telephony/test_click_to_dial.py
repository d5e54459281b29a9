"""Click-to-dial: the clerk dials on the desk, our SIP user agent places the
call through Kamailio, gives up at ten rings, the retry is placed by itself
3-5 minutes later (scaled), and when the clerk ends the answered call on the
desk the line is hung up. The policy shrinks rings and the retry window."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from callsop.desk.dialer_worker import run
from callsop.desk.models import Call, Chain, Club, DialJob, Staff, Task
from callsop.desk.services import outbound as out
from callsop.desk.services.dialing import dial_queue
from callsop.desk.services.policy import club_policy_save
from callsop.telephony.dialer import Dialer
from tests.telephony import sip_lab
from tests.telephony.sip_lab import Lab

pytestmark = pytest.mark.django_db(transaction=True)
PLAN = {
    "plan_purpose": "提醒 InBody 檢測",
    "caller_phone": "0912345678",
    "plan_name": "林美華",
    "plan_name_verified": "on",
    "plan_number_verified": "on",
    "plan_salutation": "林小姐",
    "plan_outline": "確認週六上午的檢測",
    "plan_time_budget_min": "3",
    "plan_material": "預約表",
    "plan_hard_reply": "改約下週",
}


@pytest.fixture
def clerk(django_user_model: Any) -> Staff:
    chain = Chain.objects.create(name="康活健身會館")
    club = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    club_policy_save(
        club=club,
        text="[timing]\nring_period_s = 0.3\nretry_after_min_s = 1.8\nretry_after_max_s = 3.0\n",
    )
    user = django_user_model.objects.create_user(username="alice", password="x")
    return Staff.objects.create(user=user, chain=chain, club=club, name="陳怡君", extension="301")


def _place_one(dialer: Dialer) -> None:
    done = DialJob.objects.filter(done_at__isnull=False).count()
    run(
        dialer,
        stop=lambda: DialJob.objects.filter(done_at__isnull=False).count() > done,
        poll_s=0.1,
    )


def test_dialled_from_the_desk_unanswered_retried_then_reached(lab: Lab, clerk: Staff) -> None:
    assert clerk.club is not None
    call = out.outbound_plan(club=clerk.club, clerk=clerk, data=PLAN)
    call = out.outbound_dial(call=call)
    dial_queue(call=call)
    with Dialer(proxy=f"127.0.0.1:{lab.proxy_port}", extension="301") as dialer:
        phone = lab.phone(sip_lab.DESK_IS_CANCELLED)
        _place_one(dialer)
        phone.wait(timeout=30)
        lab.events_until_end()
        call.refresh_from_db()
        assert call.outcome == Call.Outcome.NO_ANSWER
        retry_job = DialJob.objects.get(reason="retry")
        wait = retry_job.due - call.ended_at
        assert timedelta(seconds=2.2) < wait < timedelta(seconds=2.6)  # the middle of 1.8-3 s
        assert Task.objects.get(call=call, kind="retry").done_at is None

        phone = lab.phone(sip_lab.DESK_WAITS_FOR_BYE, ring_ms=600)
        retry = retry_job.call

        def clerk_ends_the_call() -> None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                fresh = Call.objects.get(pk=retry.pk)
                if fresh.state == Call.State.TALKING:
                    time.sleep(0.5)
                    out.outbound_finish(
                        call=fresh,
                        next_contact_at=timezone.now() + timedelta(days=3),
                        by="customer",
                    )
                    return
                time.sleep(0.05)

        ender = threading.Thread(target=clerk_ends_the_call)
        ender.start()
        _place_one(dialer)
        ender.join(timeout=30)
        phone.wait(timeout=30)
        events = lab.events_until_end()
    assert [e["kind"] for e in events] == ["offered", "ringing", "answered", "hangup"]
    assert events[-1]["by"] == "caller"  # our agent hung up when the clerk ended the call
    retry.refresh_from_db()
    assert retry.state == Call.State.ENDED and retry.answered_at is not None
    assert retry.started_at - call.ended_at > timedelta(seconds=2)  # placed when due, not before
    assert Task.objects.get(call=call, kind="retry").done_call == retry
    first = {f["rule"]: f for f in Call.objects.get(pk=call.pk).scorecard.findings}
    assert first["outbound.no-answer-give-up"]["verdict"] == "pass", first[
        "outbound.no-answer-give-up"
    ]
    assert first["outbound.retry-after-no-answer"]["verdict"] == "pass"
    assert not DialJob.objects.filter(done_at__isnull=True).exists()


def test_a_dropped_line_is_redialled_at_once(lab: Lab, clerk: Staff) -> None:
    assert clerk.club is not None
    call = out.outbound_dial(call=out.outbound_plan(club=clerk.club, clerk=clerk, data=PLAN))
    dial_queue(call=call)
    with Dialer(proxy=f"127.0.0.1:{lab.proxy_port}", extension="301") as dialer:
        phone = lab.phone(sip_lab.DESK_LINE_DROPS, ring_ms=300, talk_ms=800)
        _place_one(dialer)
        phone.wait(timeout=30)
        dropped = lab.events_until_end()
        call.refresh_from_db()
        assert call.outcome == Call.Outcome.DROPPED
        redial_job = DialJob.objects.get(reason="redial")
        assert redial_job.due <= call.ended_at + timedelta(seconds=1)
        phone = lab.phone(sip_lab.DESK_HANGS_UP, ring_ms=300, talk_ms=500)
        _place_one(dialer)
        phone.wait(timeout=30)
        redialled = lab.events_until_end()
    assert (dropped[-1]["kind"], dropped[-1]["cause"]) == ("hangup", "network")
    assert [e["kind"] for e in redialled] == ["offered", "ringing", "answered", "hangup"]
    redial = redial_job.call
    redial.refresh_from_db()
    assert redial.redial_of_id == call.pk and redial.state == Call.State.ENDED
    assert redial.started_at - call.ended_at < timedelta(seconds=5)
    first = {f["rule"]: f["verdict"] for f in Call.objects.get(pk=call.pk).scorecard.findings}
    assert first["outbound.redial-after-drop"] == "pass"
