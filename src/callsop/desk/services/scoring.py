"""Scoring a finished call with its club's policy, and keeping the roll-ups true."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

import msgspec
from django.db import transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from callsop.desk.models import (
    Amendment,
    Call,
    DailyStat,
    Dispute,
    RuleDaily,
    Scorecard,
    Staff,
)
from callsop.desk.services.errors import ActionError
from callsop.desk.services.policy import policy_of, policy_of_text
from callsop.desk.services.record import record_of
from callsop.engine.scoring import score
from callsop.engine.timeline import Timeline
from callsop.policy import Policy
from callsop.record.model import CallRecord

logger = logging.getLogger(__name__)

# Calls noted to be scored later, within `scoring_deferred()`: (pk, when it ended).
_DEFERRED: ContextVar[list[tuple[int, datetime]] | None] = ContextVar(
    "scoring_deferred", default=None
)


@contextmanager
def scoring_deferred() -> Iterator[list[tuple[int, datetime]]]:
    """Within it, `call_score` notes the calls it is asked to score instead
    of scoring them in the write transaction that ended them; the list it
    gives holds them, for `call_rescore` to score right after (so a burst of
    endings holds up no other write)."""
    noted: list[tuple[int, datetime]] = []
    token = _DEFERRED.set(noted)
    try:
        yield noted
    finally:
        _DEFERRED.reset(token)


# Retries and redials fall minutes apart (§1.4: 3-5 minutes, at once); two
# hours either side holds every call that can count as one.
HISTORY_WINDOW = timedelta(hours=2)


def call_score(*, call: Call, now: datetime | None = None) -> Scorecard | None:
    """Scores `call` (ended) with the calls to the same number around it, so
    retries and redials count; the neighbours are rescored too. Runs inside
    the caller's transaction; within `scoring_deferred()` it only notes the
    call (None), for the caller to score after its transaction."""
    at = now or timezone.now()
    deferred = _DEFERRED.get()
    if deferred is not None:
        deferred.append((call.pk, at))
        return None
    policy = graded_policy(call)
    batch, records, cards = _scored(call, policy, at)
    return _keep(call, batch, records, cards, policy, at)


def graded_policy(call: Call) -> Policy:
    """The policy the call was graded with when it was first scored (the
    club's current one for a call not scored yet, or graded before the
    policy was kept with its card)."""
    kept = Scorecard.objects.filter(call_id=call.pk).values_list("policy_toml", flat=True).first()
    if kept is None:
        return policy_of(call.club)
    return policy_of_text(call.club, kept)


def _scored(
    call: Call, policy: Policy, at: datetime
) -> tuple[list[Call], list[CallRecord], list[Any]]:
    """The engine's cards for `call` and its neighbours: reads only, writes nothing."""
    # Its parts read afresh in one go: what the caller's copy cached may be stale.
    call._state.fields_cache.pop("complaint", None)
    call.__dict__.pop("_prefetched_objects_cache", None)
    prefetch_related_objects([call], *_RECORD_PARTS)
    batch = [call]
    neighbours = (
        Call.objects.filter(
            club_id=call.club_id,
            phone_key=call.phone_key,
            state=Call.State.ENDED,
            started_at__gte=call.started_at - HISTORY_WINDOW,
            started_at__lte=call.started_at + HISTORY_WINDOW,
        )
        .exclude(pk=call.pk)
        .exists()
        if call.phone_key
        else False
    )
    if neighbours:
        batch = list(
            Call.objects.prefetch_related(*_RECORD_PARTS)
            .filter(
                club_id=call.club_id,
                phone_key=call.phone_key,
                state=Call.State.ENDED,
                started_at__gte=call.started_at - HISTORY_WINDOW,
                started_at__lte=call.started_at + HISTORY_WINDOW,
            )
            .select_related("club", "clerk")
            .order_by("started_at", "pk")
        )
        if call not in batch:
            batch.append(call)
            batch.sort(key=lambda c: (c.started_at, c.pk))
    records = [record_of(c) for c in batch]
    return batch, records, list(score(records, policy, now=at.timestamp()))


