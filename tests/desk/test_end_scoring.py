"""A call the clerk ends is graded after the request: by a worker's job when
a worker runs (the clerk's next screen never waits on the engine), in the
request after its transaction when none does, so a desk without a worker
still grades every call. The ended call's page says the grade is on its
way and shows it once the worker is done."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from playwright.sync_api import expect

from callsop.desk import worker
from callsop.desk.models import Call, Scorecard, WorkerSeen
from callsop.desk.services import calls as svc
from callsop.desk.services import jobs
from tests.desk import test_browser
from tests.desk.conftest import World

# The browser fixtures of test_browser.py, shared as they are.
browser = test_browser.browser
desk = test_browser.desk

pytestmark = pytest.mark.django_db(transaction=True)


def _talking(world: World) -> Call:
    now = timezone.now()
    call = svc.call_ring(club=world.xinyi, phone="0912-345-678", now=now - timedelta(seconds=50))
    return svc.call_answer(call=call, clerk=world.alice, now=now - timedelta(seconds=45))


def _end(world: World, call: Call, by: str = "customer") -> None:
    response = world.client(world.alice).post(
        f"/calls/{call.pk}/end/", {"by": by}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204, response.content.decode()
    assert response["HX-Redirect"] == f"/calls/{call.pk}/"
    assert Call.objects.get(pk=call.pk).state == Call.State.ENDED


def _verdicts(call: Call) -> dict[str, str]:
    card = Scorecard.objects.get(call=call)
    return {f["rule"]: f["verdict"] for f in card.findings}


def test_with_a_worker_running_the_end_request_queues_the_grade_and_the_worker_gives_it(
    world: World,
) -> None:
    jobs.worker_beat("worker-on-another-machine")
    call = _talking(world)
    _end(world, call, by="staff")

    assert not Scorecard.objects.filter(call=call).exists()
    queued = DBTaskResult.objects.ready().get()
    assert queued.task_path.endswith(".score_call")
    assert queued.args_kwargs["kwargs"]["call_id"] == call.pk
    assert queued.args_kwargs["kwargs"]["club_id"] == world.xinyi.pk
    # The clerk's manager sees the job on 背景工作, named in zh-Hant.
    shown = jobs.jobs_visible(world.bob)
    assert [jobs._job(r).name for r in shown] == ["評分通話"]

    page = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    assert "評分中" in page and 'hx-trigger="every 2s"' in page

    # The clerk's wrap-up note, saved while the job waits, is graded by that job.
    saved = world.client(world.alice).post(f"/calls/{call.pk}/details/", {"note_what": "問課表"})
    assert saved.status_code == 200, saved.content.decode()
    assert DBTaskResult.objects.ready().count() == 1
    assert not Scorecard.objects.filter(call=call).exists()

    worker.drain()
    assert Call.objects.get(pk=call.pk).note_what == "問課表"
    verdicts = _verdicts(call)
    assert verdicts["close.customer-hangs-up-first"] == "fail"  # the clerk hung up first
    assert DBTaskResult.objects.successful().count() == 1
    page = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    assert "評分中" not in page and "every 2s" not in page
    assert 'class="score-badge' in page


def test_with_no_worker_running_the_end_request_grades_the_call_itself(world: World) -> None:
    # A heartbeat two minutes old is a worker gone: nothing would take the job.
    jobs.worker_beat("stopped-worker", now=timezone.now() - timedelta(minutes=2))
    assert WorkerSeen.objects.count() == 1
    call = _talking(world)
    _end(world, call, by="customer")
    assert _verdicts(call)["close.customer-hangs-up-first"] == "pass"
    assert not DBTaskResult.objects.exists()
    page = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    assert "評分中" not in page


def test_a_refused_end_queues_nothing(world: World) -> None:
    jobs.worker_beat("w1")
    call = _talking(world)
    response = world.client(world.alice).post(f"/calls/{call.pk}/end/", {}, HTTP_HX_REQUEST="true")
    assert "X-Callsop-Refused" in response
    assert Call.objects.get(pk=call.pk).state == Call.State.TALKING
    assert not DBTaskResult.objects.exists() and not Scorecard.objects.exists()


@pytest.mark.browser
def test_the_ended_calls_page_shows_the_grade_once_the_worker_gives_it(
    desk: test_browser.Desk, world: World
) -> None:
    jobs.worker_beat("w1")
    call = _talking(world)
    page = desk.login(world.alice)
    page.goto(f"/calls/{call.pk}/")
    expect(page.locator("html[data-callscreen=ready]")).to_have_count(1)
    page.keyboard.press("e")
    page.locator("#call-panel dialog.end-confirm").get_by_label("對方先掛").check()
    page.get_by_role("button", name="確定結束").click()
    waiting = page.locator("[data-scoring]")
    expect(waiting).to_contain_text("評分中")
    desk.shot(page, "grade-on-its-way")
    # What the clerk types in the wrap-up meanwhile stays where it is.
    page.locator("#wrap-up-section input[name=note_what]").fill("詢問游泳池開放時間")

    worker.drain()
    expect(waiting).to_have_count(0, timeout=8000)
    expect(page.locator("#score-badge .score-badge")).to_be_visible()
    expect(page.locator("#findings-area table.findings tr.v-pass").first).to_be_visible()
    expect(page.locator("#wrap-up-section input[name=note_what]")).to_have_value(
        "詢問游泳池開放時間"
    )
    desk.shot(page, "graded")
