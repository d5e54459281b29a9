"""Scorecards from desk calls: the record, the club's policy, roll-ups and disputes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from callsop.desk import selectors
from callsop.desk.models import Call, DailyStat, Dispute, RuleDaily
from callsop.desk.services import calls as svc
from callsop.desk.services.errors import ActionError
from callsop.desk.services.policy import club_policy_save, policy_of
from callsop.desk.services.record import record_data, record_of
from callsop.desk.services.scoring import call_score, dispute_raise, dispute_settle
from callsop.record.reader import Loaded, read_bytes
from tests.desk.conftest import World


def _held_call(world: World, t0: datetime, hold_s: float) -> Call:
    call = svc.call_ring(club=world.xinyi, phone="0912345678", now=t0)
    svc.call_answer(call=call, clerk=world.alice, now=t0 + timedelta(seconds=4))
    svc.call_hold(call=call, now=t0 + timedelta(seconds=10))
    svc.call_resume(call=call, now=t0 + timedelta(seconds=10 + hold_s))
    return svc.call_end(by="customer", call=call, now=t0 + timedelta(seconds=120))


def _verdict(call: Call, rule: str) -> str:
    call.scorecard.refresh_from_db()
    return next(f["verdict"] for f in call.scorecard.findings if f["rule"] == rule)


def test_the_record_is_the_exchange_format_and_reads_back(world: World, t0: datetime) -> None:
    call = _held_call(world, t0, 20)
    svc.complaint_log(
        call=call, clerk=world.alice, summary="冷氣太冷", now=t0 + timedelta(minutes=5)
    )
    call = Call.objects.get(pk=call.pk)
    data = record_data(call)
    assert data["schema"] == "callsop.call/1" and data["id"] == f"xinyi-{call.pk}"
    assert [e["type"] for e in data["events"]] == [
        "ringing",
        "answered",
        "hold",
        "resume",
        "hangup",
    ]
    assert data["events"][2]["t"] == 10.0 and data["events"][3]["t"] == 30.0
    assert data["complaint"]["summary"] == "冷氣太冷"
    import json

    (item,) = read_bytes("desk.json", json.dumps(data, ensure_ascii=False).encode())
    assert isinstance(item, Loaded) and item.record == record_of(call)


def test_the_clubs_policy_decides(world: World, t0: datetime) -> None:
    call = _held_call(world, t0, 40)
    assert _verdict(call, "hold.max-duration") == "pass"
    club_policy_save(club=world.xinyi, text="[timing]\nmax_hold_s = 30\n")
    world.xinyi.refresh_from_db()
    assert policy_of(world.xinyi).timing.max_hold_s == 30
    # A graded call keeps the policy it was graded with when scored again…
    call_score(call=Call.objects.get(pk=call.pk))
    assert _verdict(call, "hold.max-duration") == "pass"
    # …and a call graded after the change is judged by the new one.
    later = _held_call(world, t0 + timedelta(minutes=5), 40)
    assert _verdict(later, "hold.max-duration") == "fail"
    # The other club keeps the default.
    assert policy_of(world.banqiao).timing.max_hold_s == 60


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[timing]\nmax_hold = 30\n", "max_hold"),
        ("[timing]\nmax_hold_s = 'long'\n", "max_hold_s"),
        ("[timing\n", "TOML"),
        ("[phrases]\ngreeting = ['，']\n", "greeting"),
    ],
)
def test_a_bad_policy_is_refused_whole_naming_the_key(world: World, text: str, words: str) -> None:
    with pytest.raises(ActionError) as err:
        club_policy_save(club=world.xinyi, text=text)
    assert words in err.value.message
    world.xinyi.refresh_from_db()
    assert world.xinyi.policy_toml == ""


def test_rescoring_counts_each_call_once(world: World, t0: datetime) -> None:
    call = _held_call(world, t0, 75)
    for _ in range(3):
        call_score(call=Call.objects.get(pk=call.pk))
    stat = DailyStat.objects.get(club=world.xinyi, clerk=world.alice)
    assert (stat.calls, stat.inbound, stat.answered, stat.within_rings) == (1, 1, 1, 1)
    assert (stat.holds, stat.long_holds) == (1, 1) and stat.hold_s == pytest.approx(75)
    hold = RuleDaily.objects.get(club=world.xinyi, rule="hold.max-duration")
    assert (hold.passed, hold.failed) == (0, 1)


def test_the_dashboard_sums_the_roll_ups(world: World, t0: datetime) -> None:
    _held_call(world, t0, 20)
    _held_call(world, t0 + timedelta(minutes=10), 90)
    late = svc.call_ring(club=world.xinyi, phone="0933", now=t0 + timedelta(hours=1))
    svc.call_answer(call=late, clerk=world.bob, now=t0 + timedelta(hours=1, seconds=14))
    svc.call_end(by="customer", call=late, now=t0 + timedelta(hours=1, seconds=60))
    _held_call(world, t0 + timedelta(minutes=20), 10)
    other = svc.call_ring(club=world.banqiao, phone="0944", now=t0)
    svc.call_end(by="customer", call=other, now=t0 + timedelta(seconds=40))
    day = date(2026, 11, 27)
    data = selectors.dashboard([world.xinyi.pk], day, day, None, t0 + timedelta(hours=2))
    assert data.totals["calls"] == 4
    assert data.totals["answer_rate"] == 75.0  # bob answered after 5 rings
    assert data.totals["long_holds"] == 1
    by_clerk = {row["clerk__name"]: row["calls"] for row in data.clerks}
    assert by_clerk == {"陳怡君": 3, "王淑芬": 1}
    rules = {row["rule"]: row for row in data.rules}
    assert (rules["hold.max-duration"]["passed"], rules["hold.max-duration"]["failed"]) == (2, 1)
    only_bob = selectors.dashboard([world.xinyi.pk], day, day, world.bob.pk, t0)
    assert only_bob.totals["calls"] == 1 and only_bob.totals["answer_rate"] == 0.0


def test_a_dispute_overturned_counts_as_passed(world: World, t0: datetime) -> None:
    call = _held_call(world, t0, 75)
    before = call.scorecard.score
    with pytest.raises(ActionError):
        dispute_raise(call=call, clerk=world.alice, rule="inbound.answer-promptly", comment="x")
    with pytest.raises(ActionError):
        dispute_raise(call=call, clerk=world.bob, rule="hold.max-duration", comment="不是我接的")
    dispute = dispute_raise(
        call=call, clerk=world.alice, rule="hold.max-duration", comment="系統查詢卡住"
    )
    with pytest.raises(ActionError):
        dispute_raise(call=call, clerk=world.alice, rule="hold.max-duration", comment="again")
    with pytest.raises(ActionError):
        dispute_settle(dispute=dispute, manager=world.alice, overturn=True, answer="ok")
    with pytest.raises(ActionError):
        dispute_settle(dispute=dispute, manager=world.hq, overturn=True, answer="ok")
    dispute_settle(dispute=dispute, manager=world.bob, overturn=True, answer="系統問題，改判")
    call = Call.objects.get(pk=call.pk)
    finding = next(f for f in call.scorecard.findings if f["rule"] == "hold.max-duration")
    assert finding["verdict"] == "pass" and finding["overturned"]
    assert call.scorecard.score > before
    hold = RuleDaily.objects.get(club=world.xinyi, rule="hold.max-duration")
    assert (hold.passed, hold.failed) == (1, 0)
    # A later rescore keeps the manager's decision.
    call_score(call=call)
    assert _verdict(call, "hold.max-duration") == "pass"
    assert Dispute.objects.get().state == Dispute.State.OVERTURNED
    with pytest.raises(ActionError):
        dispute_settle(dispute=Dispute.objects.get(), manager=world.bob, overturn=False, answer="x")
