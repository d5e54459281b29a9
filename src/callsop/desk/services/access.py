"""The one place a lookup and the club check happen together.

A clerk or manager acts within their club; HQ staff read every club of
their chain but act on none. Anything outside that is `Http404`, so another
club's ids reveal nothing."""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import Model, QuerySet
from django.http import Http404

from callsop.desk.models import (
    Call,
    Club,
    Complaint,
    Dispute,
    Escalation,
    KnowledgeItem,
    Memo,
    Recording,
    Staff,
    Task,
)

M = TypeVar("M", bound=Model)


_NOT_READ = object()


def staff_of(user: AbstractBaseUser | AnonymousUser) -> Staff:
    """The user's staff member, with club and chain: the one the log-in
    backend read with the user (auth.StaffBackend), else read now."""
    if not user.is_authenticated:
        raise PermissionDenied("not logged in")
    state = getattr(user, "_state", None)
    staff = state.fields_cache.get("staff", _NOT_READ) if state is not None else _NOT_READ
    if staff is _NOT_READ:
        staff = Staff.objects.select_related("club", "chain").filter(user_id=user.pk).first()
    if not isinstance(staff, Staff):
        raise PermissionDenied("this account is not a member of staff")
    return staff


def clubs_readable(staff: Staff) -> QuerySet[Club]:
    if staff.role == Staff.Role.HQ:
        return Club.objects.filter(chain_id=staff.chain_id)
    return Club.objects.filter(pk=staff.club_pk)


def _scoped(staff: Staff, qs: QuerySet[M], *, write: bool) -> QuerySet[M]:
    if staff.role == Staff.Role.HQ:
        if write:
            raise PermissionDenied("HQ reads the clubs' data but does not act on it")
        return qs.filter(club__chain_id=staff.chain_id)
    return qs.filter(club_id=staff.club_pk)


def _one(qs: QuerySet[M], pk: object) -> M:
    try:
        return qs.get(pk=str(pk))
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404("no such item") from None


def call_for(staff: Staff, pk: object, *, write: bool = False) -> Call:
    return _one(_scoped(staff, Call.objects.select_related("club", "clerk"), write=write), pk)


def recording_for(staff: Staff, pk: object) -> Recording:
    """Read only: a recording is listened to; it is added through its call."""
    return _one(_scoped(staff, Recording.objects.select_related("call"), write=False), pk)


def memo_for(staff: Staff, pk: object, *, write: bool = False) -> Memo:
    return _one(_scoped(staff, Memo.objects.select_related("for_staff"), write=write), pk)


def task_for(staff: Staff, pk: object, *, write: bool = False) -> Task:
    return _one(_scoped(staff, Task.objects.all(), write=write), pk)


def complaint_for(staff: Staff, pk: object, *, write: bool = False) -> Complaint:
    return _one(_scoped(staff, Complaint.objects.select_related("call"), write=write), pk)


def escalation_for(staff: Staff, pk: object) -> Escalation:
    return _one(_scoped(staff, Escalation.objects.all(), write=True), pk)


def dispute_for(staff: Staff, pk: object) -> Dispute:
    qs = Dispute.objects.select_related("call", "call__club", "raised_by")
    if staff.role == Staff.Role.HQ:
        qs = qs.filter(call__club__chain_id=staff.chain_id)
    else:
        qs = qs.filter(call__club_id=staff.club_pk)
    return _one(qs, pk)


def knowledge_for(staff: Staff, pk: object, *, write: bool = False) -> KnowledgeItem:
    """Read: the club's items and HQ's. Write: a manager their club's, HQ the chain's."""
    qs = KnowledgeItem.objects.filter(chain_id=staff.chain_id)
    if staff.role == Staff.Role.HQ:
        qs = qs.filter(club__isnull=True) if write else qs
    elif write:
        if staff.role != Staff.Role.MANAGER:
            raise PermissionDenied("only the club's manager edits its knowledge")
        qs = qs.filter(club_id=staff.club_pk)
    else:
        qs = qs.filter(models.Q(club_id=staff.club_pk) | models.Q(club__isnull=True))
    return _one(qs, pk)


def colleague_for(staff: Staff, pk: object) -> Staff:
    """Someone of the acting clerk's own club."""
    return _one(Staff.objects.filter(club_id=staff.club_pk), pk)


def require_manager(staff: Staff) -> None:
    if not staff.is_manager:
        raise PermissionDenied("only the club's manager may do this")


def require_club_staff(staff: Staff) -> Club:
    """The club a clerk or manager acts for; HQ staff have none."""
    if staff.club is None:
        raise PermissionDenied("HQ staff do not take calls")
    return staff.club
