"""The desk's background jobs (django-tasks, database backend): enqueued
with `transaction.on_commit`, taken by `callsop worker` on any machine."""

from __future__ import annotations

from django_tasks import task

from callsop.desk.services.recordings import recording_hear


@task(queue_name="recordings")
def hear_recording(recording_id: int) -> str:
    """Hears one recording and rescores its call; returns the state it ended in."""
    recording = recording_hear(recording_id=recording_id)
    return recording.state if recording is not None else "taken-by-another"
