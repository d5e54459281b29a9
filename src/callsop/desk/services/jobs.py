"""The job queue as the workers and the jobs page see it.

Each `callsop worker` beats (`worker_beat`) into its own `WorkerSeen` row
every few seconds. A job that failed is queued again after a pause (1 s,
then 4 s) until it has been tried MAX_TRIES times; then it is kept as
failed, with its error, until someone presses 重試. A job still running
under a worker that has not beaten for CALLSOP_RECORDING_STALL_S is queued
again for another worker (`jobs_recover`). Recordings keep their own lease
and retries (`services.recording_lease`), so the "recordings" queue is left
to it here.

Every change is a conditional UPDATE on the job's id and status, so any
number of workers may do it at once and each job moves exactly once."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from django.db.models import Count, F, Q
from django.http import Http404
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet

from callsop.desk.models import Recording, Staff, WorkerSeen
from callsop.desk.services.errors import ActionError
from callsop.desk.services.recording_lease import is_uuid, stall_after

MAX_TRIES = 3
OWN_LEASE = ("recordings",)  # queues whose jobs recover on their own
SEEN_RECENTLY = timedelta(minutes=1)
Row: TypeAlias = DBTaskResult[Any, Any]


def backoff(tries: int) -> timedelta:
    """The pause before try number tries + 1."""
    return timedelta(seconds=4 ** (tries - 1))


# The worker's side ---------------------------------------------------------


def worker_beat(worker_id: str, *, now: datetime | None = None) -> None:
    at = now or timezone.now()
    kept = WorkerSeen.objects.filter(worker_id=worker_id).update(last_seen=at)
    if not kept:
        WorkerSeen.objects.get_or_create(
            worker_id=worker_id,
            defaults={
                "host": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": at,
                "last_seen": at,
            },
        )


def job_finished(job: Row, worker_id: str, *, now: datetime | None = None) -> bool:
    """Counts a job the worker ran, and queues a failed one again while it
    has tries left; whether it was queued again."""
    at = now or timezone.now()
    failed = job.status == "FAILED"
    WorkerSeen.objects.filter(worker_id=worker_id).update(
        last_seen=at,
        jobs_done=F("jobs_done") + (0 if failed else 1),
        jobs_failed=F("jobs_failed") + (1 if failed else 0),
    )
    if not failed or job.queue_name in OWN_LEASE:
        return False
    tries = len(job.worker_ids)
    if tries >= MAX_TRIES:
        return False
    again = DBTaskResult.objects.filter(id=job.id, status="FAILED").update(
        status="READY", run_after=at + backoff(tries), started_at=None, finished_at=None
    )
    return bool(again)


def jobs_recover(*, now: datetime | None = None) -> int:
    """Queues again each job running under a worker that stopped beating
    (or fails it for good after MAX_TRIES); how many it moved."""
    at = now or timezone.now()
    cutoff = at - stall_after()
    alive = set(
        WorkerSeen.objects.filter(last_seen__gte=cutoff).values_list("worker_id", flat=True)
    )
    moved = 0
    running = (
        DBTaskResult.objects.running()
        .exclude(queue_name__in=OWN_LEASE)
        .filter(started_at__lt=cutoff)
        .only("id", "worker_ids")
    )
    for job in running:
        if job.worker_ids and job.worker_ids[-1] in alive:
            continue
        lost = DBTaskResult.objects.filter(id=job.id, status="RUNNING", worker_ids=job.worker_ids)
        if len(job.worker_ids) >= MAX_TRIES:
            moved += lost.update(
                status="FAILED",
                finished_at=at,
                exception_class_path="callsop.desk.services.jobs.WorkerLost",
                traceback=f"WorkerLost: 執行這項工作的程式中斷了 {MAX_TRIES} 次。\n",
            )
        else:
            moved += lost.update(status="READY", run_after=at, started_at=None)
    return moved


# The jobs page -------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    task: str
    queue: str
    status: str
    worker: str
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    tries: int
    error: str
    may_retry: bool


NAMES = {
    "hear_recording": "聆聽錄音",
    "score_call": "評分通話",
}


def jobs_visible(staff: Staff) -> DBTaskResultQuerySet:
    """HQ: every job of its chain's clubs (and those of no club); a manager:
    the jobs of their own club's calls and recordings; a clerk: none."""
    if not staff.is_manager:
        return DBTaskResult.objects.none()
    if staff.role == Staff.Role.HQ:
        clubs = list(staff.chain.clubs.values_list("pk", flat=True))
        no_club = Q(args_kwargs__kwargs__club_id__isnull=True) & ~Q(queue_name__in=OWN_LEASE)
    else:
        clubs = [staff.club_pk]
        no_club = Q(pk__in=[])
    # Only a recording not yet heard has a job worth showing (waiting,
    # running, or failed with it).
    recordings = Recording.objects.filter(call__club_id__in=clubs).exclude(
        state=Recording.State.HEARD
    )
    task_ids = [t for t in recordings.values_list("task_id", flat=True)[:2000] if is_uuid(t)]
    visible = DBTaskResult.objects.filter(
        Q(args_kwargs__kwargs__club_id__in=clubs)
        | Q(queue_name__in=OWN_LEASE, id__in=task_ids)
        | no_club
    )
    return visible


