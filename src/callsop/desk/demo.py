"""The demo chain: two clubs, their staff, knowledge, and a week of scored calls
built from the example calls.

The week looks the same whatever the hour it is loaded: every one of the
past days holds every example once, shared between the two clubs, at the
example's own time of day; today holds the examples that were over by now.
Nothing starts, ends or is logged after the moment of loading."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from callsop.desk.demo_recording import demo_recording
from callsop.desk.models import (
    Chain,
    Club,
    Complaint,
    Escalation,
    KnowledgeItem,
    Memo,
    Staff,
    Task,
)
from callsop.desk.services.imports import call_import
from callsop.record.model import CallRecord
from callsop.record.reader import Loaded, read_paths

PASSWORD = "callsop-demo"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "calls"

CLUBS = [("xinyi", "信義會館"), ("banqiao", "板橋會館")]
# (username, club code or None for HQ, role, name, short name, extension, presence)
PEOPLE = [
    ("yijun", "xinyi", "clerk", "陳怡君", "怡君", "101", "in"),
    ("zhihao", "xinyi", "clerk", "林志豪", "志豪", "102", "in"),
    ("meiling", "xinyi", "clerk", "李美玲", "美玲", "103", "meeting"),
    ("coach-zhang", "xinyi", "clerk", "張建國", "張教練", "120", "out"),
    ("shufen", "xinyi", "manager", "王淑芬", "淑芬", "100", "in"),
    ("yating", "banqiao", "clerk", "黃雅婷", "雅婷", "201", "in"),
    ("jianhong", "banqiao", "manager", "吳建宏", "建宏", "200", "in"),
    ("hq", None, "hq", "周文華", "文華", "", "in"),
]
KNOWLEDGE = [
    (
        None,
        "announcement",
        "年終續約優惠（12/1–12/31）",
        "續約一年送兩個月，續約兩年送五個月。舊會員推薦新朋友入會，雙方各得一個月。",
    ),
    (
        None,
        "process",
        "會員卡遺失補發流程",
        "1. 核對身分證件與會員資料。\n2. 收補卡費 200 元。\n3. 當場製卡，舊卡立即停用。",
    ),
    (
        None,
        "health",
        "會員健康管理計畫",
        "每月一次免費 InBody 身體組成檢測；教練依結果調整訓練計畫，三個月追蹤一次。",
    ),
    (
        "xinyi",
        "news",
        "十二月新課表：週六上午瑜伽",
        "週六 09:00 新開哈達瑜伽，每堂 20 人，需事先預約。體驗課每人限一次，免費。",
    ),
    (
        "xinyi",
        "product",
        "月費方案與價格",
        "單館月費 1,688 元；全館通行 2,288 元；學生方案 1,288 元（需學生證）。私人教練課 10 堂 12,000 元。",
    ),
    (
        "xinyi",
        "collect",
        "館長交辦：泳池開放時間意見",
        "來電會員若提到泳池，請記下希望的開放時段與原因，週五前交給館長。",
    ),
    ("xinyi", "process", "停車與場地", "地下停車場 B2–B4，會員憑卡折抵兩小時。飛輪教室在三樓。"),
    (
        "banqiao",
        "news",
        "板橋會館泳池整修公告",
        "12/10–12/20 泳池整修暫停開放，期間會員可至信義會館使用。",
    ),
    ("banqiao", "product", "板橋會館月費方案", "單館月費 1,588 元；全館通行 2,288 元。"),
]


def _mapper(
    own_id: str | None, clerk: Staff, others: list[Staff], manager: Staff
) -> Callable[[str | None], Staff | None]:
    """The record's staff ids as the demo club's people: the call's own clerk,
    a manager for a manager's id, and a fixed colleague for any other."""

    def staff_of(ident: str | None) -> Staff | None:
        if ident is None or ident == own_id:
            return clerk
        if "manager" in ident or ident.endswith("00"):
            return manager
        return others[zlib.crc32(ident.encode()) % len(others)]

    return staff_of


@transaction.atomic
def _people(now: datetime) -> tuple[Chain, dict[str, Club], dict[str, Staff]]:
    chain = Chain.objects.create(name="康活健身會館")
    clubs = {code: Club.objects.create(chain=chain, code=code, name=name) for code, name in CLUBS}
    staff = {}
    for username, club, role, name, short, ext, presence in PEOPLE:
        user = User.objects.create_user(username=username, password=PASSWORD)
        staff[username] = Staff.objects.create(
            user=user,
            chain=chain,
            club=clubs[club] if club else None,
            role=role,
            name=name,
            short_name=short,
            extension=ext,
            presence=presence,
        )
    for club, kind, title, body in KNOWLEDGE:
        KnowledgeItem.objects.create(
            chain=chain,
            club=clubs[club] if club else None,
            kind=kind,
            title=title,
            body=body,
            updated_at=now,
        )
    return chain, clubs, staff


CLERKS = {"xinyi": ["yijun", "zhihao", "meiling", "shufen"], "banqiao": ["yating", "jianhong"]}
BANQIAO_EVERY = 3  # one example in three goes to 板橋 each day, in turn


@dataclass(frozen=True)
class Placed:
    """One example call put on a day of the demo week."""

    club: str
    clerk: str
    record: CallRecord
    start: datetime


