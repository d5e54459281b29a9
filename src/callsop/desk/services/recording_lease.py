"""A recording being heard holds a lease: its worker writes a heartbeat every
few seconds, and a hearing whose heartbeat has stood still for longer than
CALLSOP_RECORDING_STALL_S is taken to have lost its worker (killed, its
machine gone) and is queued again, at most MAX_TRIES times in all.

Every change is a conditional UPDATE on the row's state and try number, so
any number of workers on one database (SQLite on one box, PostgreSQL across
machines) may sweep at once: each stalled try is queued again exactly once,
and a try given up for lost can no longer write its result."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from callsop.desk.models import Recording
from callsop.desk.services import recording_files as files_

logger = logging.getLogger(__name__)
MAX_TRIES = 3
PROGRESS_STEP = 5  # percent between two progress writes, between heartbeats


class WorkerLost(Exception):
    """A try at hearing a recording that stopped without finishing."""


class Superseded(Exception):
    """This try was given up for lost and the recording queued again."""


def stall_after() -> timedelta:
    return timedelta(seconds=int(settings.CALLSOP_RECORDING_STALL_S))


def beat_every() -> float:
    """Seconds between heartbeats: a few, and well inside the stall limit."""
    return min(5.0, stall_after().total_seconds() / 4)


def sweep_every() -> float:
    return max(0.5, min(60.0, stall_after().total_seconds() / 2))


def this_try(recording_id: int, attempt: int) -> QuerySet[Recording]:
    """The row as long as this try still holds it."""
    return Recording.objects.filter(
        pk=recording_id, state=Recording.State.HEARING, attempts=attempt
    )


def recording_claim(*, recording_id: int, now: datetime | None = None) -> int | None:
    """Takes a queued recording for this worker; its try number, or None when
    another worker has it (or it is no longer queued)."""
    from django.db.models import F

    at = now or timezone.now()
    claimed = Recording.objects.filter(
        pk=recording_id, state=Recording.State.QUEUED, attempts__lt=MAX_TRIES
    ).update(
        state=Recording.State.HEARING,
        started_at=at,
        heartbeat_at=at,
        progress=0,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    return int(Recording.objects.values_list("attempts", flat=True).get(pk=recording_id))


class Heartbeat:
    """Keeps one try's lease alive from a thread of its own while the job
    decodes and recognises, and writes its progress. `lost` is set once the
    row is no longer this try's; `check()` then raises `Superseded`."""

    def __init__(self, recording_id: int, attempt: int, *, upto: int = 90) -> None:
        self.recording_id = recording_id
        self.attempt = attempt
        self.upto = upto
        self.percent = 0
        self.written = 0
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="callsop-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def __call__(self, fraction: float) -> None:
        """The hearing's progress callback (called from its threads)."""
        self.check()
        self.percent = max(self.percent, min(self.upto, int(fraction * self.upto)))

    def set(self, percent: int) -> None:
        self.check()
        self.percent = percent
        self.beat()

    def check(self) -> None:
        if self.lost.is_set():
            raise Superseded(f"recording {self.recording_id}: try {self.attempt} was given up")

    def beat(self) -> None:
        percent = self.percent
        kept = this_try(self.recording_id, self.attempt).update(
            heartbeat_at=timezone.now(), progress=percent
        )
        self.written = percent
        if not kept:
            self.lost.set()

    def _run(self) -> None:
        every = beat_every()
        last = 0.0
        try:
            tick = min(1.0, every)
            while not self._stop.wait(tick):
                last += tick
                if last >= every or self.percent >= self.written + PROGRESS_STEP:
                    try:
                        self.beat()
                    except Exception:  # the database away a moment: the next beat may reach it
                        logger.exception("recording %s: heartbeat not written", self.recording_id)
                    last = 0.0
        finally:
            connection.close()