def _job(row: Row) -> Job:
    name = row.task_path.rsplit(".", 1)[-1]
    error = row.traceback.strip().splitlines()[-1] if row.traceback else ""
    return Job(
        id=str(row.id),
        name=NAMES.get(name, "其他工作"),
        task=name,
        queue=row.queue_name,
        status=row.status,
        worker=row.worker_ids[-1] if row.worker_ids else "",
        enqueued_at=row.enqueued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        tries=len(row.worker_ids),
        error=error[:500],
        may_retry=row.status == "FAILED" and row.queue_name not in OWN_LEASE,
    )


def jobs_overview(staff: Staff, *, now: datetime | None = None) -> dict[str, Any]:
    at = now or timezone.now()
    visible = jobs_visible(staff)
    depth = {
        r["queue_name"]: r["n"]
        for r in visible.ready().values("queue_name").annotate(n=Count("id")).order_by()
    }
    running = [_job(r) for r in visible.running().order_by("started_at")[:100]]
    failed = [_job(r) for r in visible.failed().order_by("-finished_at")[:50]]
    workers = list(WorkerSeen.objects.filter(last_seen__gte=at - timedelta(hours=1))[:100])
    hosts = {w.worker_id: f"{w.host}（{w.pid}）" for w in workers}
    running = [replace(j, worker=hosts.get(j.worker, j.worker[:12])) for j in running]
    return {
        "depth": sorted(depth.items()),
        "running": running,
        "failed": failed,
        "workers": workers,
        "alive_after": at - SEEN_RECENTLY,
    }


def job_retry(staff: Staff, job_id: str, *, now: datetime | None = None) -> None:
    """重試: queues a job that failed for good again, with its tries afresh."""
    if not staff.is_manager:
        raise Http404("no such job")
    if not is_uuid(job_id):
        raise Http404("no such job")
    try:
        job = jobs_visible(staff).get(pk=job_id)
    except DBTaskResult.DoesNotExist:
        raise Http404("no such job") from None
    if job.queue_name in OWN_LEASE:
        raise ActionError("錄音的工作無法重試：請再上傳一次錄音。")
    again = DBTaskResult.objects.filter(id=job.id, status="FAILED").update(
        status="READY",
        run_after=now or timezone.now(),
        started_at=None,
        finished_at=None,
        worker_ids=[],
    )
    if not again:
        raise ActionError("這項工作已不是失敗狀態，無須重試。")


# /healthz ------------------------------------------------------------------


def workers_alive(*, now: datetime | None = None) -> bool:
    """Whether some worker's heartbeat came in the last minute: a job queued now will be taken."""
    at = now or timezone.now()
    return WorkerSeen.objects.filter(last_seen__gte=at - SEEN_RECENTLY).exists()


def queue_health(*, now: datetime | None = None) -> dict[str, Any]:
    at = now or timezone.now()
    oldest = (
        DBTaskResult.objects.ready()
        .order_by("enqueued_at")
        .values_list("enqueued_at", flat=True)[:1]
    )
    age = round((at - oldest[0]).total_seconds(), 1) if oldest else 0.0
    workers = WorkerSeen.objects.filter(last_seen__gte=at - SEEN_RECENTLY).count()
    return {"oldest_ready_s": max(0.0, age), "workers_seen": workers}
