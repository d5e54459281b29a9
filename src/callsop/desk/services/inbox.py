"""Working the inbox: memos, tasks, complaints, and where people are."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from callsop.desk import push
from callsop.desk.models import (
    Call,
    Complaint,
    ComplaintNote,
    Escalation,
    KnowledgeItem,
    Memo,
    Staff,
    Task,
)
from callsop.desk.services.calls import moment
from callsop.desk.services.errors import ActionError


@transaction.atomic(durable=True)
def memo_acknowledge(*, memo: Memo, staff: Staff, now: datetime | None = None) -> Memo:
    if memo.for_staff_id != staff.pk:
        raise ActionError("這則留言不是給您的。")
    if memo.acknowledged_at is None:
        memo.acknowledged_at = moment(now)
        memo.save(update_fields=["acknowledged_at"])
    push.publish(memo.club_id, "inbox")
    return memo


@transaction.atomic(durable=True)
def memo_called_back(*, memo: Memo, staff: Staff, now: datetime | None = None) -> Memo:
    if memo.for_staff_id != staff.pk:
        raise ActionError("這則留言不是給您的。")
    at = moment(now)
    memo.acknowledged_at = memo.acknowledged_at or at
    memo.called_back_at = memo.called_back_at or at
    memo.save(update_fields=["acknowledged_at", "called_back_at"])
    push.publish(memo.club_id, "inbox")
    return memo


def may_close_task(staff: Staff, task: Task) -> bool:
    """A club's tasks are its shared work: any of its clerks or its manager
    may close one (whoever made the callback); head office and other clubs may not."""
    return staff.club_id == task.club_id and staff.role in (Staff.Role.CLERK, Staff.Role.MANAGER)


def may_close_complaint(staff: Staff, complaint: Complaint) -> bool:
    """A complaint is closed (or opened again) only by the one who logged it
    or the club's manager; any clerk of the club may add to its follow-up."""
    if staff.club_id != complaint.club_id:
        return False
    return complaint.logged_by_id == staff.pk or staff.role == Staff.Role.MANAGER


@transaction.atomic(durable=True)
def task_done(
    *,
    task: Task,
    staff: Staff | None,
    call: Call | None = None,
    now: datetime | None = None,
) -> Task:
    """Marks a task done; `call` is the call that did it (a retry, a
    callback), `staff` who closes it (see `may_close_task`; None: the desk
    itself, as when a call does what the task asked)."""
    if staff is not None and not may_close_task(staff, task):
        raise ActionError("只有本館的館員或館長可以完成這項任務。")
    if task.done_at is None:
        task.done_at = moment(now)
        task.done_call = call
        task.save(update_fields=["done_at", "done_call"])
    push.publish(task.club_id, "due")
    return task


@transaction.atomic(durable=True)
def escalation_seen(*, escalation: Escalation, staff: Staff, now: datetime | None = None) -> None:
    if escalation.to_id != staff.pk:
        raise ActionError("這件通報不是給您的。")
    if escalation.seen_at is None:
        escalation.seen_at = moment(now)
        escalation.save(update_fields=["seen_at"])


@transaction.atomic(durable=True)
def complaint_follow_up(
    *,
    complaint: Complaint,
    state: str,
    follow_up: str,
    staff: Staff | None,
    now: datetime | None = None,
) -> Complaint:
    """The complaint's follow-up and state, as `staff` writes them: closing
    it, or opening a closed one again, is for `may_close_complaint`."""
    if state not in Complaint.State.values:
        raise ActionError("未知的處理狀態。", field="state")
    closing = Complaint.State.CLOSED in (state, complaint.state) and state != complaint.state
    if staff is not None:
        if staff.club_id != complaint.club_id or staff.role == Staff.Role.HQ:
            raise ActionError("只有本館的館員或館長可以處理這件投訴。")
        if closing and not may_close_complaint(staff, complaint):
            raise ActionError("投訴只能由記錄的館員或館長結案或重新開啟。", field="state")
    follow_up = follow_up.strip()
    if state == Complaint.State.CLOSED and not follow_up:
        raise ActionError("結案前請寫下處理經過。", field="follow_up")
    if (state, follow_up) == (complaint.state, complaint.follow_up):
        return complaint  # the same form sent again
    at = moment(now)
    # Every update is kept as written: a later one never replaces what a
    # colleague wrote before (the complaint shows its latest).
    ComplaintNote.objects.create(complaint=complaint, by=staff, at=at, text=follow_up, state=state)
    complaint.state = state
    complaint.follow_up = follow_up
    complaint.closed_at = at if state == Complaint.State.CLOSED else None
    complaint.save(update_fields=["state", "follow_up", "closed_at"])
    push.publish(complaint.club_id, "inbox")
    return complaint


@transaction.atomic(durable=True)
def presence_set(*, staff: Staff, presence: str, note: str = "") -> Staff:
    if presence not in Staff.Presence.values:
        raise ActionError("未知的狀態。", field="presence")
    staff.presence = presence
    staff.presence_note = note.strip()[:100]
    staff.save(update_fields=["presence", "presence_note"])
    return staff


@transaction.atomic(durable=True)
def knowledge_save(
    *,
    staff: Staff,
    kind: str,
    title: str,
    body: str,
    item: KnowledgeItem | None = None,
    now: datetime | None = None,
) -> KnowledgeItem:
    """A manager writes for their club; HQ writes announcements for every club."""
    if not staff.is_manager:
        raise ActionError("只有館長或總部可以編輯資料。")
    if kind not in KnowledgeItem.Kind.values:
        raise ActionError("請選擇類別。", field="kind")
    if not title.strip():
        raise ActionError("請填寫標題。", field="title")
    if not body.strip():
        raise ActionError("請填寫內容。", field="body")
    if item is None:
        item = KnowledgeItem(chain_id=staff.chain_id, club=staff.club)
    item.kind, item.title, item.body = kind, title.strip(), body.strip()
    item.updated_at = moment(now)
    item.save()
    return item
