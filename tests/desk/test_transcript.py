"""A recording's transcript added to a finished call, then scored on its words."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from callsop.desk.models import Call
from callsop.desk.services import calls as svc
from tests.desk.conftest import World

VTT = """WEBVTT

00:00:05.000 --> 00:00:08.000
<v staff>您好，信義會館，我是怡君。

00:00:08.500 --> 00:00:11.000
<v customer>你好，我想問一下瑜伽課的時間。

00:00:11.500 --> 00:00:13.000
<v staff>請問您貴姓？

00:00:50.000 --> 00:00:53.000
<v staff>歡迎您到會館來做客，再見！
"""


def _ended(world: World) -> Call:
    start = timezone.now() - timedelta(minutes=5)
    call = svc.call_ring(club=world.xinyi, phone="0912", now=start)
    svc.call_answer(call=call, clerk=world.alice, now=start + timedelta(seconds=4))
    return svc.call_end(by="customer", call=call, now=start + timedelta(seconds=60))


def _verdict(call: Call, rule: str) -> str:
    call.refresh_from_db()
    return next(f["verdict"] for f in call.scorecard.findings if f["rule"] == rule)


def test_a_transcript_is_scored_and_its_words_marked(world: World) -> None:
    call = _ended(world)
    assert _verdict(call, "inbound.greeting-with-club-name") == "na"
    upload = SimpleUploadedFile("call.vtt", VTT.encode(), content_type="text/vtt")
    response = world.client(world.alice).post(
        f"/calls/{call.pk}/transcript/", {"transcript": upload}
    )
    assert response.status_code == 303
    assert len(Call.objects.get(pk=call.pk).utterances) == 4
    assert _verdict(call, "inbound.greeting-with-club-name") == "pass"
    assert _verdict(call, "close.farewell") == "pass"
    page = world.client(world.bob).get(f"/calls/{call.pk}/").content.decode()
    assert "<mark>" in page and "逐字稿" in page


def test_a_bad_transcript_is_refused_by_line_and_nothing_kept(world: World) -> None:
    call = _ended(world)
    bad = VTT.replace("00:00:08.500 --> 00:00:11.000", "00:00:08.500 -> 00:00:11.000")
    upload = SimpleUploadedFile("call.vtt", bad.encode(), content_type="text/vtt")
    response = world.client(world.alice).post(
        f"/calls/{call.pk}/transcript/", {"transcript": upload}
    )
    body = response.content.decode()
    assert response.status_code == 400 and "call.vtt" in body
    assert Call.objects.get(pk=call.pk).utterances == []
    empty = world.client(world.alice).post(f"/calls/{call.pk}/transcript/", {})
    assert empty.status_code == 400 and "請選擇逐字稿檔案" in empty.content.decode()


def test_only_the_clerk_or_the_manager_attaches(world: World) -> None:
    call = _ended(world)
    for person, status in ((world.charlie, 404), (world.dora, 400), (world.hq, 403)):
        upload = SimpleUploadedFile("call.vtt", VTT.encode())
        response = world.client(person).post(
            f"/calls/{call.pk}/transcript/", {"transcript": upload}
        )
        assert response.status_code == status, person.name
    assert Call.objects.get(pk=call.pk).utterances == []
