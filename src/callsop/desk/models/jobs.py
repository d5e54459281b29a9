"""The background workers seen at work: each `callsop worker` writes its own
row every few seconds (a heartbeat), so the jobs page can list them and a
job whose worker has stopped beating can be taken up by another."""

from __future__ import annotations

from django.db import models


class WorkerSeen(models.Model):
    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    jobs_done = models.IntegerField(default=0)
    jobs_failed = models.IntegerField(default=0)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}"
