"""The club boundary: a clerk, the club's manager, and a clerk of another club."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from callsop.desk.models import Call, Dispute, KnowledgeItem, Memo, Task
from callsop.desk.services import calls as svc
from callsop.desk.services.scoring import dispute_raise
from tests.desk.conftest import World


@pytest.fixture
def ended(world: World) -> Call:
    start = timezone.now() - timedelta(minutes=5)
    call = svc.call_ring(club=world.xinyi, phone="0912345678", now=start)
    svc.call_answer(call=call, clerk=world.alice, now=start + timedelta(seconds=14))
    svc.memo_take(
        call=call,
        taken_by=world.alice,
        for_staff=world.dora,
        from_name="王先生",
        phone="0912345678",
        message="請回電",
    )
    svc.complaint_log(call=call, clerk=world.alice, summary="教練遲到")
    return svc.call_end(by="customer", call=call, now=start + timedelta(seconds=60))


def _pages(call: Call) -> list[str]:
    return [f"/calls/{call.pk}/", f"/calls/{call.pk}/record.json", f"/calls/{call.pk}/panel/"]


def test_staff_of_the_club_read_its_calls(world: World, ended: Call) -> None:
    for person in (world.alice, world.bob):
        client = world.client(person)
        assert client.get(f"/calls/{ended.pk}/").status_code == 200
        record = client.get(f"/calls/{ended.pk}/record.json")
        assert record.status_code == 200 and record.json()["id"] == f"xinyi-{ended.pk}"


def test_another_clubs_clerk_sees_nothing(world: World, ended: Call) -> None:
    client = world.client(world.charlie)
    for url in _pages(ended):
        assert client.get(url).status_code == 404, url
    for action in ("answer", "hold", "end", "memo", "transfer", "complaint"):
        assert client.post(f"/calls/{ended.pk}/{action}/").status_code == 404, action
    assert client.post(f"/calls/{ended.pk}/details/", {"note_what": "x"}).status_code == 404
    memo = Memo.objects.get()
    assert client.post(f"/memos/{memo.pk}/called-back/").status_code == 404
    assert client.post(f"/complaints/{ended.complaint.pk}/", {"state": "closed"}).status_code == 404
    listing = client.get("/calls/?days=all").content.decode()
    assert "0912345678" not in listing and "王先生" not in listing
    inbox = client.get("/inbox/").content.decode()
    assert "教練遲到" not in inbox and "請回電" not in inbox
    ended.refresh_from_db()
    assert ended.note_what == "" and ended.complaint.state == "open"


def test_a_memo_is_handled_only_by_whom_it_is_for(world: World, ended: Call) -> None:
    memo = Memo.objects.get()
    alice = world.client(world.alice)
    alice.post(f"/memos/{memo.pk}/called-back/")
    memo.refresh_from_db()
    assert memo.called_back_at is None
    world.client(world.dora).post(f"/memos/{memo.pk}/called-back/")
    memo.refresh_from_db()
    assert memo.called_back_at is not None


def test_hq_reads_every_club_but_acts_on_none(world: World, ended: Call) -> None:
    client = world.client(world.hq)
    assert client.get(f"/calls/{ended.pk}/").status_code == 200
    assert client.get("/dashboard/").status_code == 200
    assert client.post(f"/calls/{ended.pk}/complaint/", {"summary": "x"}).status_code == 403
    assert client.post("/calls/new-incoming/").status_code == 403


def test_dashboard_is_for_managers(world: World, ended: Call) -> None:
    assert world.client(world.alice).get("/dashboard/").status_code == 403
    assert world.client(world.bob).get("/dashboard/").status_code == 200
    page = world.client(world.bob).get(f"/dashboard/?club={world.banqiao.pk}")
    # A manager's filter cannot reach another club.
    assert "陳怡君" in page.content.decode()


def test_only_the_clubs_manager_settles_its_disputes(world: World, ended: Call) -> None:
    dispute = dispute_raise(
        call=ended, clerk=world.alice, rule="inbound.answer-promptly", comment="電話系統延遲"
    )
    settle = f"/disputes/{dispute.pk}/settle/"
    body = {"decision": "overturned", "answer": "ok"}
    assert world.client(world.charlie).post(settle, body).status_code == 404
    assert world.client(world.alice).post(settle, body).status_code == 400
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.OPEN
    assert world.client(world.bob).post(settle, body).status_code == 303
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.OVERTURNED


def test_knowledge_stays_in_its_club(world: World) -> None:
    now = timezone.now()
    KnowledgeItem.objects.create(
        chain=world.chain,
        club=world.xinyi,
        kind="product",
        title="信義月費方案",
        body="單館月費 1,688 元",
        updated_at=now,
    )
    KnowledgeItem.objects.create(
        chain=world.chain,
        club=None,
        kind="announcement",
        title="年終續約優惠",
        body="續約一年送兩個月",
        updated_at=now,
    )
    mine = world.client(world.alice).get("/knowledge/?q=月費").content.decode()
    theirs = world.client(world.charlie).get("/knowledge/?q=月費").content.decode()
    assert "信義月費方案" in mine and "信義月費方案" not in theirs
    assert "年終續約優惠" in world.client(world.charlie).get("/knowledge/").content.decode()
    item = KnowledgeItem.objects.get(club=world.xinyi)
    edit = {"kind": "news", "title": "x", "body": "y"}
    assert world.client(world.charlie).post(f"/knowledge/{item.pk}/", edit).status_code == 403
    assert world.client(world.alice).post(f"/knowledge/{item.pk}/", edit).status_code == 403
    item.refresh_from_db()
    assert item.title == "信義月費方案"
    assert world.client(world.bob).post(f"/knowledge/{item.pk}/", edit).status_code == 303
    item.refresh_from_db()
    assert item.title == "x"


def test_tasks_are_dialled_only_in_their_club(world: World, t0: datetime) -> None:
    task = Task.objects.create(
        club=world.xinyi, kind="callback", due=t0, phone="0912", created_at=t0
    )
    assert world.client(world.charlie).post(f"/tasks/{task.pk}/dial/").status_code == 404
    response = world.client(world.alice).post(f"/tasks/{task.pk}/dial/")
    assert response.status_code == 303
    task.refresh_from_db()
    assert task.done_at is not None and task.done_call.clerk == world.alice


def test_logged_out_visitors_are_sent_to_log_in(db: None) -> None:
    client = Client()
    response = client.get("/desk/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    page = client.get("/login/").content.decode()
    assert "登入" in page and 'lang="zh-Hant"' in page


def test_an_account_that_is_no_member_of_staff_reads_nothing(world: World, ended: Call) -> None:
    """A log-in account with no staff member (an admin made by hand) is
    refused every desk page; a clerk logged in the same way is not."""
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.create_user(username="admin-only", password="x" * 12))
    for path in ("/desk/", "/desk/ringing/", "/desk/due/", *_pages(ended)):
        assert client.get(path).status_code == 403, path
    assert world.client(world.alice).get("/desk/ringing/").status_code == 200
