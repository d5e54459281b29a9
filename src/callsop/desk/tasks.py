"""The desk's background jobs (django-tasks, database backend): enqueued
with `transaction.on_commit`, taken by `callsop worker` on any machine."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from callsop.desk.services.recordings import recording_hear
from callsop.desk.services.scoring import call_rescore


@task(queue_name="recordings")
def hear_recording(recording_id: int) -> str:
    """Hears one recording and rescores its call; returns the state it ended in."""
    recording = recording_hear(recording_id=recording_id)
    return recording.state if recording is not None else "taken-by-another"


@task()
def score_call(call_id: int, club_id: int | None, at: str) -> str:
    """Scores a call the desk has just ended (with the retries and redials
    around it) as of `at`, when it ended; `club_id` lets the jobs page show
    the job to that club's manager. Returns the score."""
    card = call_rescore(call_id=call_id, now=datetime.fromisoformat(at))
    return "—" if card.score is None else f"{card.score:.1f}"
