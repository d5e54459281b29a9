"""Jobs for the worker tests to queue: each notes its runs in a file, one
line a run, so a test can count how often each ran and in which process.
(No tests here: the worker processes import this module to run them.)"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_tasks import task

failures: dict[int, int] = {}


def _note(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as out:  # one write a line, appended
        out.write(f"{line}\n")


@task()
def note_run(*, club_id: int, n: int, path: str, seconds: float = 0.0) -> int:
    _note(path, f"start {n} {os.getpid()}")
    time.sleep(seconds)
    _note(path, f"done {n} {os.getpid()}")
    return n


@task()
def fails(*, club_id: int, times: int, path: str) -> str:
    """Fails its first `times` runs, then succeeds."""
    runs = Path(path).read_text().count("\n") if Path(path).exists() else 0
    _note(path, f"run {runs + 1}")
    if runs < times:
        raise ValueError(f"try {runs + 1} failed on purpose")
    return "ok"
