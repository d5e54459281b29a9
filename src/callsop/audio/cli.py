"""`callsop transcribe`: recordings in, one `callsop.call/1` record a call out (JSON Lines)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


def add_parser(subparsers: Any) -> None:
    transcribe = subparsers.add_parser(
        "transcribe",
        help="hear call recordings: print one call record a call (JSON Lines) for `score -`",
        description="Hear each recording (WAV, FLAC, OGG, MP3, or MixMonitor's headerless "
        "two-channel .raw/.sln at 8 kHz and .sln16 at 16 kHz; two channels, two legs or mono) "
        "and print its call record as one JSON line, in input order: who spoke when, holds "
        "heard in the audio and, with a recogniser, the words (a machine transcript). A file "
        "that cannot be read is refused on standard error and the exit status is 1; the "
        "others are still printed. Pipe into `callsop score -`.",
    )
    transcribe.add_argument("files", nargs="+", metavar="FILE", help="recordings")
    transcribe.add_argument(
        "--legs",
        action="store_true",
        help="the files go in pairs, one per leg of a call: staff leg, then customer leg",
    )
    transcribe.add_argument(
        "--staff-channel",
        choices=("left", "right"),
        default="left",
        help="the staff's channel of a two-channel file (default left, as MixMonitor writes)",
    )
    transcribe.add_argument(
        "--recogniser",
        choices=("none", "whisper-base"),
        default="none",
        help="none: who spoke when, no words (default); whisper-base: a machine transcript "
        "(pip install 'callsop[speech]')",
    )
    transcribe.add_argument(
        "--direction",
        choices=("inbound", "outbound"),
        default="inbound",
        help="the calls' direction when the file name does not say (default inbound)",
    )
    transcribe.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="calls heard in parallel, one process each (default: 1 with a recogniser, "
        "else one per core)",
    )
    transcribe.add_argument(
        "--format", choices=("json",), default="json", help="json: one record a line (default)"
    )


@dataclass(frozen=True)
class _Job:
    paths: tuple[str, ...]
    staff_channel: Literal["left", "right"]
    recogniser: str
    direction: Literal["inbound", "outbound"]


@dataclass(frozen=True)
class _Outcome:
    line: str | None = None  # the record, as one JSON line
    refused: str | None = None  # "<file>: <reason>"
    fatal: str | None = None  # the recogniser cannot run: no call can be heard


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        return _usage("--jobs: give 1 or more")
    files: list[str] = list(args.files)
    if args.legs and len(files) % 2:
        return _usage(f"--legs: the files go in pairs (staff leg, customer leg); got {len(files)}")
    try:
        from callsop.audio.names import time_zone

        time_zone()
    except ValueError as exc:
        return _usage(str(exc))
    groups = (
        [tuple(files[i : i + 2]) for i in range(0, len(files), 2)]
        if args.legs
        else [(f,) for f in files]
    )
    jobs = [_Job(g, args.staff_channel, args.recogniser, args.direction) for g in groups]
    if args.recogniser != "none":
        from callsop.audio.recognise import RecogniserError
        from callsop.audio.whisper import check_installed

        try:
            check_installed()
        except RecogniserError as exc:
            return _usage(str(exc))
    workers = args.jobs or (1 if args.recogniser != "none" else os.cpu_count() or 1)
    refused = 0
    with _progress(len(jobs)) as on_progress:
        for outcome in _outcomes(jobs, min(workers, len(jobs)), on_progress):
            if outcome.fatal is not None:
                return _usage(outcome.fatal)
            if outcome.refused is not None:
                refused += 1
                sys.stderr.write(f"callsop: refused {outcome.refused}\n")
                continue
            sys.stdout.write(f"{outcome.line}\n")
            sys.stdout.flush()
    if refused:
        sys.stderr.write(f"callsop: {refused} recording(s) refused; {len(jobs) - refused} heard\n")
        return EXIT_REFUSED
    return EXIT_OK


def _outcomes(
    jobs: list[_Job], workers: int, on_progress: Callable[[float], None] | None
) -> Iterator[_Outcome]:
    if workers <= 1:
        for i, job in enumerate(jobs):
            part = None if on_progress is None else (lambda f, i=i: on_progress(i + f))
            yield _hear_job(job, part)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, outcome in enumerate(pool.map(_hear_job, jobs)):
            if on_progress is not None:
                on_progress(i + 1.0)
            yield outcome


def _hear_job(job: _Job, on_progress: Callable[[float], None] | None = None) -> _Outcome:
    from callsop.audio.decode import AudioError
    from callsop.audio.hearing import hear
    from callsop.audio.names import parse_name, time_zone
    from callsop.audio.recognise import RecogniserError, recogniser

    try:
        heard_by = recogniser(job.recogniser)
    except RecogniserError as exc:
        return _Outcome(fatal=str(exc))
    try:
        heard = hear(
            job.paths,
            staff_channel=job.staff_channel,
            recogniser=heard_by,
            on_progress=on_progress,
        )
    except AudioError as exc:
        return _Outcome(refused=str(exc))
    first = job.paths[0]
    zone = time_zone()
    named = parse_name(first, zone)
    if named is not None:
        started_at, phone = named.started_at, named.customer_phone
        direction = named.direction or job.direction
    else:
        modified = datetime.fromtimestamp(os.path.getmtime(first), zone)
        started_at = (modified - timedelta(seconds=heard.duration)).replace(microsecond=0)
        direction, phone = job.direction, None
    stem = os.path.splitext(os.path.basename(first))[0]
    record = heard.record(id=stem, started_at=started_at, direction=direction, customer_phone=phone)
    return _Outcome(line=json.dumps(record, ensure_ascii=False))


@contextmanager
def _progress(total: int) -> Iterator[Callable[[float], None] | None]:
    """A progress bar on standard error at a terminal; hearing takes seconds a call."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    columns = ("聆聽錄音", BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
    console = Console(stderr=True)
    # The records go to standard output untouched; only refusals print above the bar.
    with Progress(*columns, console=console, transient=True, redirect_stdout=False) as progress:
        task = progress.add_task("transcribe", total=total)
        yield lambda done: progress.update(task, completed=done)


def _usage(message: str) -> int:
    sys.stderr.write(f"callsop: {message}\n")
    return EXIT_USAGE
