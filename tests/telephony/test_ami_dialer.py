"""Click-to-dial through Asterisk's AMI Originate: the clerk's own phone rings
first, then the PBX dials the customer. A scripted AMI server over real TCP
plays the recorded Asterisk 22 events (ami_server.py); the dialer gives up
at ten of the customer's rings, hangs up when the clerk ends the call on
the desk, and the desk queues the retry or the redial as for our own SIP
user agent. The policy shrinks rings and the retry window."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from callsop.cli import EXIT_USAGE
from callsop.desk.dialer_worker import run
from callsop.desk.models import Call, Chain, Club, DialJob, Staff, Task
from callsop.desk.services import outbound as out
from callsop.desk.services.dialing import dial_queue
from callsop.desk.services.policy import club_policy_save
from callsop.policy import load_policy
from callsop.telephony.ami_dialer import DESK_RING_S, AmiDialer, AmiError
from callsop.telephony.dialplan import next_dial
from tests.helpers import ROOT
from tests.telephony import ami_server as ami
from tests.telephony.ami_server import DESK, AmiServer, Script
from tests.telephony.test_click_to_dial import PLAN as PJSUA_PLAN

RING_PERIOD_S = 0.3
RING_FOR_S = (10 - 0.5) * RING_PERIOD_S  # dialplan.ring_for_s of the policy below
NEAR_S = 0.05  # the desk's times against the replayed events'
# The click-to-dial plan, its number written as a clerk types it.
PLAN = PJSUA_PLAN | {"caller_phone": "0912-345-678"}


@pytest.fixture
def clerk(django_user_model: Any) -> Staff:
    chain = Chain.objects.create(name="康活健身會館")
    club = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    club_policy_save(
        club=club,
        text=f"[timing]\nring_period_s = {RING_PERIOD_S}\nretry_after_min_s = 1.8\n"
        "retry_after_max_s = 3.0\n",
    )
    user = django_user_model.objects.create_user(username="alice", password="x")
    return Staff.objects.create(user=user, chain=chain, club=club, name="陳怡君", extension="101")


@pytest.fixture
def pbx() -> Iterator[Callable[..., tuple[AmiServer, AmiDialer]]]:
    servers: list[AmiServer] = []

    def start(*scripts: Script, **options: Any) -> tuple[AmiServer, AmiDialer]:
        server = AmiServer(scripts, **options)
        servers.append(server)
        dialer = AmiDialer(
            host="127.0.0.1",
            port=server.port,
            username="callsop",
            secret="desk-s3cret",
            extension="101",
        )
        return server, dialer

    yield start
    for server in servers:
        server.__exit__()


def _dialled(clerk: Staff) -> Call:
    assert clerk.club is not None
    call = out.outbound_dial(call=out.outbound_plan(club=clerk.club, clerk=clerk, data=PLAN))
    dial_queue(call=call)
    return call


def _place_one(dialer: AmiDialer, log: Callable[[str], None] = print) -> None:
    done = DialJob.objects.filter(done_at__isnull=False).count()
    run(
        dialer,
        stop=lambda: DialJob.objects.filter(done_at__isnull=False).count() > done,
        poll_s=0.05,
        log=log,
    )


def _at(event: dict[str, str]) -> datetime:
    return datetime.fromtimestamp(float(event["Timestamp"]), UTC)


def _near(moment: datetime | None, event: dict[str, str]) -> bool:
    return moment is not None and abs((moment - _at(event)).total_seconds()) <= NEAR_S


def _clerk_ends_when_talking(call: Call) -> threading.Thread:
    def end() -> None:
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                fresh = Call.objects.get(pk=call.pk)
                if fresh.state == Call.State.TALKING:
                    time.sleep(0.3)
                    later = timezone.now() + timedelta(days=3)
                    out.outbound_finish(call=fresh, next_contact_at=later, by="customer")
                    return
                time.sleep(0.02)
        finally:
            connection.close()  # this thread's own

    ender = threading.Thread(target=end)
    ender.start()
    return ender


desk = pytest.mark.django_db(transaction=True)  # the dialer and the clerk: two connections


@desk
def test_the_desk_phone_rings_then_the_customer_and_the_clerk_ends_the_call(
    clerk: Staff, pbx: Callable[..., tuple[AmiServer, AmiDialer]]
) -> None:
    server, dialer = pbx(ami.answered_until_hung_up())
    call = _dialled(clerk)
    ender = _clerk_ends_when_talking(call)
    _place_one(dialer)
    ender.join(timeout=30)
    (originate,) = server.named("Originate")
    assert {k: originate[k] for k in ("Channel", "Context", "Exten", "Priority", "Async")} == {
        "Channel": "PJSIP/101",
        "Context": "from-desk",
        "Exten": "0912345678",
        "Priority": "1",
        "Async": "true",
    }
    assert originate["Timeout"] == str(int(DESK_RING_S * 1000))
    assert originate["CallerID"] == "<101>"
    (hangup,) = server.named("Hangup")
    assert hangup["Channel"] == DESK  # the originated channel, by the name Asterisk gave it
    answer = server.event(Event="DialEnd", DialStatus="ANSWER", Channel=DESK)
    assert answer["Uniqueid"] == answer["Linkedid"] == originate["ChannelId"]
    call.refresh_from_db()
    assert call.state == Call.State.ENDED and call.outcome == Call.Outcome.COMPLETED
    assert _near(call.answered_at, answer)  # the customer's answer, not the desk phone's
    desk_up = server.event(Event="Newstate", Channel=DESK, ChannelStateDesc="Up")
    assert call.answered_at is not None and call.answered_at - _at(desk_up) > timedelta(seconds=0.3)
    hangup_at = next(at for at, a in server.actions if a.get("Action") == "Hangup")
    assert call.ended_at is not None and call.ended_at.timestamp() <= hangup_at
    assert DialJob.objects.get(call=call).outcome == "answered"
    assert DialJob.objects.count() == 1  # answered: nothing follows


@desk
def test_the_customer_hangs_up_first(
    clerk: Staff, pbx: Callable[..., tuple[AmiServer, AmiDialer]]
) -> None:
    server, dialer = pbx(ami.customer_hangs_up())
    call = _dialled(clerk)
    _place_one(dialer)
    assert server.named("Hangup") == []
    call.refresh_from_db()
    assert call.state == Call.State.ENDED
    assert _near(call.answered_at, server.event(Event="DialEnd", DialStatus="ANSWER", Channel=DESK))
    desk_gone = server.event(Event="Hangup", Channel=DESK)
    assert _near(call.ended_at, desk_gone)
    assert call.events.get(type="hangup").by == "customer"
    assert DialJob.objects.get(call=call).outcome == "answered"


@desk
def test_ten_rings_unanswered_then_the_retry_falls_due_and_is_placed(
    clerk: Staff, pbx: Callable[..., tuple[AmiServer, AmiDialer]]
) -> None:
    server, dialer = pbx(ami.rings_until_hung_up(), ami.customer_hangs_up())
    call = _dialled(clerk)
    _place_one(dialer)
    ringing = server.event(Event="Newstate", Channel=ami.CUSTOMER, ChannelStateDesc="Ringing")
    hangup_at = next(at for at, a in server.actions if a.get("Action") == "Hangup")
    rang_s = hangup_at - float(ringing["Timestamp"])
    assert RING_FOR_S <= rang_s < RING_FOR_S + 1.0  # counted from the customer's first ring
    call.refresh_from_db()
    assert call.state == Call.State.ENDED and call.outcome == Call.Outcome.NO_ANSWER
    assert _near(call.events.get(type="ringing").at, ringing)  # not when the desk phone rang
    assert DialJob.objects.get(call=call).outcome == "no-answer"  # given up, not failed
    assert _near(call.ended_at, server.event(Event="Hangup", Channel=DESK))
    retry_job = DialJob.objects.get(reason="retry")
    assert call.ended_at is not None
    assert timedelta(seconds=2.2) < retry_job.due - call.ended_at < timedelta(seconds=2.6)
    assert Task.objects.get(call=call, kind="retry").done_at is None

    _place_one(dialer)
    retry = Call.objects.get(pk=retry_job.call_id)
    assert retry.state == Call.State.ENDED and retry.answered_at is not None
    assert retry.started_at >= retry_job.due  # placed when due, not before
    assert Task.objects.get(call=call, kind="retry").done_call == retry
    assert len(server.named("Originate")) == 2
    first = {f["rule"]: f for f in Call.objects.get(pk=call.pk).scorecard.findings}
    give_up = first["outbound.no-answer-give-up"]
    assert give_up["verdict"] == "pass", give_up
    assert first["outbound.retry-after-no-answer"]["verdict"] == "pass"


@desk
def test_a_busy_customer_is_retried_later(
    clerk: Staff, pbx: Callable[..., tuple[AmiServer, AmiDialer]]
) -> None:
    server, dialer = pbx(ami.busy(after_s=1.0))
    call = _dialled(clerk)
    _place_one(dialer)
    assert server.named("Hangup") == []
    job = DialJob.objects.get(call=call)
    assert job.outcome == "busy"
    call.refresh_from_db()
    assert call.state == Call.State.ENDED and call.answered_at is None
    assert _near(call.ended_at, server.event(Event="Hangup", Channel=DESK))
    assert DialJob.objects.get(reason="retry").tries == 2


@desk
def test_a_dropped_line_is_redialled_at_once(
    clerk: Staff, pbx: Callable[..., tuple[AmiServer, AmiDialer]]
) -> None:
    server, dialer = pbx(ami.line_drops(after_s=2.0), ami.customer_hangs_up())
    call = _dialled(clerk)
    _place_one(dialer)
    lost = server.event(Event="Hangup", Channel=ami.CUSTOMER)
    assert lost["Cause"] == "44"  # Asterisk's RTP timeout
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.DROPPED
    assert _near(call.answered_at, server.event(Event="DialEnd", DialStatus="ANSWER", Channel=DESK))
    assert _near(call.ended_at, server.event(Event="Hangup", Channel=DESK))
    redial_job = DialJob.objects.get(reason="redial")
    assert redial_job.due == call.ended_at
    _place_one(dialer)
    redial = Call.objects.get(pk=redial_job.call_id)
    assert redial.redial_of_id == call.pk and redial.state == Call.State.ENDED
    assert len(server.named("Originate")) == 2
    first = {f["rule"]: f["verdict"] for f in Call.objects.get(pk=call.pk).scorecard.findings}
    assert first["outbound.redial-after-drop"] == "pass"


def test_the_desk_phone_not_picked_up_fails_and_is_not_retried(
    pbx: Callable[..., tuple[AmiServer, AmiDialer]],
) -> None:
    server, dialer = pbx(ami.desk_not_picked_up(), scale=0.02)
    attempt = dialer.place("0912345678", ring_for_s=RING_FOR_S)
    assert (attempt.outcome, attempt.dialled) == ("failed", False)
    failure = server.event(Event="OriginateResponse")
    assert (failure["Response"], failure["Reason"]) == ("Failure", "3")
    assert abs(attempt.ended_at - float(failure["Timestamp"])) <= NEAR_S
    assert server.named("Hangup") == []  # Asterisk gave up on the desk phone itself
    assert next_dial(attempt, load_policy(None)) is None


@desk
def test_on_the_desk_a_desk_phone_not_picked_up_leaves_the_call_to_dial_again(
    clerk: Staff, pbx: Callable[..., tuple[AmiServer, AmiDialer]]
) -> None:
    _, dialer = pbx(ami.desk_not_picked_up(), scale=0.02)
    call = _dialled(clerk)
    _place_one(dialer)
    call.refresh_from_db()
    assert call.state == Call.State.PLANNING  # the customer was never called
    assert not call.events.filter(type__in=("dialing", "ringing", "hangup")).exists()
    assert DialJob.objects.count() == 1 and not Task.objects.filter(call=call).exists()


def test_the_dialplan_giving_up_first_is_no_answer_from_the_first_ring(
    pbx: Callable[..., tuple[AmiServer, AmiDialer]],
) -> None:
    server, dialer = pbx(ami.dial_times_out(), scale=0.02)
    rang: list[float] = []
    attempt = dialer.place("0912345678", ring_for_s=5.0, on_ringing=rang.append)
    assert (attempt.outcome, attempt.dialled) == ("no-answer", True)
    assert server.named("Hangup") == []  # Asterisk's Dial ended it, not our give-up
    ringing = server.event(Event="Newstate", Channel=ami.CUSTOMER, ChannelStateDesc="Ringing")
    assert rang == [float(ringing["Timestamp"])]  # the customer's phone, not the desk's
    assert (
        abs(attempt.ended_at - float(server.event(Event="Hangup", Channel=DESK)["Timestamp"]))
        <= NEAR_S
    )
    assert server.event(Event="DialEnd", Channel=DESK)["DialStatus"] == "NOANSWER"


def test_a_refused_log_in_says_so() -> None:
    with AmiServer([]) as server, pytest.raises(AmiError) as refused:
        AmiDialer(
            host="127.0.0.1", port=server.port, username="callsop", secret="wrong", extension="101"
        )
    assert str(refused.value) == (
        f"Asterisk at 127.0.0.1:{server.port} refused the AMI log-in as 'callsop': "
        "Authentication failed"
    )


@desk
def test_a_refused_originate_is_reported_and_the_dialer_goes_on(
    clerk: Staff, pbx: Callable[..., tuple[AmiServer, AmiDialer]]
) -> None:
    server, dialer = pbx(refuse_originate="Extension does not exist.")
    with pytest.raises(
        AmiError, match="refused to originate the call to 0912345678 from PJSIP/101"
    ):
        dialer.place("0912345678", ring_for_s=RING_FOR_S)
    said: list[str] = []
    call = _dialled(clerk)
    _place_one(dialer, log=said.append)
    assert said == [
        f"call {call.pk} to 0912345678: Asterisk refused to originate the call to 0912345678 "
        "from PJSIP/101: Extension does not exist."
    ]
    assert DialJob.objects.get(call=call).outcome == "failed"
    assert server.sent == []


def test_a_session_lost_mid_call_hangs_the_call_up_and_counts_as_a_drop(
    pbx: Callable[..., tuple[AmiServer, AmiDialer]],
) -> None:
    answer = {"Event": "DialEnd", "DialStatus": "ANSWER", "Channel": DESK}
    server, dialer = pbx(ami.answered_until_hung_up(), drop_after=answer)
    with pytest.raises(AmiError) as lost:
        dialer.place("0912345678", ring_for_s=RING_FOR_S, keep_talking=lambda: True)
    assert str(lost.value).startswith(
        f"lost the AMI session at 127.0.0.1:{server.port} while the customer had answered "
        "(call to 0912345678): "
    )
    assert str(lost.value).endswith("; hung the call up")
    assert lost.value.attempt is not None and lost.value.attempt.outcome == "dropped"
    assert len(server.named("Login")) == 3  # the check, the call, the hang-up
    (hangup,) = server.named("Hangup")
    assert hangup["Channel"] == DESK


def _callsop(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, with only `env` of the AMI log-in."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CALLSOP_AMI_")}
    return subprocess.run(
        [sys.executable, "-m", "callsop", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=clean | env,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--ami", "pbx.local"], "--ami: expected HOST:PORT, got 'pbx.local'"),
        (["--ami", "127.0.0.1:5038"], "--ami: set CALLSOP_AMI_USERNAME and CALLSOP_AMI_SECRET"),
        (["--proxy", "127.0.0.1:5060", "--context", "x"], "--context goes with --ami"),
    ],
)
def test_the_command_says_what_is_missing(args: list[str], said: str) -> None:
    result = _callsop("dialer", *args, "--extension", "101")
    assert (result.returncode, result.stderr) == (EXIT_USAGE, f"callsop: {said}\n")


def test_the_command_stops_at_once_on_a_refused_log_in() -> None:
    with AmiServer([]) as server:
        address = f"127.0.0.1:{server.port}"
        result = _callsop(
            "dialer",
            "--ami",
            address,
            "--extension",
            "101",
            CALLSOP_AMI_USERNAME="callsop",
            CALLSOP_AMI_SECRET="wrong",
        )
    assert result.returncode == EXIT_USAGE
    assert result.stderr == (
        f"callsop: --ami: Asterisk at {address} refused the AMI log-in as 'callsop': "
        "Authentication failed\n"
    )


def test_the_command_takes_one_way_to_dial() -> None:
    both = _callsop(
        "dialer", "--ami", "127.0.0.1:5038", "--proxy", "127.0.0.1:5060", "--extension", "1"
    )
    neither = _callsop("dialer", "--extension", "101")
    assert both.returncode == neither.returncode == EXIT_USAGE
    assert "argument --proxy: not allowed with argument --ami" in both.stderr
    assert "one of the arguments --proxy --ami is required" in neither.stderr
