"""The desk's pages and HTMX actions over HTTP."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callsop.desk import selectors
from callsop.desk.models import Call, Club, Staff, Task
from callsop.desk.services import calls as svc
from tests.desk.conftest import World

HX = {"HTTP_HX_REQUEST": "true"}


def _new_call(world: World) -> Call:
    response = world.client(world.alice).post(
        "/calls/new-incoming/", {"phone": "0912-345-678"}, **HX
    )
    assert response.status_code == 204
    call = Call.objects.get()
    assert response["HX-Redirect"] == f"/calls/{call.pk}/"
    return call


def test_a_ringing_call_shows_on_every_desk_of_the_club(world: World) -> None:
    call = _new_call(world)
    assert "0912-345-678" in world.client(world.bob).get("/desk/ringing/").content.decode()
    assert "0912-345-678" not in world.client(world.charlie).get("/desk/ringing/").content.decode()
    world.client(world.bob).post(f"/calls/{call.pk}/answer/", {"from": "desk"}, **HX)
    call.refresh_from_db()
    assert call.clerk == world.bob
    assert "0912-345-678" not in world.client(world.alice).get("/desk/ringing/").content.decode()


def test_a_desk_reads_its_ringing_list_in_three_queries(world: World) -> None:
    """Every open desk of a club reads #ringing again whenever one of the
    club's calls rings or changes: the session, the user with their staff
    member, and the calls (ringing and unclaimed at once), however many."""
    _new_call(world)
    svc.call_ring(club=world.xinyi, phone="0922-000-111")
    client = world.client(world.bob)
    client.get("/desk/ringing/")
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/desk/ringing/").content.decode()
    assert "0912-345-678" in page and "0922-000-111" in page
    tables = [q["sql"].split(" FROM ", 1)[1].split()[0] for q in queries]
    assert tables == ['"django_session"', '"auth_user"', '"desk_call"']


def test_the_call_screen_shows_the_script_with_names(world: World) -> None:
    call = _new_call(world)
    client = world.client(world.alice)
    client.post(f"/calls/{call.pk}/answer/", **HX)
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert "您好，信義會館，我是怡君。" in page
    assert "請問您貴姓" in page
    assert "歡迎您到會館來做客，再見！" in page


def test_typed_notes_survive_a_reload(world: World) -> None:
    call = _new_call(world)
    client = world.client(world.alice)
    response = client.post(
        f"/calls/{call.pk}/details/",
        {"caller_name": "林小姐", "note_what": "詢問瑜伽", "note_urgent__present": "1"},
        **HX,
    )
    assert response.status_code == 200 and "已儲存" in response.content.decode()
    fresh = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    assert 'value="林小姐"' in fresh and 'value="詢問瑜伽"' in fresh


def test_a_refused_action_answers_with_the_panel_and_the_reason(world: World) -> None:
    call = _new_call(world)
    client = world.client(world.alice)
    client.post(f"/calls/{call.pk}/answer/", **HX)
    response = client.post(f"/calls/{call.pk}/transfer/", {"to": world.bob.pk, "summary": ""}, **HX)
    body = response.content.decode()
    assert response.status_code == 200 and "轉接前請先簡要說明" in body
    assert '<details class="action" open>' in body  # the form stays open to fix
    plain = client.post(f"/calls/{call.pk}/transfer/", {"to": world.bob.pk, "summary": ""})
    assert plain.status_code == 400
    ok = client.post(
        f"/calls/{call.pk}/transfer/", {"to": world.bob.pk, "summary": "會員問發票"}, **HX
    )
    assert ok["HX-Redirect"] == f"/calls/{call.pk}/"


def test_unknown_actions_and_gets_are_refused(world: World) -> None:
    call = _new_call(world)
    client = world.client(world.alice)
    assert client.post(f"/calls/{call.pk}/explode/").status_code == 404
    assert client.get(f"/calls/{call.pk}/answer/").status_code == 405


def test_the_ended_call_shows_its_scorecard(world: World) -> None:
    start = timezone.now() - timedelta(minutes=3)
    call = svc.call_ring(club=world.xinyi, phone="0912", now=start)
    svc.call_answer(call=call, clerk=world.alice, now=start + timedelta(seconds=4))
    svc.call_end(call=call, by="staff", now=start + timedelta(seconds=60))
    page = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    assert 'data-rule="close.customer-hangs-up-first"' in page
    assert "v-fail" in page and "提出申訴" in page
    assert "提出申訴" not in world.client(world.bob).get(f"/calls/{call.pk}/").content.decode()


def test_presence_is_set_by_oneself(world: World) -> None:
    client = world.client(world.alice)
    assert client.post("/desk/presence/", {"presence": "meeting"}).status_code == 200
    world.alice.refresh_from_db()
    assert world.alice.presence == Staff.Presence.MEETING
    assert client.post("/desk/presence/", {"presence": "asleep"}).status_code == 400


def test_the_manager_edits_the_policy_and_a_clerk_cannot(world: World) -> None:
    bad = world.client(world.bob).post("/policy/", {"policy_toml": "[timing]\nmax_hold = 5\n"})
    assert bad.status_code == 400 and "max_hold" in bad.content.decode()
    assert world.client(world.alice).post("/policy/", {"policy_toml": ""}).status_code == 403
    good = world.client(world.bob).post("/policy/", {"policy_toml": "[timing]\nmax_hold_s = 45\n"})
    assert good.status_code == 303
    assert Club.objects.get(pk=world.xinyi.pk).policy_toml == "[timing]\nmax_hold_s = 45\n"
    assert "45 秒" in world.client(world.alice).get("/policy/").content.decode()


def test_rule_pages_render(world: World) -> None:
    page = world.client(world.alice).get("/rules/hold.max-duration/").content.decode()
    assert "等候不超過一分鐘" in page
    assert world.client(world.alice).get("/rules/no.such-rule/").status_code == 404


def _calls(world: World, n: int) -> None:
    start = timezone.now() - timedelta(hours=2)
    for i in range(n):
        at = start + timedelta(minutes=i)
        call = svc.call_ring(club=world.xinyi, phone=f"09{i:08d}", now=at)
        svc.call_answer(
            call=call, clerk=world.alice if i % 2 else world.bob, now=at + timedelta(seconds=5)
        )
        svc.call_end(by="customer", call=call, now=at + timedelta(seconds=40))


def test_the_dashboard_takes_the_same_queries_for_more_calls(world: World) -> None:
    client = world.client(world.bob)
    _calls(world, 2)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/dashboard/").status_code == 200
    _calls(world, 10)
    with CaptureQueriesContext(connection) as more:
        page = client.get("/dashboard/")
    assert len(more) == len(few)
    assert "12" in page.content.decode()


def test_csv_export_lists_the_calls(world: World) -> None:
    _calls(world, 3)
    response = world.client(world.bob).get("/dashboard.csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    lines = text.strip().splitlines()
    assert lines[0].startswith("通話編號,會館,開始時間")
    assert len(lines) == 4 and all("信義會館" in line for line in lines[1:])
    assert world.client(world.alice).get("/dashboard.csv").status_code == 403


def test_a_bad_dashboard_date_is_named(world: World) -> None:
    page = world.client(world.bob).get("/dashboard/?start=2026-13-01").content.decode()
    assert "開始日期格式不正確：2026-13-01" in page


def test_the_inbox_files_a_retry_by_its_window_as_the_desk_does(world: World) -> None:
    """A retry is due from 3 minutes after the unanswered call (its due time
    is the window's middle, 4 minutes) and late after 5, as on the 待辦 card."""
    now = timezone.now()
    task = Task.objects.create(
        club=world.xinyi,
        kind=Task.Kind.RETRY,
        due=now + timedelta(seconds=30),  # the window opened 30 s ago
        phone="0912-000-111",
        assignee=world.alice,
        created_at=now,
    )
    tz = ZoneInfo(world.xinyi.timezone)
    box = selectors.inbox(world.alice, now, tz)
    assert [t.pk for t in box.tasks_due] == [task.pk] and not box.tasks_later
    box = selectors.inbox(world.alice, now - timedelta(minutes=1), tz)  # before it opened
    assert [t.pk for t in box.tasks_later] == [task.pk] and not box.tasks_due
    box = selectors.inbox(world.alice, now + timedelta(seconds=91), tz)  # past 5 minutes
    assert [t.pk for t in box.tasks_overdue] == [task.pk] and not box.tasks_due
    page = world.client(world.alice).get("/inbox/").content.decode()
    assert "0912-000-111" in page