def _groups(items: list[Loaded]) -> list[list[CallRecord]]:
    """The example calls by file: a retry and the call it retries come from
    one file, so they are placed together."""
    groups: dict[str, list[CallRecord]] = {}
    for item in items:
        groups.setdefault(item.source, []).append(item.record)
    return list(groups.values())


def _span(record: CallRecord) -> timedelta:
    """From the call's start to the last thing it leaves behind: its end, a
    complaint logged later, an escalation."""
    ends = [e.t for e in record.events] + [u.end for u in record.utterances]
    last = record.started_at + timedelta(seconds=max(ends, default=0.0))
    later = [record.complaint.logged_at] if record.complaint else []
    later += [e.at for e in record.escalations if e.at is not None]
    return max([last, *later]) - record.started_at


def _on_day(day: date, record: CallRecord, first: CallRecord, tz: ZoneInfo) -> datetime:
    """`record` on `day` at its time of day, kept as far from `first` as in its file."""
    local = first.started_at.astimezone(tz)
    of_day = local - datetime.combine(local.date(), time.min, tz)
    return datetime.combine(day, time.min, tz) + of_day + (record.started_at - first.started_at)


def demo_plan(
    groups: list[list[CallRecord]], *, days: int, now: datetime, tz: ZoneInfo
) -> list[Placed]:
    """`days` full days before today, and today until `now`: every file once
    a day, at 板橋 or 信義 in turn, each call with a clerk of its club in turn.
    A file is left out of a day where something of it would come after `now`."""
    today = now.astimezone(tz).date()
    plan = []
    for ago in range(days, -1, -1):
        day = today - timedelta(days=ago)
        for g, group in enumerate(groups):
            club = "banqiao" if (g + ago) % BANQIAO_EVERY == 0 else "xinyi"
            clerks = CLERKS[club]
            placed = [
                Placed(club, clerks[(g + ago) % len(clerks)], r, _on_day(day, r, group[0], tz))
                for r in group
            ]
            if all(p.start + _span(p.record) <= now for p in placed):
                plan.extend(placed)
    return sorted(plan, key=lambda p: p.start)


def _finish_earlier_work(today: datetime, now: datetime) -> None:
    """Earlier days' work was done in its day; today's, and what falls due
    later, is left to do, once for each caller."""
    Task.objects.filter(due__lt=now - timedelta(hours=1)).update(done_at=F("due"))
    # A task for the same caller from a later day replaces an earlier one:
    # it was done when the caller called again.
    newer = Task.objects.filter(
        club_id=OuterRef("club_id"),
        kind=OuterRef("kind"),
        phone=OuterRef("phone"),
        name=OuterRef("name"),
        done_at__isnull=True,
        created_at__gt=OuterRef("created_at"),
    ).order_by("created_at")
    Task.objects.filter(done_at__isnull=True).annotate(
        replaced_at=Subquery(newer.values("created_at")[:1])
    ).filter(replaced_at__isnull=False).update(done_at=F("replaced_at"))
    Memo.objects.filter(created_at__lt=today).update(
        acknowledged_at=F("created_at"), called_back_at=F("created_at")
    )
    Escalation.objects.filter(at__lt=today).update(seen_at=F("at"))
    Complaint.objects.filter(logged_at__lt=today).update(
        state=Complaint.State.CLOSED, follow_up="已致電會員說明並致歉。", closed_at=F("logged_at")
    )


def _records(examples: Path) -> list[list[CallRecord]]:
    items = list(read_paths([str(p) for p in sorted(examples.glob("*.json"))]))
    refused = [item for item in items if not isinstance(item, Loaded)]
    if refused or not items:
        raise RuntimeError(f"example calls missing or refused: {refused[:1] or examples}")
    return _groups([item for item in items if isinstance(item, Loaded)])


def load_demo(
    *,
    days: int = 7,
    examples: Path = EXAMPLES,
    on_progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> dict[str, Staff]:
    """Creates the demo chain, as if loaded at `now`; refuses when a chain
    already exists. `days` full days come before today."""
    if days < 1:
        raise ValueError(f"the demo needs at least one day before today, not {days}")
    if Chain.objects.exists():
        raise RuntimeError("the database already holds a chain; the demo loads into an empty one")
    at = now or timezone.now()
    groups = _records(examples)
    _, clubs, staff = _people(at)
    tz = ZoneInfo(clubs["xinyi"].timezone)
    plan = demo_plan(groups, days=days, now=at, tz=tz)
    for n, placed in enumerate(plan, 1):
        club = clubs[placed.club]
        clerk = staff[placed.clerk]
        colleagues = [s for s in staff.values() if s.club_id == club.pk and s.pk != clerk.pk]
        manager = next(s for s in staff.values() if s.club_id == club.pk and s.role == "manager")
        own_id = placed.record.staff.id if placed.record.staff else None
        call_import(
            club=club,
            record=placed.record,
            staff_of=_mapper(own_id, clerk, colleagues, manager),
            shift=placed.start - placed.record.started_at,
            now=at,
        )
        if on_progress is not None:
            on_progress(n, len(plan))
    # Today's last call came with its recording, for the demo's worker to hear.
    demo_recording(club=clubs["xinyi"], clerk=staff["yijun"], now=at)
    _finish_earlier_work(datetime.combine(at.astimezone(tz).date(), time.min, tz), at)
    return staff
