"""Bad input anywhere the desk or the webhook reads it: a clear refusal
naming the field, and nothing stored, on SQLite as on PostgreSQL."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import unquote

import pytest
from django.http import HttpResponse
from django.test import Client

from callsop.desk.models import (
    Call,
    ClubLine,
    Complaint,
    Escalation,
    KnowledgeItem,
    Memo,
    PbxEvent,
    Task,
)
from callsop.desk.services import calls as svc
from callsop.desk.services import outbound as out
from callsop.desk.services.telephony import pbx_events_store
from callsop.telephony import webhook
from callsop.telephony.dialogs import CallEvent
from tests.desk.conftest import World
from tests.desk.test_outbound import PLAN

HX = {"HTTP_HX_REQUEST": "true"}
NUL = "\x00"
MEGABYTE = "9" * 1_000_000


def _refusal(response: HttpResponse) -> str:
    """The message a refused request carries to the page."""
    header = response.headers.get("X-Callsop-Refused")
    return unquote(header) if header else response.content.decode()


def _talking(world: World) -> Call:
    call = svc.call_ring(club=world.xinyi, phone="0912345678")
    return svc.call_answer(call=call, clerk=world.alice)


# The call screen -------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "says"),
    [("0" * 31, "電話太長：31 字（最多 30 字）"), (MEGABYTE, "電話太長"), ("09" + NUL, "控制字元")],
)
def test_a_new_call_with_a_bad_phone_is_refused(world: World, phone: str, says: str) -> None:
    response = world.client(world.alice).post("/calls/new-incoming/", {"phone": phone}, **HX)
    assert response.status_code == 400
    assert says in _refusal(response)
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("caller_phone", "0" * 31, "電話太長：31 字（最多 30 字）"),
        ("caller_phone", MEGABYTE, "電話太長"),
        ("caller_name", "林" * 51, "姓名太長：51 字（最多 50 字）"),
        ("caller_name", "林" + NUL, "姓名含有不允許的控制字元"),
        ("note_what", "事" * 501, "何事太長"),
        ("plan_outline", "要" * 5001, "談話要點太長"),
        ("plan_time_budget_min", "²", "預計通話分鐘須是數字"),
        ("plan_time_budget_min", "1000000", "預計通話分鐘超出範圍"),
    ],
)
def test_the_caller_form_refuses_what_it_cannot_keep(
    world: World, field: str, value: str, says: str
) -> None:
    call = _talking(world)
    before = {f: getattr(call, f) for f in ("caller_phone", "caller_name", "note_what")}
    response = world.client(world.alice).post(
        f"/calls/{call.pk}/details/", {field: value, "note_who": "林小姐"}, **HX
    )
    assert response.status_code == 400
    assert says in _refusal(response)
    call.refresh_from_db()
    assert {f: getattr(call, f) for f in before} == before
    assert call.note_who == ""  # nothing of the refused save is kept


def test_a_caller_form_at_its_limits_is_kept(world: World) -> None:
    call = _talking(world)
    response = world.client(world.alice).post(
        f"/calls/{call.pk}/details/",
        {"caller_phone": "0" * 30, "caller_name": "林" * 50, "note_what": "多行\n說明"},
        **HX,
    )
    assert response.status_code == 200
    call.refresh_from_db()
    assert (call.caller_phone, call.caller_name, call.note_what) == (
        "0" * 30,
        "林" * 50,
        "多行\n說明",
    )


MEMO = {"from_name": "林小姐", "phone": "0912345678", "message": "請回電", "from_org": ""}


@pytest.mark.parametrize(
    ("action", "post", "says", "model"),
    [
        ("memo", {"from_name": "林" * 51}, "來電者姓名太長：51 字（最多 50 字）", Memo),
        ("memo", {"phone": "0" * 31}, "回電號碼太長", Memo),
        ("memo", {"message": MEGABYTE}, "留言內容太長", Memo),
        ("memo", {"message": "請" + NUL}, "控制字元", Memo),
        ("complaint", {"summary": "不" * 5001}, "投訴內容太長", Complaint),
        ("complaint", {"summary": "不滿" + NUL}, "控制字元", Complaint),
        ("escalate", {"reason": "急" + NUL}, "控制字元", Escalation),
        ("escalate", {"reason": "急" * 5001}, "通報原因太長", Escalation),
    ],
)
def test_a_call_action_with_a_bad_field_stores_nothing(
    world: World, action: str, post: dict[str, str], says: str, model: Any
) -> None:
    call = _talking(world)
    data = {**MEMO, "for_staff": str(world.bob.pk), "summary": "x", "reason": "x", **post}
    response = world.client(world.alice).post(f"/calls/{call.pk}/{action}/", data, **HX)
    assert response.status_code in (200, 400)
    assert says in _refusal(response)
    assert not model.objects.exists()


def test_a_transfer_with_a_bad_summary_is_refused(world: World) -> None:
    call = _talking(world)
    response = world.client(world.alice).post(
        f"/calls/{call.pk}/transfer/", {"to": str(world.bob.pk), "summary": "轉" + NUL}, **HX
    )
    assert "控制字元" in _refusal(response)
    call.refresh_from_db()
    assert call.is_live and not call.events.filter(type="transfer").exists()


@pytest.mark.parametrize(
    "moment",
    ["2026-02-30T10:00", "2026-12-01T10:00+25:00", "0001-01-01T10:00", "9999-12-31T10:00", "明天"],
)
def test_a_callback_time_that_does_not_exist_is_refused(world: World, moment: str) -> None:
    call = out.outbound_answered(
        call=out.outbound_dial(
            call=out.outbound_plan(club=world.xinyi, clerk=world.alice, data=PLAN)
        )
    )
    response = world.client(world.alice).post(
        f"/calls/{call.pk}/absent/", {"message": "請回電", "callback_at": moment}, **HX
    )
    assert "回電時間" in _refusal(response)
    assert not Task.objects.exists()
    call.refresh_from_db()
    assert call.is_live


# Knowledge, the inbox, presence ----------------------------------------------------


@pytest.mark.parametrize(
    ("post", "says"),
    [
        ({"title": "標" * 201}, "標題太長：201 字（最多 200 字）"),
        ({"title": "標題" + NUL}, "控制字元"),
        ({"body": "內" * 20001}, "內容太長"),
    ],
)
def test_knowledge_with_a_bad_field_is_refused(
    world: World, post: dict[str, str], says: str
) -> None:
    data = {
        "kind": KnowledgeItem.Kind.values[0],
        "title": "營業時間",
        "body": "每日 6-23 點",
        **post,
    }
    response = world.client(world.bob).post("/knowledge/new/", data, **HX)
    assert response.status_code == 400
    assert says in _refusal(response)
    assert not KnowledgeItem.objects.exists()


@pytest.mark.parametrize(("q", "says"), [("營業" + NUL, "控制字元"), ("營" * 101, "搜尋太長")])
def test_a_bad_knowledge_search_is_refused(world: World, q: str, says: str) -> None:
    response = world.client(world.alice).get("/knowledge/", {"q": q})
    assert response.status_code == 400
    assert says in _refusal(response)


def test_a_complaint_follow_up_too_long_is_refused(world: World) -> None:
    call = _talking(world)
    complaint = svc.complaint_log(call=call, clerk=world.alice, summary="等太久")
    response = world.client(world.bob).post(
        f"/complaints/{complaint.pk}/", {"state": "closed", "follow_up": "處" * 5001}, **HX
    )
    assert response.status_code == 400
    assert "後續處理太長" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.state == Complaint.State.OPEN and complaint.follow_up == ""


def test_a_presence_note_with_a_nul_is_refused(world: World) -> None:
    response = world.client(world.alice).post(
        "/desk/presence/", {"presence": "out", "note": "午" + NUL}, **HX
    )
    assert response.status_code == 400 and "控制字元" in _refusal(response)
    world.alice.refresh_from_db()
    assert world.alice.presence == "in"


# The call list and the dashboard -----------------------------------------------

BAD_PARAMS = [
    ("club=²", "會館"),
    ("clerk=⑦", "人員"),
    ("days=²", "期間"),
    ("days=1000000", "期間"),
    ("end=0001-01-01", "結束日期超出範圍"),
    ("end=9999-12-31", "結束日期超出範圍"),
    ("start=0001-01-01", "開始日期超出範圍"),
    ("name=%00", "控制字元"),
    ("phone=09%00", "控制字元"),
]


@pytest.mark.parametrize(("query", "says"), BAD_PARAMS)
def test_a_bad_call_list_parameter_is_named(world: World, query: str, says: str) -> None:
    response = world.client(world.bob).get(f"/calls/?{query}")
    assert response.status_code == 400
    assert says in _refusal(response)


@pytest.mark.parametrize(
    ("query", "says"),
    [(q, s) for q, s in BAD_PARAMS if not q.startswith(("days", "phone", "name"))]
    + [("start=2026-01-01&end=2026-02-01&clerk=99999999999999999999", "人員超出範圍")],
)
@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard.csv"])
def test_a_bad_dashboard_parameter_is_named(world: World, path: str, query: str, says: str) -> None:
    response = world.client(world.bob).get(f"{path}?{query}")
    assert response.status_code == 400
    assert says in _refusal(response)
    assert not getattr(response, "streaming", False)  # refused before any row goes out


def test_a_dashboard_period_longer_than_ten_years_is_refused(world: World) -> None:
    response = world.client(world.bob).get("/dashboard.csv?start=2000-01-01&end=2100-12-31")
    assert response.status_code == 400 and "期間太長" in _refusal(response)
    ok = world.client(world.bob).get("/dashboard.csv?start=2026-01-01&end=2026-01-31")
    assert ok.status_code == 200
    assert b"".join(ok.streaming_content).decode().startswith("\ufeff通話編號")  # type: ignore[attr-defined]


# The webhook -----------------------------------------------------------------

LINE = "0227001234"


@pytest.fixture
def pushed(world: World, monkeypatch: pytest.MonkeyPatch) -> Any:
    ClubLine.objects.create(club=world.xinyi, number="227001234", kind="main")
    monkeypatch.setenv("CALLSOP_WEBHOOK_SECRET", "s3cret")

    def push(body: bytes) -> HttpResponse:
        signature = webhook.sign(body, b"s3cret", time.time())
        return Client().post(  # type: ignore[return-value]
            "/telephony/webhook/",
            body,
            content_type="application/json",
            HTTP_X_CALLSOP_SIGNATURE=signature,
        )

    return push


def _event(**fields: Any) -> dict[str, Any]:
    return {
        "call_id": "w1",
        "kind": "offered",
        "at": time.time(),
        "caller": "0912",
        "callee": LINE,
    } | fields


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"caller": "0" * 31}, "events[1].caller 太長：31 字（最多 30 字）"),
        ({"callee": "0" * 31}, "events[1].callee 太長"),
        ({"call_id": "c" * 201}, "events[1].call_id 太長"),
        ({"call_id": "w" + NUL}, "events[1].call_id 含有不允許的控制字元"),
        ({"call_id": "  "}, "events[1].call_id 不能是空的"),
        ({"at": 1e20}, "events[1].at 超出範圍"),
        ({"at": 1e11}, "events[1].at 超出範圍"),  # a year Python reads, past the desk's
        ({"at": -1e12}, "events[1].at 超出範圍"),
        ({"at": 1e300}, "events[1].at 超出範圍"),
    ],
)
def test_a_push_with_one_bad_event_stores_none_of_it(
    pushed: Any, fields: dict[str, Any], says: str
) -> None:
    body = json.dumps({"events": [_event(call_id="good"), _event(**fields)]}).encode()
    response = pushed(body)
    assert response.status_code == 400
    assert says in response.json()["error"]
    assert not PbxEvent.objects.exists() and not Call.objects.exists()


@pytest.mark.parametrize("at", [b"NaN", b"Infinity", b"1e400"])
def test_a_push_with_no_real_time_is_refused(pushed: Any, at: bytes) -> None:
    body = b'{"call_id": "w1", "kind": "offered", "caller": "0912", "at": ' + at + b"}"
    response = pushed(body)
    assert response.status_code == 400
    assert not PbxEvent.objects.exists()


def test_a_caller_at_the_limit_becomes_a_call(pushed: Any) -> None:
    response = pushed(json.dumps(_event(caller="0" * 30)).encode())
    assert response.status_code == 202 and response.json()["applied"] == 1
    assert Call.objects.get(external_id="w1").caller_phone == "0" * 30


def test_a_feed_leaves_out_an_event_the_desk_cannot_take(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    now = time.time()
    good = CallEvent("h1", "offered", now, "0912", LINE)
    long_caller = CallEvent("h2", "offered", now, "0" * 31, LINE)
    far_future = CallEvent("h3", "offered", 1e11, "0912", LINE)
    with caplog.at_level(logging.WARNING):
        stored = pbx_events_store(source="hep", events=[good, long_caller, far_future])
    assert stored == 1
    assert list(PbxEvent.objects.values_list("call_id", flat=True)) == ["h1"]
    assert "caller 太長" in caplog.text and "at 超出範圍" in caplog.text
