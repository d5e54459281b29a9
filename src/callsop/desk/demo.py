"""The demo chain: two clubs, their staff, knowledge, and a week of scored calls
built from the example calls."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from callsop.desk.demo_recording import demo_recording
from callsop.desk.models import Chain, Club, Complaint, KnowledgeItem, Memo, Staff, Task
from callsop.desk.services.imports import call_import
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
def _people() -> tuple[Chain, dict[str, Club], dict[str, Staff]]:
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
    now = timezone.now()
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


def load_demo(
    *,
    days: int = 7,
    examples: Path = EXAMPLES,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Staff]:
    """Creates the demo chain; refuses when a chain already exists."""
    if Chain.objects.exists():
        raise RuntimeError("the database already holds a chain; the demo loads into an empty one")
    _, clubs, staff = _people()
    items = list(read_paths([str(p) for p in sorted(examples.glob("*.json"))]))
    refused = [item for item in items if not isinstance(item, Loaded)]
    if refused or not items:
        raise RuntimeError(f"example calls missing or refused: {refused[:1] or examples}")
    records = [item.record for item in items if isinstance(item, Loaded)]
    plan = []
    # Every example each day at 信義, and on two days at 板橋: a retry and the
    # call it retries come from one file, so they stay together.
    for club_code, clerks, repeat in (
        ("xinyi", ["yijun", "zhihao", "meiling", "shufen"], days),
        ("banqiao", ["yating", "jianhong"], min(2, days)),
    ):
        for day in range(days - repeat, days):
            for i, record in enumerate(records):
                plan.append((club_code, clerks[(i + day) % len(clerks)], day, record))
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    for n, (club_code, clerk, day, record) in enumerate(plan, 1):
        club = clubs[club_code]
        clerk_staff = staff[clerk]
        colleagues = [s for s in staff.values() if s.club_id == club.pk and s.pk != clerk_staff.pk]
        manager = next(s for s in staff.values() if s.club_id == club.pk and s.role == "manager")

        own_id = record.staff.id if record.staff else None
        staff_of = _mapper(own_id, clerk_staff, colleagues, manager)
        local_start = record.started_at.astimezone(today.tzinfo)
        target = (
            today
            - timedelta(days=days - 1 - day)
            + timedelta(
                hours=local_start.hour, minutes=local_start.minute, seconds=local_start.second
            )
        )
        if target > timezone.now():
            target -= timedelta(days=1)
        call_import(club=club, record=record, staff_of=staff_of, shift=target - record.started_at)
        if on_progress is not None:
            on_progress(n, len(plan))
    # Today's last call came with its recording, for the demo's worker to hear.
    demo_recording(club=clubs["xinyi"], clerk=staff["yijun"], now=timezone.now())
    # Earlier days' work was done in its day; today's is left to do.
    Task.objects.filter(due__lt=timezone.now() - timedelta(hours=1)).update(done_at=F("due"))
    Task.objects.filter(due__gt=timezone.now() + timedelta(days=2)).delete()
    Memo.objects.filter(created_at__lt=today).update(
        acknowledged_at=F("created_at"), called_back_at=F("created_at")
    )
    Complaint.objects.filter(logged_at__lt=today).update(
        state=Complaint.State.CLOSED, follow_up="已致電會員說明並致歉。", closed_at=F("logged_at")
    )
    return staff
