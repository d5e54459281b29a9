"""Graded means kept: an ended call's details, note and transcript change only
by an amendment, beside the original, rescored as a new version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from callsop.desk.models import Amendment, Call, Complaint, Dispute, Scorecard, Task
from callsop.desk.services import calls as svc
from callsop.desk.services import inbox
from callsop.desk.services.amendments import call_amend_details
from callsop.desk.services.errors import ActionError
from callsop.desk.services.scoring import dispute_raise
from tests.desk.conftest import World

NOTE = {
    "note_when": "週六上午",
    "note_who": "王大明",
    "note_where": "信義會館",
    "note_what": "詢問體驗課",
    "note_why": "想試上瑜伽",
    "note_how": "回電告知時段",
}
VTT = """WEBVTT

00:00:05.000 --> 00:00:08.000
<v staff>您好，信義會館，我是怡君。

00:00:08.500 --> 00:00:11.000
<v customer>你好，我想問一下瑜伽課的時間。
"""
VTT_AGAIN = (
    VTT
    + """
00:00:50.000 --> 00:00:53.000
<v staff>歡迎您到會館來做客，再見！
"""
)

EndedCall = Callable[..., Any]


def _verdict(findings: list[dict[str, Any]], rule: str) -> str:
    return next(f["verdict"] for f in findings if f["rule"] == rule)


def _card(call: Call) -> Scorecard:
    return Scorecard.objects.get(call=call)


def _amend(world: World, who: Any, call: Call, **fields: str) -> Any:
    return world.client(who).post(f"/calls/{call.pk}/details/", {"amend": "1", **fields})


def test_the_finding_replayed_another_clerk_cannot_rewrite_a_graded_call(
    world: World, ended_call: EndedCall
) -> None:
    call = ended_call()
    before = _card(call)
    assert _verdict(before.findings, "note.five-w-one-h") == "fail"
    # The as-you-type save, as the finding posted it: refused for everyone
    # once ended and past the wrap-up (the call ended four minutes ago).
    for who in (world.dora, world.alice, world.bob):
        plain = world.client(who).post(f"/calls/{call.pk}/details/", NOTE)
        assert plain.status_code == 409, who.name
        assert "已鎖定" in plain.content.decode() and plain["X-Callsop-Refused"]
    # Another clerk of the club, even as an amendment with a reason.
    other = _amend(world, world.dora, call, reason="補上記事", **NOTE)
    assert other.status_code == 400
    assert "只有接聽這通電話的館員或本館館長" in other.content.decode()
    fresh = Call.objects.get(pk=call.pk)
    assert fresh.note_what == "" and fresh.note_who == ""
    assert not Amendment.objects.exists()
    card = _card(call)
    assert (card.score, card.findings, card.version) == (before.score, before.findings, 0)


def test_the_own_clerk_amends_and_the_original_grade_stays(
    world: World, ended_call: EndedCall
) -> None:
    call = ended_call()
    original = _card(call)
    response = _amend(world, world.alice, call, reason="通話中漏記，已向客戶確認", **NOTE)
    assert response.status_code == 303 and response["Location"].endswith("#amendments")
    amendment = Amendment.objects.get(call=call)
    assert amendment.number == 1 and amendment.by == world.alice
    assert amendment.kind == Amendment.Kind.DETAILS
    assert amendment.reason == "通話中漏記，已向客戶確認"
    assert amendment.before["note_what"] == "" and amendment.after["note_what"] == "詢問體驗課"
    # The original card, as graded, is kept in the amendment.
    assert amendment.score_before == original.score
    assert amendment.findings_before == original.findings
    assert _verdict(amendment.findings_before, "note.five-w-one-h") == "fail"
    # The new version is scored.
    card = _card(call)
    assert card.version == 1
    assert _verdict(card.findings, "note.five-w-one-h") == "pass"
    assert card.score is not None and original.score is not None and card.score > original.score
    assert amendment.score_after == card.score and amendment.rescored
    fresh = Call.objects.get(pk=call.pk)
    assert fresh.note_what == "詢問體驗課"
    page = world.client(world.dora).get(f"/calls/{call.pk}/").content.decode()
    assert "補充說明" in page and "原始評分" in page and "補充後評分" in page
    assert "通話中漏記，已向客戶確認" in page and world.alice.name in page
    assert f"{original.score:.1f}" in page and f"{card.score:.1f}" in page
    assert "5W1H 記錄完整" in page  # the verdict it changed, named


def test_a_reason_is_required_and_nothing_is_half_stored(
    world: World, ended_call: EndedCall
) -> None:
    call = ended_call()
    for reason in ("", "   "):
        response = _amend(world, world.alice, call, reason=reason, **NOTE)
        body = response.content.decode()
        assert response.status_code == 400 and "請寫下補充的理由" in body
        # The form stays open with what was typed, to fix and send again.
        assert '<details class="action" id="amend" open>' in body and 'value="週六上午"' in body
    too_long = _amend(world, world.alice, call, reason="理" * 201, **NOTE)
    assert too_long.status_code == 400 and "補充理由" in too_long.content.decode()
    long_field = _amend(world, world.alice, call, reason="更正", note_what="事" * 501)
    assert long_field.status_code == 400 and "「何事」太長" in long_field.content.decode()
    same = _amend(world, world.alice, call, reason="更正", note_what="")
    assert same.status_code == 400 and "沒有需要更正" in same.content.decode()
    assert not Amendment.objects.exists()
    assert Call.objects.get(pk=call.pk).note_what == ""
    assert _card(call).version == 0


def test_the_manager_may_amend(world: World, ended_call: EndedCall) -> None:
    call = ended_call()
    response = _amend(
        world, world.bob, call, reason="客戶來電更正電話", caller_phone="0922-000-111"
    )
    assert response.status_code == 303
    amendment = Amendment.objects.get(call=call)
    assert amendment.by == world.bob
    fresh = Call.objects.get(pk=call.pk)
    assert fresh.caller_phone == "0922-000-111" and fresh.phone_key == "922000111"
    assert amendment.before["caller_phone"] == "0912-345-678"
    # Head office and other clubs cannot amend.
    assert _amend(world, world.charlie, call, reason="x", note_what="y").status_code == 404
    with pytest.raises(ActionError):
        call_amend_details(call=call, staff=world.hq, data={"note_what": "y"}, reason="x")
    assert Amendment.objects.filter(call=call).count() == 1


def test_a_live_call_keeps_its_autosave_and_takes_no_amendment(world: World) -> None:
    call = svc.call_ring(club=world.xinyi, phone="0912")
    svc.call_answer(call=call, clerk=world.alice)
    client = world.client(world.alice)
    saved = client.post(f"/calls/{call.pk}/details/", {"note_what": "詢問"}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200 and "已儲存" in saved.content.decode()
    with pytest.raises(ActionError, match="通話還在進行中"):
        call_amend_details(call=call, staff=world.alice, data={"note_what": "x"}, reason="r")
    assert Call.objects.get(pk=call.pk).note_what == "詢問"
    assert not Amendment.objects.exists()


def test_the_record_carries_the_original_and_its_amendments(
    world: World, ended_call: EndedCall
) -> None:
    call = ended_call()
    original_score = _card(call).score
    _amend(world, world.alice, call, reason="漏記", **NOTE)
    _amend(world, world.bob, call, reason="更正姓名", caller_name="王小明")
    record = world.client(world.alice).get(f"/calls/{call.pk}/record.json").json()
    assert "note" not in record  # as the call ended: no note
    assert record["customer"]["phone"] == "0912-345-678"
    first, second = record["amendments"]
    assert first["version"] == 1 and first["reason"] == "漏記"
    assert first["by"] == {"id": str(world.alice.pk), "name": world.alice.name}
    assert first["replaces"] == {"note": {**{k[5:]: v for k, v in NOTE.items()}, "urgent": False}}
    assert first["score"]["before"] == original_score
    assert first["score"]["after"] is not None and first["score"]["after"] > original_score
    assert second["version"] == 2 and set(second["replaces"]) == {"customer"}
    assert second["replaces"]["customer"]["name"] == "王小明"
    assert _card(call).version == 2


def test_a_transcript_is_replaced_only_as_an_amendment(world: World, ended_call: EndedCall) -> None:
    call = ended_call()

    def upload(who: Any, text: str, **fields: str) -> Any:
        file = SimpleUploadedFile("call.vtt", text.encode(), content_type="text/vtt")
        return world.client(who).post(
            f"/calls/{call.pk}/transcript/", {"transcript": file, **fields}
        )

    # The first transcript completes a call that had none.
    assert upload(world.alice, VTT).status_code == 303
    first = Amendment.objects.get(call=call)
    assert first.kind == Amendment.Kind.TRANSCRIPT and first.before["utterances"] == []
    assert len(first.after["utterances"]) == 2 and _card(call).version == 1
    # Replacing it needs a reason, and only its clerk or the manager.
    no_reason = upload(world.alice, VTT_AGAIN)
    assert no_reason.status_code == 400 and "請寫下補充的理由" in no_reason.content.decode()
    assert upload(world.dora, VTT_AGAIN, reason="更正").status_code == 400
    assert len(Call.objects.get(pk=call.pk).utterances) == 2
    assert upload(world.alice, VTT_AGAIN, reason="補上道別").status_code == 303
    second = Amendment.objects.get(call=call, number=2)
    assert len(second.before["utterances"]) == 2 and len(second.after["utterances"]) == 3
    assert second.score_before == first.score_after
    card = _card(call)
    assert card.version == 2 and second.score_after == card.score
    assert _verdict(card.findings, "close.farewell") == "pass"
    assert _verdict(first.findings_after or [], "close.farewell") != "pass"
    record = world.client(world.bob).get(f"/calls/{call.pk}/record.json").json()
    assert "utterances" not in record or record["utterances"] == []
    assert [len(a["replaces"]["utterances"]) for a in record["amendments"]] == [2, 3]


def test_disputes_stay_with_the_call_across_versions(world: World, ended_call: EndedCall) -> None:
    call = ended_call()
    dispute = dispute_raise(
        call=Call.objects.get(pk=call.pk),
        clerk=world.alice,
        rule="note.five-w-one-h",
        comment="客戶趕時間，事後補記",
    )
    _amend(world, world.alice, call, reason="補記", **NOTE)
    assert Dispute.objects.get(pk=dispute.pk).state == Dispute.State.OPEN
    page = world.client(world.bob).get(f"/calls/{call.pk}/").content.decode()
    assert "申訴紀錄" in page and "客戶趕時間，事後補記" in page and "原始評分）" in page


def test_an_amendment_not_yet_scored_is_scored_when_the_card_is_read(
    world: World, ended_call: EndedCall
) -> None:
    call = ended_call()
    _amend(world, world.alice, call, reason="漏記", **NOTE)
    # As if the server stopped between keeping the amendment and scoring it.
    Scorecard.objects.filter(call=call).update(version=0)
    Amendment.objects.filter(call=call).update(score_after=None, scored_after_at=None)
    assert world.client(world.alice).get(f"/calls/{call.pk}/").status_code == 200
    assert _card(call).version == 1 and Amendment.objects.get(call=call).rescored


def test_memos_and_escalations_on_an_ended_call_leave_its_details(
    world: World, ended_call: EndedCall
) -> None:
    call = ended_call(phone="")
    svc.memo_take(
        call=call,
        taken_by=world.alice,
        for_staff=world.dora,
        from_name="林小姐",
        phone="0933",
        message="請回電",
    )
    svc.call_escalate(call=call, reason="客戶很急")
    fresh = Call.objects.get(pk=call.pk)
    assert fresh.caller_name == "" and fresh.caller_phone == "" and not fresh.note_urgent


# Who closes a club's tasks and complaints -----------------------------------


def test_any_clerk_of_the_club_closes_its_tasks(world: World, ended_call: EndedCall) -> None:
    from django.utils import timezone

    call = ended_call()
    now = timezone.now()
    task = Task.objects.create(
        club=world.xinyi, call=call, kind="callback", due=now, assignee=world.alice, created_at=now
    )
    for outsider in (world.charlie, world.hq):
        with pytest.raises(ActionError):
            inbox.task_done(task=task, staff=outsider)
    assert Task.objects.get(pk=task.pk).done_at is None
    inbox.task_done(task=task, staff=world.dora)  # not the assignee: still the club's work
    assert Task.objects.get(pk=task.pk).done_at is not None


def test_a_complaint_is_closed_by_who_logged_it_or_the_manager(
    world: World, ended_call: EndedCall
) -> None:
    call = ended_call()
    complaint = svc.complaint_log(call=call, clerk=world.alice, summary="教練遲到")
    with pytest.raises(ActionError, match="記錄的館員或館長"):
        inbox.complaint_follow_up(
            complaint=complaint, state="closed", follow_up="已致歉", staff=world.dora
        )
    assert Complaint.objects.get(pk=complaint.pk).state == "open"
    # Any clerk of the club may follow it up.
    inbox.complaint_follow_up(
        complaint=complaint, state="following", follow_up="已聯絡教練", staff=world.dora
    )
    assert Complaint.objects.get(pk=complaint.pk).state == "following"
    with pytest.raises(ActionError):
        inbox.complaint_follow_up(
            complaint=complaint, state="following", follow_up="x", staff=world.charlie
        )
    inbox.complaint_follow_up(
        complaint=complaint, state="closed", follow_up="已致歉並補課", staff=world.alice
    )
    closed = Complaint.objects.get(pk=complaint.pk)
    assert closed.state == "closed" and closed.closed_at is not None
    # Opened again: again only the one who logged it or the manager.
    with pytest.raises(ActionError):
        inbox.complaint_follow_up(
            complaint=closed, state="following", follow_up="再追蹤", staff=world.dora
        )
    inbox.complaint_follow_up(
        complaint=closed, state="following", follow_up="再追蹤", staff=world.bob
    )
    assert Complaint.objects.get(pk=complaint.pk).state == "following"


def test_the_rescoring_runs_after_the_amendments_write_transaction(
    transactional_db: None, world: World, ended_call: EndedCall
) -> None:
    """The amendment is written and committed first; the engine's reads run
    outside any transaction (and the SQLite writer lock), and only the
    cards are saved in a short one."""
    from django.db import connection

    call = ended_call()
    log: list[tuple[str, bool]] = []

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        log.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        call_amend_details(call=call, staff=world.alice, data=NOTE, reason="漏記")
    stored = [i for i, (sql, _) in enumerate(log) if sql.startswith('INSERT INTO "desk_amendment"')]
    assert len(stored) == 1 and log[stored[0]][1]
    reads = [i for i, (sql, _) in enumerate(log) if 'FROM "desk_callevent"' in sql]
    assert reads and all(i > stored[0] and not log[i][1] for i in reads)
    saves = [i for i, (sql, _) in enumerate(log) if sql.startswith('UPDATE "desk_scorecard"')]
    assert saves and all(i > max(reads) and log[i][1] for i in saves)
    assert Scorecard.objects.get(call=call).version == 1


def test_a_complaints_follow_ups_are_all_kept(world: World, ended_call: EndedCall) -> None:
    """The clerk writes a follow-up, the manager later closes it with their
    own: the clerk's text is still there, each with who, when and state."""
    call = ended_call()
    complaint = svc.complaint_log(call=call, clerk=world.alice, summary="淋浴間沒熱水")
    clerk, manager = world.client(world.alice), world.client(world.bob)
    url = f"/complaints/{complaint.pk}/"
    clerk.post(url, {"state": "following", "follow_up": "已通知工務檢查熱水器"})
    clerk.post(url, {"state": "following", "follow_up": "已通知工務檢查熱水器"})  # sent again
    manager.post(url, {"state": "closed", "follow_up": "館長已回電致歉"})
    notes = list(Complaint.objects.get(pk=complaint.pk).notes.all())
    assert [(n.by, n.state, n.text) for n in notes] == [
        (world.alice, "following", "已通知工務檢查熱水器"),
        (world.bob, "closed", "館長已回電致歉"),
    ]
    page = manager.get("/inbox/").content.decode()
    assert "已通知工務檢查熱水器" in page and "館長已回電致歉" in page
    assert world.alice.name in page[page.index("已通知工務檢查熱水器") - 200 :][:400]
