"""`callsop worker`: takes the desk's queued jobs until stopped.

It is django-tasks-db's own worker loop: each job row is claimed in an
exclusive transaction (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL), so
any number of workers, on this machine or others that reach the database,
share one queue and never run a job twice.

A worker killed mid-job (kill -9, its machine lost) leaves its recording
being heard with no one hearing it: every worker, as it starts and then
every little while, queues such recordings again
(`services.recording_lease`)."""

from __future__ import annotations

import logging
import sys
import threading

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from callsop.desk.services.recording_lease import Sweeper, recordings_recover

QUEUES = ["default", "recordings"]


def _worker(*, batch: bool, interval: float = 1.0) -> Worker:
    return Worker(
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
    logger = logging.getLogger("django_tasks_db")
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler(sys.stderr))
    logger.setLevel(logging.INFO)
    worker = _worker(batch=False)
    worker.configure_signals()
    recovered = recordings_recover()
    if recovered:
        sys.stderr.write(f"callsop worker: {recovered} stalled recording(s) queued again\n")
    sys.stderr.write("callsop worker: taking the desk's jobs (Ctrl-C stops)\n")
    sweeper = Sweeper().start()
    try:
        worker.run()
    except SystemExit as exc:  # its signal handler leaves this way
        return int(exc.code or 0)
    finally:
        sweeper.stop()
    return 0


def drain() -> None:
    """Runs every job that is ready, then returns (tests, one-off runs)."""
    recordings_recover()
    _worker(batch=True).run()


class Background:
    """A worker on a thread of this process, for `callsop demo`: no signals
    of its own; `stop()` lets the job under way finish."""

    def __init__(self, *, interval: float = 1.0) -> None:
        self.worker = _worker(batch=False, interval=interval)
        self.thread = threading.Thread(target=self._run, name="callsop-worker", daemon=True)
        self.sweeper = Sweeper()

    def _run(self) -> None:
        from django.db import connections

        try:
            recordings_recover()
            self.sweeper.start()
            self.worker.run()
        finally:
            connections.close_all()

    def start(self) -> Background:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.worker.running = False
        self.thread.join(timeout=30)
        self.sweeper.stop()