def _keep(
    call: Call,
    batch: list[Call],
    records: list[CallRecord],
    cards: list[Any],
    policy: Policy,
    at: datetime,
) -> Scorecard:
    """Saves the cards `_scored` gave: the call's own, and the neighbours it can change."""
    mine = None
    for member, record, card in zip(batch, records, cards, strict=True):
        # Of the others, only an unanswered or dropped call earlier on can
        # change with this one (its retry or redial); the rest stand.
        if member.pk != call.pk and not (
            member.started_at <= call.started_at and member.outcome in _WAITS_FOR_LATER
        ):
            continue
        findings = msgspec.to_builtins(card.findings)
        saved = _save(member, record, card.score, findings, policy, at)
        if member.pk == call.pk:
            mine = saved
    assert mine is not None
    return mine


def call_rescore(*, call_id: int, now: datetime | None = None) -> Scorecard:
    """Scores an ended call again after an amendment, outside any write
    transaction: the engine reads and scores first, then one short
    transaction keeps the cards, marks the card with the amendments it now
    reflects and gives the latest amendment its new score. If the call
    changed between the read and the write, it is read and scored again;
    after three such misses it is scored under the row lock."""
    for _ in range(3):
        at = now or timezone.now()
        call = Call.objects.select_related("club", "clerk").get(pk=call_id)
        policy = graded_policy(call)
        batch, records, cards = _scored(call, policy, at)
        with transaction.atomic(durable=True):
            fresh = (
                Call.objects.select_for_update(of=("self",))
                .filter(pk=call_id)
                .values_list("updated_at", flat=True)
                .get()
            )
            if fresh == call.updated_at:
                return _versioned(call, _keep(call, batch, records, cards, policy, at), at)
    with transaction.atomic(durable=True):
        at = now or timezone.now()
        call = (
            Call.objects.select_for_update(of=("self",))
            .select_related("club", "clerk")
            .get(pk=call_id)
        )
        policy = graded_policy(call)
        batch, records, cards = _scored(call, policy, at)
        return _versioned(call, _keep(call, batch, records, cards, policy, at), at)


def calls_score_after(ended: list[tuple[int, datetime]]) -> int:
    """Scores the calls an action ended (noted by `scoring_deferred()`),
    after its transaction has committed: a job each for a worker when one is
    running (`callsop worker`), so the clerk's request returns at once; else
    here and now, so a desk with no worker still grades every call. Returns
    how many went to a worker."""
    from callsop.desk.services.jobs import workers_alive

    if not ended:
        return 0
    if not workers_alive():
        for call_id, at in ended:
            call_rescore(call_id=call_id, now=at)
        return 0
    return calls_queue_for_grading(ended)


def calls_queue_for_grading(ended: list[tuple[int, datetime]]) -> int:
    """A scoring job each for a worker, for ended calls with none waiting
    (one whose job has not started is graded by it); a call whose job could
    not be queued is scored here. Returns how many went to a worker."""
    from callsop.desk.tasks import score_call

    queued = 0
    clubs = dict(Call.objects.filter(pk__in=[pk for pk, _ in ended]).values_list("pk", "club_id"))
    # A call whose job has not started yet is graded by it: the job reads the call afresh.
    waiting = set(
        DBTaskResult.objects.ready()
        .filter(
            task_path__endswith=".score_call",
            args_kwargs__kwargs__call_id__in=[pk for pk, _ in ended],
        )
        .values_list("args_kwargs__kwargs__call_id", flat=True)
    )
    for call_id, at in ended:
        if call_id in waiting:
            queued += 1
            continue
        try:
            score_call.enqueue(call_id=call_id, club_id=clubs.get(call_id), at=at.isoformat())
        except Exception:  # the queue's table out of reach a moment: graded here instead
            logger.exception(
                "call %s: its scoring job was not queued; scored in the request", call_id
            )
            call_rescore(call_id=call_id, now=at)
        else:
            queued += 1
    return queued


def _versioned(call: Call, card: Scorecard, at: datetime) -> Scorecard:
    """The card marked with the amendments it was scored with; the latest
    amendment gets the score it led to."""
    latest = Amendment.objects.filter(call_id=call.pk).order_by("-number").first()
    if latest is None:
        return card
    card.version = latest.number
    card.save(update_fields=["version"])
    latest.score_after = card.score
    latest.findings_after = card.findings
    latest.scored_after_at = at
    latest.save(update_fields=["score_after", "findings_after", "scored_after_at"])
    return card


_RECORD_PARTS = ("events", "memos", "tasks", "escalations", "complaint")
_WAITS_FOR_LATER = (Call.Outcome.NO_ANSWER, Call.Outcome.DROPPED)


