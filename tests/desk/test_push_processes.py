"""The push channel across processes: a call rung through one `callsop
serve` (the webhook) is pushed, within a second, to a desk's stream served by
another. On PostgreSQL the first server is two processes (gunicorn with
uvicorn workers) and the hint goes by LISTEN/NOTIFY; on SQLite, two
single-process servers share the data folder's hint file."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from callsop.desk.models import ClubLine
from callsop.telephony import webhook
from tests.desk.conftest import World, _database_url
from tests.desk.test_processes import LINE, WEBHOOK_SECRET, _env, _serving


def _open_stream(
    port: int, session: str
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/desk/push/", headers={"Cookie": f"sessionid={session}"})
    answer = conn.getresponse()
    assert answer.status == 200
    assert answer.getheader("Content-Type", "").startswith("text/event-stream")
    return conn, answer


def _next_event(answer: http.client.HTTPResponse) -> tuple[str, dict[str, object]]:
    """The next event's name and data, comments (keep-alives) skipped."""
    name, data = "", ""
    while True:
        line = answer.readline().decode()
        assert line, "the stream ended"
        line = line.rstrip("\n")
        if line == "":
            if name:
                return name, json.loads(data)
            continue
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            data = line[len("data: ") :]


@pytest.mark.django_db(transaction=True)
def test_a_call_rung_through_one_process_is_pushed_to_a_stream_of_another(
    world: World, tmp_path: Path
) -> None:
    ClubLine.objects.create(club=world.xinyi, number="227001234", kind="main")
    alice, charlie = Client(), Client()
    alice.force_login(world.alice.user)
    charlie.force_login(world.charlie.user)
    env = _env(tmp_path, _database_url())
    first_args = ("--workers", "2") if connection.vendor == "postgresql" else ()
    with _serving(env, *first_args) as (one, _), _serving(env) as (other, _):
        conn, stream = _open_stream(other, alice.cookies["sessionid"].value)
        other_conn, other_stream = _open_stream(other, charlie.cookies["sessionid"].value)
        assert _next_event(stream) == ("hello", {"clubs": [world.xinyi.pk]})
        assert _next_event(other_stream)[0] == "hello"
        body = json.dumps(
            {
                "events": [
                    {
                        "call_id": "pushed-1",
                        "kind": "ringing",
                        "at": time.time(),
                        "caller": "0912000111",
                        "callee": LINE,
                    }
                ]
            }
        ).encode()
        post = http.client.HTTPConnection("127.0.0.1", one, timeout=30)
        post.request(
            "POST",
            "/telephony/webhook/",
            body=body,
            headers={
                "Content-Type": "application/json",
                webhook.HEADER: webhook.sign(body, WEBHOOK_SECRET.encode(), time.time()),
            },
        )
        assert post.getresponse().status == 202
        applied = time.monotonic()
        assert _next_event(stream) == ("ringing", {"club": world.xinyi.pk, "topic": "ringing"})
        took = time.monotonic() - applied
        assert took < 1.0, f"the hint took {took:.2f} s to reach the other process's stream"
        # Charlie's club heard nothing: his stream's next line is no event.
        other_conn.sock.settimeout(1.5)  # type: ignore[union-attr]
        with pytest.raises(TimeoutError):
            _next_event(other_stream)
        conn.close()
        other_conn.close()