def recordings_recover(*, now: datetime | None = None) -> int:
    """Queues again each recording whose hearing stalled (or refuses it after
    MAX_TRIES), and each queued one whose job was lost; how many it moved."""
    at = now or timezone.now()
    cutoff = at - stall_after()
    stalled = Recording.objects.filter(state=Recording.State.HEARING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    moved = 0
    for recording in stalled.only("pk", "attempts", "task_id", "files"):
        moved += _recover_stalled(recording, cutoff, at)
    for recording in _orphans(cutoff):
        moved += _enqueue_again(recording)
    return moved


def _stalled_try(recording: Recording, cutoff: datetime) -> QuerySet[Recording]:
    return this_try(recording.pk, recording.attempts).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    )


def _recover_stalled(recording: Recording, cutoff: datetime, at: datetime) -> int:
    with transaction.atomic():
        if recording.attempts >= MAX_TRIES:
            given_up = _stalled_try(recording, cutoff).update(
                state=Recording.State.REFUSED, error=gave_up_reason(recording), finished_at=at
            )
            if not given_up:
                return 0
            _fail_lost_job(recording.task_id, at)
            transaction.on_commit(lambda: files_.discard(recording.files))
            logger.warning("recording %s: given up after %s tries", recording.pk, MAX_TRIES)
            return 1
        again = _stalled_try(recording, cutoff).update(state=Recording.State.QUEUED, progress=0)
        if not again:
            return 0
        _fail_lost_job(recording.task_id, at)
        enqueue(recording.pk)
    logger.warning("recording %s: try %s stalled; queued again", recording.pk, recording.attempts)
    return 1


def gave_up_reason(recording: Recording) -> str:
    names = "、".join(str(f["name"]) for f in recording.files) or "錄音"
    return (
        f"{names}：處理錄音的程式中斷了 {MAX_TRIES} 次，未能聽完，"
        "請通知系統管理員（可再上傳一次）。"
    )


def _fail_lost_job(task_id: str, at: datetime) -> None:
    """The job queue's row of the lost try, marked failed instead of running for ever."""
    from django_tasks_db.models import DBTaskResult

    if not is_uuid(task_id):
        return
    lost = WorkerLost("the worker stopped without finishing; the recording was queued again")
    DBTaskResult.objects.filter(id=task_id, status="RUNNING").update(
        status="FAILED",
        finished_at=at,
        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
        traceback=f"{WorkerLost.__qualname__}: {lost}\n",
    )


def _orphans(cutoff: datetime) -> list[Recording]:
    """Queued recordings, older than the stall limit, whose job is no longer
    waiting or running (lost with its database row, or ended without them)."""
    from django_tasks_db.models import DBTaskResult

    queued = list(
        Recording.objects.filter(state=Recording.State.QUEUED, created_at__lt=cutoff).only(
            "pk", "task_id", "attempts", "files"
        )[:100]
    )
    ids = [r.task_id for r in queued if is_uuid(r.task_id)]
    alive = {
        str(i)
        for i in DBTaskResult.objects.filter(
            id__in=ids, status__in=("READY", "RUNNING")
        ).values_list("id", flat=True)
    }
    return [r for r in queued if r.task_id not in alive]


def is_uuid(text: str) -> bool:
    """Whether a job id is one (django-tasks-db's ids are UUIDs)."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _enqueue_again(recording: Recording) -> int:
    with transaction.atomic():
        # Locks the row (a no-op UPDATE on its own task id), so two sweeps
        # cannot both queue it.
        mine = Recording.objects.filter(
            pk=recording.pk, state=Recording.State.QUEUED, task_id=recording.task_id
        ).update(task_id=recording.task_id)
        if not mine:
            return 0
        enqueue(recording.pk)
    logger.warning("recording %s: its job was lost; queued again", recording.pk)
    return 1


def enqueue(recording_id: int) -> None:
    """A job for the recording, in the caller's transaction: the row and its
    job are written together or not at all."""
    from callsop.desk.tasks import hear_recording

    result = hear_recording.enqueue(recording_id)
    Recording.objects.filter(pk=recording_id).update(task_id=str(result.id))


class Sweeper:
    """`recordings_recover` every `sweep_every()` seconds on a thread, for a
    running worker (`callsop worker`, the demo's background worker)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="callsop-sweeper", daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stop.wait(sweep_every()):
                try:
                    recordings_recover()
                except Exception:  # the database away a moment: sweep again next round
                    logger.exception("recordings: the sweep failed")
        finally:
            connection.close()
