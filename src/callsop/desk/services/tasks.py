"""Work falling due at the desk: what is open now, what the coming days
hold, and the callback an unanswered incoming call leaves behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from callsop.desk.models import Call, Memo, Staff, Task
from callsop.desk.services.policy import policy_of
from callsop.engine.history import normalise_phone

LATE_AFTER = timedelta(minutes=10)  # as the inbox's 逾期: this long past its time
COMING_AT_MOST = 200  # tasks listed ahead on the desk
WEEKDAYS_ZH = "一二三四五六日"


@dataclass(frozen=True)
class DueTask:
    """A task with the window it is to be done in, as of a moment: a retry's
    window opens before its due time (the SOP's 3-5 minutes after the
    unanswered call), any other task's at its due time."""

    task: Task
    opens_at: datetime
    closes_at: datetime
    as_of: datetime

    @property
    def key(self) -> str:
        """Changes when the task is moved, so a moved task is announced again."""
        return f"{self.task.pk}@{self.opens_at.isoformat()}"

    @property
    def is_open(self) -> bool:
        return self.opens_at <= self.as_of

    @property
    def is_late(self) -> bool:
        return self.closes_at < self.as_of

    @property
    def countdown(self) -> str:
        """What the task's timer reads: 4 分 12 秒後開始, or 已到期 35 秒."""
        seconds = (self.as_of - self.opens_at).total_seconds()
        if seconds < 0:
            return f"{clock(-seconds)}後開始"
        return f"已到期 {clock(seconds)}"


@dataclass(frozen=True)
class ComingDay:
    day: date
    label: str
    tasks: list[DueTask]


@dataclass(frozen=True)
class DueWork:
    """The desk's 待辦 card: counted and listed as of `now`."""

    now: datetime
    memos: int
    open: list[DueTask]
    days: list[ComingDay]

    @property
    def late(self) -> list[DueTask]:
        return [d for d in self.open if d.is_late]


def clock(seconds: float) -> str:
    """A length of time in words, never like a time of day: 35 秒, 4 分 12 秒,
    1 小時 4 分 past an hour, 3 天 4 小時 past a day (rounded down)."""
    whole = int(seconds)
    if whole >= 86400:
        return f"{whole // 86400} 天 {whole % 86400 // 3600} 小時"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} 小時 {minutes} 分"
    if minutes:
        return f"{minutes} 分 {secs} 秒"
    return f"{secs} 秒"


def tasks_open_for(staff: Staff) -> QuerySet[Task]:
    """The open tasks of the staff member's club that are theirs to do: their
    own and the unassigned; a manager sees every one of the club."""
    tasks = Task.objects.filter(club_id=staff.club_pk, done_at__isnull=True)
    if not staff.is_manager:
        tasks = tasks.filter(Q(assignee=staff) | Q(assignee__isnull=True))
    return tasks.select_related("assignee", "club").order_by("due", "pk")


def due_task(task: Task, now: datetime) -> DueTask:
    if task.kind == Task.Kind.RETRY:
        timing = policy_of(task.club).timing
        half = timedelta(seconds=(timing.retry_after_max_s - timing.retry_after_min_s) / 2)
        return DueTask(task, task.due - half, task.due + half, now)
    return DueTask(task, task.due, task.due + LATE_AFTER, now)


def due_work(staff: Staff, now: datetime, tz: ZoneInfo) -> DueWork:
    """What the desk's 待辦 card shows: tasks open now, then the coming days'."""
    windows = [due_task(t, now) for t in tasks_open_for(staff)[: COMING_AT_MOST + 100]]
    open_now = [d for d in windows if d.is_open]
    ahead = [d for d in windows if not d.is_open][:COMING_AT_MOST]
    memos = Memo.objects.filter(for_staff=staff, called_back_at__isnull=True).count()
    return DueWork(now=now, memos=memos, open=open_now, days=coming_days(ahead, now, tz))


def coming_days(ahead: list[DueTask], now: datetime, tz: ZoneInfo) -> list[ComingDay]:
    """The tasks still to open, grouped by the club's local day, in order."""
    today = now.astimezone(tz).date()
    groups: dict[date, list[DueTask]] = {}
    for d in sorted(ahead, key=lambda d: (d.opens_at, d.task.pk)):
        groups.setdefault(d.opens_at.astimezone(tz).date(), []).append(d)
    return [ComingDay(day, day_label(day, today), tasks) for day, tasks in groups.items()]


def day_label(day: date, today: date) -> str:
    """今天, 明天, or 12/05（六）."""
    if day == today:
        return "今天"
    if day == today + timedelta(days=1):
        return "明天"
    return f"{day:%m/%d}（{WEEKDAYS_ZH[day.weekday()]}）"


def missed_call_callback(*, call: Call, at: datetime) -> Task | None:
    """An incoming call that went unanswered leaves the club a callback,
    due at once: one per caller while it is open, so a caller who rings three
    times is called back once. A caller whose number is unknown cannot be
    called back and leaves none. Runs inside the action that ends the call."""
    key = call.phone_key or normalise_phone(call.caller_phone) or ""
    if not key:
        return None
    local = at.astimezone(ZoneInfo(call.club.timezone))
    task = _open_callback(call.club_id, key)
    if task is None:
        return Task.objects.create(
            club=call.club,
            call=call,
            kind=Task.Kind.CALLBACK,
            due=at,
            phone=call.caller_phone,
            name=call.caller_name,
            note=f"未接來電 {local:%H:%M}，請回電",
            created_at=at,
        )
    missed = _missed_since(call, key, task.created_at)
    task.note = f"未接來電 {missed} 次，最後一次 {local:%H:%M}，請回電"[:300]
    task.name = task.name or call.caller_name
    task.save(update_fields=["note", "name"])
    return task


def _open_callback(club_id: int, key: str) -> Task | None:
    candidates = Task.objects.select_for_update().filter(
        club_id=club_id, kind=Task.Kind.CALLBACK, done_at__isnull=True
    )
    for task in candidates.order_by("created_at", "pk"):
        if normalise_phone(task.phone) == key:
            return task
    return None


def _missed_since(call: Call, key: str, since: datetime) -> int:
    return Call.objects.filter(
        club_id=call.club_id,
        direction="inbound",
        phone_key=key,
        outcome=Call.Outcome.MISSED,
        ended_at__gte=since,
    ).count()