def _local_day(call: Call, policy: Policy) -> Any:
    return call.started_at.astimezone(policy.tz).date()


def _contribution(
    call: Call,
    record: CallRecord,
    score_: float | None,
    findings: list[dict[str, Any]],
    policy: Policy,
) -> dict[str, Any]:
    answered = call.answered_at is not None
    max_hold = policy.timing.max_hold_s
    holds = _hold_lengths(record)
    return {
        "calls": 1,
        "inbound": int(call.direction == "inbound"),
        "answered": int(answered),
        "within_rings": int(
            call.direction == "inbound"
            and answered
            and (call.rings or 0) <= policy.timing.answer_within_rings
        ),
        "holds": len(holds),
        "hold_s": round(sum(holds), 1),
        "long_holds": sum(1 for h in holds if h > max_hold),
        "scored": int(score_ is not None),
        "score_sum": score_ or 0.0,
        "rules": {
            f["rule"]: [int(f["verdict"] == "pass"), int(f["verdict"] == "fail")]
            for f in findings
            if f["verdict"] != "na"
        },
    }


def _hold_lengths(record: CallRecord) -> list[float]:
    """Each hold taken back, in seconds, as the hold rules read them."""
    return [h.end - h.start for h in Timeline(record).holds if h.resumed and h.end is not None]


def _save(
    call: Call,
    record: CallRecord,
    score_: float | None,
    findings: list[dict[str, Any]],
    policy: Policy,
    at: datetime,
) -> Scorecard:
    card = Scorecard.objects.select_for_update().filter(call=call).first()
    overturned = set(
        Dispute.objects.filter(call=call, state=Dispute.State.OVERTURNED).values_list(
            "rule", flat=True
        )
    )
    if overturned:
        findings, score_ = _overturn(findings, overturned, policy)
    contribution = _contribution(call, record, score_, findings, policy)
    day, clerk_id = _local_day(call, policy), call.clerk_id
    unchanged = card is not None and (card.counted_day, card.counted_clerk_id, card.counted) == (
        day,
        clerk_id,
        contribution,
    )
    if card is None:
        card = Scorecard(call=call, policy_toml=call.club.policy_toml)
    elif not unchanged:
        _count(call.club_id, card.counted_day, card.counted_clerk_id, card.counted, -1)
    if not unchanged:
        _count(call.club_id, day, clerk_id, contribution, +1)
    card.score = score_
    card.findings = findings
    card.scored_at = at
    card.counted_day = day
    card.counted_clerk_id = clerk_id
    card.counted = contribution
    card.recheck_at = _window_closes(call, findings, policy, at)
    card.save()
    return card


# Rule, the policy option its window lasts, and the outcome that opens it.
_WINDOW_RULES = {
    "outbound.retry-after-no-answer": ("retry_after_max_s", Call.Outcome.NO_ANSWER),
    "outbound.redial-after-drop": ("redial_within_s", Call.Outcome.DROPPED),
}


def _window_closes(
    call: Call, findings: list[dict[str, Any]], policy: Policy, at: datetime
) -> datetime | None:
    """When the latest retry or redial window still open at `at` closes."""
    if call.ended_at is None:
        return None
    closes = []
    for f in findings:
        window = _WINDOW_RULES.get(f["rule"])
        if window is not None and f["verdict"] == "na" and call.outcome == window[1]:
            seconds = float(getattr(policy.timing, window[0])) + 1
            closes.append(call.ended_at + timedelta(seconds=seconds))
    closes = [c for c in closes if c > at and c - at < timedelta(hours=1)]
    return max(closes) if closes else None


RECHECK_ROUND = 100  # calls rescored a round: a worker beats every few seconds


def scores_recheck(
    *,
    club_ids: list[int] | None = None,
    call_ids: list[int] | None = None,
    now: datetime | None = None,
    limit: int = RECHECK_ROUND,
) -> int:
    """Scores again the calls whose retry or redial window has closed since,
    so "no retry yet" becomes a verdict: of `club_ids` or `call_ids` if
    given, else of every club (the worker's beat). Each in its own
    transaction, oldest window first, at most `limit` a round."""
    at = now or timezone.now()
    waiting = Scorecard.objects.filter(recheck_at__lte=at)
    if call_ids is not None:
        waiting = waiting.filter(call_id__in=call_ids)
    if club_ids is not None:
        waiting = waiting.filter(call__club_id__in=club_ids)
    due = list(waiting.order_by("recheck_at").values_list("call_id", flat=True)[:limit])
    for call_id in due:
        with transaction.atomic():
            call = Call.objects.select_related("club", "clerk").get(pk=call_id)
            call_score(call=call, now=at)
    return len(due)


