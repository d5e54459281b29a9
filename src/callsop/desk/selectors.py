"""Reads the pages need, each scoped to clubs the viewer may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL

from callsop.desk.models import (
    Call,
    Complaint,
    DailyStat,
    Dispute,
    Escalation,
    KnowledgeItem,
    Memo,
    RuleDaily,
    Staff,
    Task,
)
from callsop.desk.services.tasks import due_task

OVERDUE_AFTER = timedelta(minutes=10)
RINGING_FOR_AT_MOST = timedelta(minutes=5)
LATER_WITHIN = timedelta(days=1)  # the inbox lists tasks falling due in the next day


def ringing_and_unclaimed(staff: Staff, now: datetime) -> tuple[list[Call], list[Call]]:
    """The incoming calls ringing at the clerk's club, not yet answered, and
    the calls the PBX says were answered at a phone no one is known at, in
    one query: every open desk of a club reads them again each time one of
    its calls rings or changes."""
    ringing = Q(
        direction="inbound", state=Call.State.RINGING, started_at__gte=now - RINGING_FOR_AT_MOST
    )
    unclaimed = Q(state__in=[Call.State.TALKING, Call.State.HELD], clerk__isnull=True)
    both = list(
        Call.objects.filter(ringing | unclaimed, club_id=staff.club_pk).order_by("started_at")
    )
    return (
        [c for c in both if c.state == Call.State.RINGING],
        [c for c in both if c.state != Call.State.RINGING],
    )


def my_live_calls(staff: Staff) -> QuerySet[Call]:
    return Call.objects.filter(
        clerk=staff,
        state__in=[Call.State.PLANNING, Call.State.TALKING, Call.State.HELD, Call.State.RINGING],
    ).order_by("-started_at")


def colleagues(staff: Staff) -> QuerySet[Staff]:
    return Staff.objects.filter(club_id=staff.club_pk).exclude(pk=staff.pk).order_by("name")


def past_calls(staff: Staff, phone_key: str, *, exclude: int | None = None) -> QuerySet[Call]:
    """Earlier calls with this number at the club, newest first."""
    qs = Call.objects.filter(club_id=staff.club_pk, phone_key=phone_key, state=Call.State.ENDED)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.select_related("clerk").order_by("-started_at")[:5]


# Score bands as the scorecard colours them: [low, high), None for open-ended.
SCORE_BANDS: dict[str, tuple[float | None, float | None]] = {
    "good": (85, None),
    "mid": (70, 85),
    "bad": (None, 70),
}


@dataclass(frozen=True)
class CallQuery:
    """What a call search asks for; every part is optional and they all apply."""

    phone_key: str = ""  # engine.history.normalise_phone of the number typed
    name: str = ""
    clerk_id: int | None = None
    since: datetime | None = None
    before: datetime | None = None
    failed_rule: str = ""  # a rule id the call failed
    band: str = ""  # a key of SCORE_BANDS, or "none" for a call not scored


def call_search(club_ids: list[int], query: CallQuery) -> QuerySet[Call]:
    """Ended calls of `club_ids` matching `query`, newest first. A number is
    matched on the indexed `phone_key`, so a phone search reads no other calls."""
    calls: QuerySet[Call]
    if query.phone_key:
        # The club is tested on `club_id + 0`, which no index serves, so the
        # planner reads the number's few calls from the phone_key index; SQLite,
        # without statistics, would otherwise walk the club's every call.
        calls = Call.objects.annotate(club_of=F("club_id") + 0).filter(
            phone_key=query.phone_key, club_of__in=club_ids, state=Call.State.ENDED
        )
    else:
        calls = Call.objects.filter(club_id__in=club_ids, state=Call.State.ENDED)
    if query.name:
        calls = calls.filter(caller_name__icontains=query.name)
    if query.clerk_id is not None:
        calls = calls.filter(clerk_id=query.clerk_id)
    if query.since is not None:
        calls = calls.filter(started_at__gte=query.since)
    if query.before is not None:
        calls = calls.filter(started_at__lt=query.before)
    if query.failed_rule:
        # The roll-up's count for the call: [passed, failed], an overturned
        # verdict already counted as passed.
        calls = calls.filter(**{f"scorecard__counted__rules__{query.failed_rule}__1": 1})
    if query.band == "none":
        calls = calls.filter(Q(scorecard__isnull=True) | Q(scorecard__score__isnull=True))
    elif query.band in SCORE_BANDS:
        low, high = SCORE_BANDS[query.band]
        if low is not None:
            calls = calls.filter(scorecard__score__gte=low)
        if high is not None:
            calls = calls.filter(scorecard__score__lt=high)
    return calls.select_related("clerk", "club", "scorecard").order_by("-started_at", "-pk")


@dataclass
class Inbox:
    memos: list[Memo]
    tasks_due: list[Task]
    tasks_overdue: list[Task]
    tasks_later: list[Task]
    complaints: list[Complaint]
    escalations: list[Escalation]
    disputes: list[Dispute]

    @property
    def count(self) -> int:
        return len(self.memos) + len(self.tasks_due) + len(self.tasks_overdue)


def inbox(staff: Staff, now: datetime, tz: ZoneInfo) -> Inbox:
    memos = list(
        Memo.objects.filter(for_staff=staff, called_back_at__isnull=True).select_related("taken_by")
    )
    tasks = Task.objects.filter(club_id=staff.club_pk, done_at__isnull=True).filter(
        Q(assignee=staff) | Q(assignee__isnull=True)
    )
    if staff.is_manager:
        tasks = Task.objects.filter(club_id=staff.club_pk, done_at__isnull=True)
    tasks = tasks.select_related("assignee", "club").order_by("due")
    due, overdue, later = [], [], []
    # Each task's window as the desk's 待辦 card has it: a retry opens before
    # its due time (the SOP's 3-5 minutes) and is late once that window passed.
    for task in tasks.filter(due__lte=now + LATER_WITHIN):
        window = due_task(task, now)
        if not window.is_open:
            later.append(task)
        elif window.is_late:
            overdue.append(task)
        else:
            due.append(task)
    midnight = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tz)
    complaints = list(
        Complaint.objects.filter(club_id=staff.club_pk)
        .filter(Q(logged_at__gte=midnight) | ~Q(state=Complaint.State.CLOSED))
        .select_related("call", "logged_by")
        .prefetch_related("notes__by")
    )
    escalations = (
        list(
            Escalation.objects.filter(to=staff, seen_at__isnull=True).select_related(
                "call", "call__clerk"
            )
        )
        if staff.is_manager
        else []
    )
    disputes = (
        list(
            Dispute.objects.filter(
                call__club_id=staff.club_pk, state=Dispute.State.OPEN
            ).select_related("call", "raised_by")
        )
        if staff.is_manager
        else list(Dispute.objects.filter(raised_by=staff).select_related("call")[:20])
    )
    return Inbox(memos, due, overdue, later, complaints, escalations, disputes)


def knowledge_search(
    staff: Staff, query: str, *, kind: str = "", limit: int = 30
) -> QuerySet[KnowledgeItem]:
    """Items of the viewer's club and the chain's HQ, matching every word of `query`.

    Chinese has no spaces, so words are matched as substrings: SQLite's FTS5
    trigram index and PostgreSQL's pg_trgm index serve words of three or more
    characters; shorter ones fall back to a plain substring test."""
    qs = KnowledgeItem.objects.filter(chain_id=staff.chain_id)
    if staff.role != Staff.Role.HQ:
        qs = qs.filter(Q(club_id=staff.club_pk) | Q(club__isnull=True))
    if kind:
        qs = qs.filter(kind=kind)
    for term in query.split()[:6]:
        if len(term) >= 3 and connection.vendor == "sqlite":
            phrase = '"' + term.replace('"', '""') + '"'
            qs = qs.filter(
                id__in=RawSQL(
                    "SELECT rowid FROM desk_knowledge_fts WHERE desk_knowledge_fts MATCH %s",
                    [phrase],
                )
            )
        elif len(term) >= 3 and connection.vendor == "postgresql":
            like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            qs = qs.filter(
                id__in=RawSQL(
                    "SELECT id FROM desk_knowledgeitem WHERE (title || ' ' || body) ILIKE %s",
                    [like],
                )
            )
        else:
            qs = qs.filter(Q(title__icontains=term) | Q(body__icontains=term))
    return qs.select_related("club")[:limit]


@dataclass
class Dashboard:
    days: list[dict[str, Any]]
    clerks: list[dict[str, Any]]
    rules: list[dict[str, Any]]
    totals: dict[str, Any]
    overdue_tasks: int
    open_complaints: int
    open_disputes: int


def _rate(part: int | None, whole: int | None) -> float | None:
    return round(100 * (part or 0) / whole, 1) if whole else None


_SUMS = {
    "calls": Sum("calls"),
    "inbound": Sum("inbound"),
    "answered": Sum("answered"),
    "within_rings": Sum("within_rings"),
    "holds": Sum("holds"),
    "hold_s": Sum("hold_s"),
    "long_holds": Sum("long_holds"),
    "scored": Sum("scored"),
    "score_sum": Sum("score_sum"),
}


def _derived(row: dict[str, Any]) -> dict[str, Any]:
    # Answered within the policy's rings, as a share of all incoming calls
    # (one never answered counts against it).
    row["answer_rate"] = _rate(row.get("within_rings"), row.get("inbound"))
    row["avg_score"] = round(row["score_sum"] / row["scored"], 1) if row.get("scored") else None
    row["avg_hold_s"] = round(row["hold_s"] / row["holds"], 1) if row.get("holds") else None
    return row


def dashboard(
    club_ids: list[int], start: date, end: date, clerk_id: int | None, now: datetime
) -> Dashboard:
    """Everything the manager's dashboard shows, from the daily roll-ups:
    a handful of grouped queries whatever the number of calls."""
    stats = DailyStat.objects.filter(club_id__in=club_ids, day__gte=start, day__lte=end)
    rules = RuleDaily.objects.filter(club_id__in=club_ids, day__gte=start, day__lte=end)
    if clerk_id is not None:
        stats, rules = stats.filter(clerk_id=clerk_id), rules.filter(clerk_id=clerk_id)
    days = [_derived(row) for row in stats.values("day").annotate(**_SUMS).order_by("day")]
    clerk_rows = [
        _derived(row)
        for row in stats.values("clerk_id", "clerk__name").annotate(**_SUMS).order_by("clerk__name")
    ]
    totals = _derived(stats.aggregate(**_SUMS))
    rule_rows = [
        {**row, "share": _rate(row["passed"], (row["passed"] or 0) + (row["failed"] or 0))}
        for row in rules.values("rule")
        .annotate(passed=Sum("passed"), failed=Sum("failed"))
        .order_by("rule")
    ]
    overdue = Task.objects.filter(
        club_id__in=club_ids,
        done_at__isnull=True,
        kind__in=[Task.Kind.CALLBACK, Task.Kind.RETRY],
        due__lt=now - OVERDUE_AFTER,
    )
    if clerk_id is not None:
        overdue = overdue.filter(assignee_id=clerk_id)
    counts = Complaint.objects.filter(club_id__in=club_ids).aggregate(
        open=Count("pk", filter=~Q(state=Complaint.State.CLOSED))
    )
    disputes = Dispute.objects.filter(call__club_id__in=club_ids, state=Dispute.State.OPEN).count()
    return Dashboard(
        days=days,
        clerks=clerk_rows,
        rules=rule_rows,
        totals=totals,
        overdue_tasks=overdue.count(),
        open_complaints=counts["open"],
        open_disputes=disputes,
    )
