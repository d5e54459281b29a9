"""The scorecard page shows each finding's message in Traditional Chinese."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from django.utils import timezone

from callsop.desk.models import Call
from callsop.desk.services import calls as svc
from callsop.report.messages_zh import zh
from tests.desk.conftest import World

MESSAGE = re.compile(r'<span class="message" title="([^"]*)">([^<]*)</span>')


def _ended_call(world: World) -> Call:
    start = timezone.now() - timedelta(minutes=3)
    call = svc.call_ring(club=world.xinyi, phone="0912", now=start)
    svc.call_answer(call=call, clerk=world.alice, now=start + timedelta(seconds=4))
    svc.call_end(call=call, by="staff", now=start + timedelta(seconds=60))
    return call


def test_the_scorecard_shows_chinese_messages_with_the_english_as_title(world: World) -> None:
    call = _ended_call(world)
    page = world.client(world.alice).get(f"/calls/{call.pk}/").content.decode()
    shown = [(html.unescape(t), html.unescape(m)) for t, m in MESSAGE.findall(page)]
    assert len(shown) >= 20  # one per scored rule
    for english, chinese in shown:
        assert chinese == zh(english)
        assert not re.search(r"[A-Za-z]{3,}", chinese), english
    assert any(
        e.startswith("staff hung up first at") and c.startswith("館員先掛斷（第 ") for e, c in shown
    )
