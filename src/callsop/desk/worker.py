"""`callsop worker`: takes the desk's queued jobs until stopped.

It is django-tasks-db's own worker loop: each job row is claimed in an
exclusive transaction (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL), so
any number of workers, on this machine or others that reach the database,
share one queue and never run a job twice.

A worker killed mid-job (kill -9, its machine lost) leaves its recording
being heard with no one hearing it: every worker, as it starts and then
every little while, queues such recordings again
(`services.recording_lease`). Other jobs follow the worker's heartbeat: a
worker writes its `WorkerSeen` row every few seconds, and a job running
under one that stopped beating is queued again for another; a job that
fails is tried again, at most three times (`services.jobs`)."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from django.db import connection
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from callsop.desk.services import jobs
from callsop.desk.services.recording_lease import Sweeper, beat_every, recordings_recover
from callsop.desk.services.scoring import scores_recheck

QUEUES = ["default", "recordings"]
logger = logging.getLogger(__name__)


class DeskWorker(Worker):
    """django-tasks-db's worker, counting its jobs and trying failed ones again."""

    def run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        super().run_task(db_task_result)
        try:
            jobs.job_finished(db_task_result, self.worker_id)
        except Exception:  # the database away a moment: the job's own row is written
            logger.exception("job %s: its outcome was not counted", db_task_result.id)


class Beat:
    """The worker's heartbeat, the sweep for jobs of lost workers and the
    rescoring of calls whose retry window has closed, on a thread."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="callsop-beat", daemon=True)

    def start(self) -> Beat:
        self.beat()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=30)

    def beat(self) -> None:
        try:
            jobs.worker_beat(self.worker_id)
            moved = jobs.jobs_recover()
            if moved:
                logger.warning("%s job(s) of a stopped worker queued again", moved)
            # Calls whose retry or redial window has closed: their "no retry
            # yet" becomes a verdict here, not in a clerk's page request.
            scores_recheck()
        except Exception:  # the database away a moment: the next beat may reach it
            logger.exception("worker %s: heartbeat not written", self.worker_id)

    def _run(self) -> None:
        try:
            while not self._stop.wait(beat_every()):
                self.beat()
        finally:
            connection.close()


def _worker(*, batch: bool, interval: float = 1.0) -> DeskWorker:
    return DeskWorker(
        queue_names=QUEUES,
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=not batch,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    )


def run() -> int:
    """Runs until SIGINT or SIGTERM (a job under way is finished first)."""
    # One line a job taken and a job done (django_tasks), and the loop's own
    # (django_tasks_db), on standard error, each once.
    for name in ("django_tasks", "django_tasks_db"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler(sys.stderr))
        logger.setLevel(logging.INFO)
        logger.propagate = False
    worker = _worker(batch=False)
    worker.configure_signals()
    recovered = recordings_recover()
    if recovered:
        sys.stderr.write(f"callsop worker: {recovered} stalled recording(s) queued again\n")
    sys.stderr.write("callsop worker: taking the desk's jobs (Ctrl-C stops)\n")
    sweeper = Sweeper().start()
    beat = Beat(worker.worker_id).start()
    try:
        worker.run()
    except SystemExit as exc:  # its signal handler leaves this way
        return int(exc.code or 0)
    finally:
        beat.stop()
        sweeper.stop()
    return 0


def drain() -> None:
    """Runs every job that is ready, then returns (tests, one-off runs)."""
    recordings_recover()
    worker = _worker(batch=True)
    beat = Beat(worker.worker_id).start()
    try:
        worker.run()
    finally:
        beat.stop()


class Background:
    """A worker on a thread of this process, for `callsop demo`: no signals
    of its own; `stop()` lets the job under way finish."""

    def __init__(self, *, interval: float = 1.0) -> None:
        self.worker = _worker(batch=False, interval=interval)
        self.thread = threading.Thread(target=self._run, name="callsop-worker", daemon=True)
        self.sweeper = Sweeper()
        self.beat = Beat(self.worker.worker_id)

    def _run(self) -> None:
        from django.db import connections

        try:
            recordings_recover()
            self.sweeper.start()
            self.beat.start()
            self.worker.run()
        finally:
            connections.close_all()

    def start(self) -> Background:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.worker.running = False
        self.thread.join(timeout=30)
        self.beat.stop()
        self.sweeper.stop()