def _overturn(
    findings: list[dict[str, Any]], rules: set[str], policy: Policy
) -> tuple[list[dict[str, Any]], float | None]:
    """A verdict the manager overturned counts as passed; the score follows."""
    out, earned, possible = [], 0.0, 0.0
    for f in findings:
        if f["rule"] in rules and f["verdict"] == "fail":
            f = {**f, "verdict": "pass", "overturned": True}
        if f["verdict"] != "na":
            weight = policy.weight(f["rule"])
            possible += weight
            earned += weight if f["verdict"] == "pass" else 0.0
        out.append(f)
    return out, (round(100 * earned / possible, 1) if possible else None)


def _count(
    club_id: int, day: Any, clerk_id: int | None, contribution: dict[str, Any] | None, sign: int
) -> None:
    if day is None or not contribution:
        return
    stat, _ = DailyStat.objects.select_for_update().get_or_create(
        club_id=club_id, day=day, clerk_id=clerk_id
    )
    for name in DailyStat.SUMS:
        setattr(stat, name, getattr(stat, name) + sign * contribution.get(name, 0))
    stat.save()
    rules: dict[str, list[int]] = contribution.get("rules", {})
    existing = {
        r.rule: r
        for r in RuleDaily.objects.filter(
            Q(club_id=club_id, day=day)
            & (Q(clerk_id=clerk_id) if clerk_id else Q(clerk__isnull=True)),
            rule__in=list(rules),
        )
    }
    new, changed = [], []
    for rule, (passed, failed) in rules.items():
        row = existing.get(rule)
        if row is None:
            new.append(
                RuleDaily(
                    club_id=club_id,
                    day=day,
                    clerk_id=clerk_id,
                    rule=rule,
                    passed=sign * passed,
                    failed=sign * failed,
                )
            )
        else:
            row.passed += sign * passed
            row.failed += sign * failed
            changed.append(row)
    RuleDaily.objects.bulk_create(new)
    RuleDaily.objects.bulk_update(changed, ["passed", "failed"])


@transaction.atomic(durable=True)
def dispute_raise(
    *, call: Call, clerk: Staff, rule: str, comment: str, now: datetime | None = None
) -> Dispute:
    """A clerk questions a verdict on their own call, with a comment."""
    if call.clerk_id != clerk.pk:
        raise ActionError("只能對自己接聽的通話提出申訴。")
    comment = comment.strip()
    if not comment:
        raise ActionError("請寫下申訴的理由。", field="comment")
    card = getattr(call, "scorecard", None)
    finding = next((f for f in (card.findings if card else []) if f["rule"] == rule), None)
    if finding is None or finding["verdict"] != "fail":
        raise ActionError("只能對未通過的項目提出申訴。", field="rule")
    if Dispute.objects.filter(call=call, rule=rule).exists():
        raise ActionError("這個項目已經申訴過了。", field="rule")
    return Dispute.objects.create(
        call=call, rule=rule, raised_by=clerk, comment=comment, raised_at=now or timezone.now()
    )


@transaction.atomic(durable=True)
def dispute_settle(
    *, dispute: Dispute, manager: Staff, overturn: bool, answer: str, now: datetime | None = None
) -> Dispute:
    """The manager upholds or overturns the verdict; an overturned one counts as passed."""
    if manager.role != Staff.Role.MANAGER or manager.club_id != dispute.call.club_id:
        raise ActionError("只有本館館長可以裁決申訴。")
    if dispute.state != Dispute.State.OPEN:
        raise ActionError("這件申訴已經裁決過了。")
    answer = answer.strip()
    if not answer:
        raise ActionError("請寫下裁決說明。", field="answer")
    at = now or timezone.now()
    dispute.state = Dispute.State.OVERTURNED if overturn else Dispute.State.UPHELD
    dispute.settled_by = manager
    dispute.settled_at = at
    dispute.answer = answer
    dispute.save()
    if overturn:
        card = Scorecard.objects.select_for_update().get(call=dispute.call)
        call = dispute.call
        policy = graded_policy(call)
        _save(call, record_of(call), card.score, list(card.findings), policy, card.scored_at)
    return dispute
