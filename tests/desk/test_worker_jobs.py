"""The job queue with real `callsop worker` processes: each job runs exactly
once among several workers, a worker killed mid-job has its job taken up
by another, a failing job is tried again and then kept failed with its
error, and the jobs page shows a manager their own club's jobs only.

On PostgreSQL (the suite's unit-postgres pass) the workers claim with
SELECT … FOR UPDATE SKIP LOCKED; on SQLite with an exclusive transaction."""

from __future__ import annotations

import collections
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from callsop.desk import worker
from callsop.desk.models import Staff, WorkerSeen
from callsop.desk.services import jobs
from tests.desk.conftest import World, _staff, wait_for, worker_process
from tests.desk.test_worker_tasks import fails, note_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recordings_home")]


def _lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def _stop(processes: list[subprocess.Popen[str]]) -> list[str]:
    outputs = []
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        output, _ = process.communicate(timeout=60)
        outputs.append(output)
    return outputs


def test_three_workers_run_each_of_many_jobs_exactly_once(
    world: World, recordings_home: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    count = 60
    for n in range(count):
        note_run.enqueue(club_id=world.xinyi.pk, n=n, path=str(runs), seconds=0.02)
    workers = [worker_process(recordings_home) for _ in range(3)]
    try:
        finished = wait_for(
            lambda: (
                DBTaskResult.objects.successful().count() == count
                or any(w.poll() is not None for w in workers)
            ),
            120,
        )
    finally:
        outputs = _stop(workers)
    assert finished and DBTaskResult.objects.successful().count() == count, outputs
    done = collections.Counter(int(n) for kind, n, _ in _lines(runs) if kind == "done")
    started = collections.Counter(int(n) for kind, n, _ in _lines(runs) if kind == "start")
    assert done == started == {n: 1 for n in range(count)}
    # The work was shared, and each worker beat and counted what it did.
    pids = {pid for kind, _, pid in _lines(runs) if kind == "done"}
    seen = list(WorkerSeen.objects.all())
    assert len(seen) == 3 and sum(w.jobs_done for w in seen) == count
    assert len(pids) >= 2, "one worker took every job"
    assert all(w.returncode == 0 for w in workers), outputs
    # Each worker's log: it started once, and a line for each job it finished.
    assert all(out.count("Starting worker") == 1 for out in outputs), outputs
    finished = sum(out.count("state=SUCCESSFUL") for out in outputs)
    assert finished == count, outputs


def test_a_job_of_a_worker_killed_mid_job_is_taken_up_by_another(
    world: World, recordings_home: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    note_run.enqueue(club_id=world.xinyi.pk, n=7, path=str(runs), seconds=3)
    stall = {"CALLSOP_RECORDING_STALL_S": "2"}
    first = worker_process(recordings_home, **stall)
    others: list[subprocess.Popen[str]] = []
    try:
        assert wait_for(lambda: bool(_lines(runs)), 60), "the first worker never began"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        killed = _lines(runs)[0][2]
        assert killed == str(first.pid)
        others = [worker_process(recordings_home, **stall) for _ in range(2)]
        assert wait_for(lambda: DBTaskResult.objects.successful().count() == 1, 90), _stop(others)
    finally:
        outputs = _stop(others)
    lines = _lines(runs)
    assert [kind for kind, _, _ in lines] == ["start", "start", "done"], (lines, outputs)
    assert lines[1][2] != killed and lines[2][2] == lines[1][2]
    job = DBTaskResult.objects.get()
    assert len(job.worker_ids) == 2 and job.return_value == 7


def test_a_failing_job_is_tried_three_times_then_kept_failed_with_its_error(
    world: World, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    result = fails.enqueue(club_id=world.xinyi.pk, times=5, path=str(runs))
    for tries in (1, 2, 3):
        worker.drain()
        job = DBTaskResult.objects.get(pk=result.id)
        assert len(job.worker_ids) == tries and len(_lines(runs)) == tries
        if tries < 3:
            # Queued again, after a pause that grows; the test skips the wait.
            assert job.status == "READY" and job.run_after > timezone.now()
            assert job.run_after - timezone.now() > timedelta(seconds=0.5 * 4 ** (tries - 1))
            DBTaskResult.objects.filter(pk=job.pk).update(run_after=timezone.now())
    assert job.status == "FAILED" and "try 3 failed on purpose" in job.traceback
    worker.drain()
    assert len(_lines(runs)) == 3, "a job that failed for good ran again by itself"
    page = world.client(world.bob).get("/jobs/").content.decode()
    assert "try 3 failed on purpose" in page and "重試" in page


def test_a_job_that_succeeds_on_its_second_try_ends_successful(
    world: World, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    result = fails.enqueue(club_id=world.xinyi.pk, times=1, path=str(runs))
    worker.drain()
    DBTaskResult.objects.filter(pk=result.id).update(run_after=timezone.now())
    worker.drain()
    job = DBTaskResult.objects.get(pk=result.id)
    assert job.status == "SUCCESSFUL" and job.return_value == "ok" and len(job.worker_ids) == 2


def _failed_for_good(club_id: int, path: Path) -> DBTaskResult:
    result = fails.enqueue(club_id=club_id, times=0, path=str(path))
    DBTaskResult.objects.filter(pk=result.id).update(
        worker_ids=["a", "b", "c"], status="FAILED", traceback="ValueError: try 3 failed\n"
    )
    return DBTaskResult.objects.get(pk=result.id)


def test_the_retry_button_queues_a_failed_job_again_and_it_runs(
    world: World, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    job = _failed_for_good(world.xinyi.pk, runs)
    client = world.client(world.bob)
    answer = client.post(f"/jobs/{job.pk}/retry/")
    assert answer.status_code == 302 and answer["Location"] == "/jobs/"
    job.refresh_from_db()
    assert job.status == "READY" and job.worker_ids == []
    worker.drain()
    job.refresh_from_db()
    assert job.status == "SUCCESSFUL" and len(_lines(runs)) == 1
    # Pressed again, on a job no longer failed: refused with a reason, nothing moves.
    again = client.post(f"/jobs/{job.pk}/retry/")
    assert again.status_code == 400 and "無須重試" in again.content.decode()
    assert DBTaskResult.objects.get(pk=job.pk).status == "SUCCESSFUL"


def test_a_manager_sees_and_retries_only_their_own_clubs_jobs_and_hq_sees_all(
    world: World, tmp_path: Path
) -> None:
    xinyi = _failed_for_good(world.xinyi.pk, tmp_path / "x.txt")
    banqiao = _failed_for_good(world.banqiao.pk, tmp_path / "b.txt")
    note_run.enqueue(club_id=world.banqiao.pk, n=1, path=str(tmp_path / "n.txt"))
    erin = _staff(world.chain, world.banqiao, "erin", Staff.Role.MANAGER, "林美玲")

    assert set(jobs.jobs_visible(world.bob).values_list("pk", flat=True)) == {xinyi.pk}
    assert jobs.jobs_visible(world.alice).count() == 0
    assert jobs.jobs_visible(world.hq).count() == 3
    bob_page = world.client(world.bob).get("/jobs/").content.decode()
    assert f"/jobs/{xinyi.pk}/retry/" in bob_page and f"/jobs/{banqiao.pk}/" not in bob_page
    hq_page = world.client(world.hq).get("/jobs/").content.decode()
    assert f"/jobs/{xinyi.pk}/retry/" in hq_page and f"/jobs/{banqiao.pk}/retry/" in hq_page
    erin_page = world.client(erin).get("/jobs/").content.decode()
    assert f"/jobs/{xinyi.pk}/" not in erin_page and f"/jobs/{banqiao.pk}/retry/" in erin_page

    # Another club's job cannot be retried, nor by a clerk their own.
    assert world.client(erin).post(f"/jobs/{xinyi.pk}/retry/").status_code == 404
    assert world.client(world.alice).post(f"/jobs/{xinyi.pk}/retry/").status_code == 404
    assert world.client(world.alice).get("/jobs/").status_code == 403
    assert world.client(world.bob).post("/jobs/not-a-job/retry/").status_code == 404
    assert DBTaskResult.objects.get(pk=xinyi.pk).status == "FAILED"


def test_healthz_gives_the_oldest_waiting_jobs_age_and_the_workers_seen(
    world: World, tmp_path: Path
) -> None:
    from django.test import Client

    result = note_run.enqueue(club_id=world.xinyi.pk, n=1, path=str(tmp_path / "n.txt"))
    DBTaskResult.objects.filter(pk=result.id).update(
        enqueued_at=timezone.now() - timedelta(seconds=30)
    )
    jobs.worker_beat("w-recent")
    jobs.worker_beat("w-old", now=timezone.now() - timedelta(minutes=5))
    health = Client().get("/healthz").json()
    assert 29 <= health["oldest_ready_s"] < 60
    assert health["workers_seen"] == 1 and health["queue_depth"] == 1


def test_the_worker_beat_gives_a_closed_redial_window_its_verdict(world: World) -> None:
    """A dropped line owes a redial within a minute: na while the minute
    runs, and fail once it has passed with none, set by the worker's beat,
    not by a page a clerk opens."""
    from callsop.desk.models import Call
    from callsop.desk.services import calls as svc

    began = timezone.now() - timedelta(minutes=5)
    call = svc.call_ring(club=world.xinyi, phone="0922111222", now=began)
    svc.call_answer(call=call, clerk=world.alice, now=began + timedelta(seconds=5))
    svc.call_end(call=call, by="network", now=began + timedelta(seconds=40))
    call = Call.objects.get(pk=call.pk)
    verdicts = {f["rule"]: f["verdict"] for f in call.scorecard.findings}
    assert verdicts["outbound.redial-after-drop"] == "na"  # scored as the line dropped
    assert call.scorecard.recheck_at is not None
    client = Client()
    client.force_login(world.alice.user)
    assert client.get("/desk/").status_code == 200
    call.scorecard.refresh_from_db()
    assert call.scorecard.recheck_at is not None  # the desk page scores nothing
    worker.Beat("beat-test").beat()
    call.scorecard.refresh_from_db()
    assert call.scorecard.recheck_at is None
    verdicts = {f["rule"]: f["verdict"] for f in call.scorecard.findings}
    assert verdicts["outbound.redial-after-drop"] == "fail"
