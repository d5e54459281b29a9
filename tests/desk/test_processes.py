"""Several app processes on one database, the health check, the request log."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client, override_settings

from callsop.desk.models import ClubLine
from callsop.desk.services.telephony import pbx_event_store
from callsop.desk.tasks import hear_recording
from callsop.telephony import webhook
from callsop.telephony.dialogs import CallEvent
from tests.desk.conftest import World, _database_url, wait_for

KEY = "callsop-test-only-key-not-for-any-real-desk"
WEBHOOK_SECRET = "processes-test-webhook-secret"
LINE = "0227001234"


# /healthz ---------------------------------------------------------------------


def test_healthz_counts_the_queue_and_the_pbx_backlog_without_a_log_in(world: World) -> None:
    client = Client()
    first = client.get("/healthz")
    assert first.status_code == 200
    assert {k: v for k, v in first.json().items() if k != "push"} == {
        "database": "ok",
        "queue_depth": 0,
        "oldest_ready_s": 0.0,
        "workers_seen": 0,
        "pbx_backlog": 0,
    }
    # How the push hints travel, said before the first desk opens a stream.
    expected = "notify" if connection.vendor == "postgresql" else "file"
    assert first.json()["push"]["transport"] == expected
    assert "no-cache" in first["Cache-Control"]
    assert "sessionid" not in first.cookies
    pbx_event_store(source="webhook", event=CallEvent("h1", "ringing", time.time(), "0912", LINE))
    hear_recording.enqueue(recording_id=1)
    hear_recording.enqueue(recording_id=2)
    second = client.get("/healthz").json()
    second.pop("push", None)
    assert second.pop("oldest_ready_s") >= 0
    assert second == {"database": "ok", "queue_depth": 2, "workers_seen": 0, "pbx_backlog": 1}
    assert client.post("/healthz").status_code == 405


def test_healthz_answers_503_when_the_database_does_not(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(connection, "cursor", down)
        answer = Client().get("/healthz")
    assert answer.status_code == 503
    assert {k: v for k, v in answer.json().items() if k != "push"} == {
        "database": "error",
        "queue_depth": None,
        "oldest_ready_s": None,
        "workers_seen": None,
        "pbx_backlog": None,
    }


def test_healthz_is_served_over_plain_http_when_the_rest_is_redirected(world: World) -> None:
    with override_settings(SECURE_SSL_REDIRECT=True):
        client = Client()
        assert client.get("/healthz").status_code == 200
        login = client.get("/login/")
        assert login.status_code == 301 and login["Location"].startswith("https://")
        assert client.get("/healthz/").status_code == 301  # only the probe's own path is exempt
    assert settings.SECURE_REDIRECT_EXEMPT == [r"^healthz$"]


# One line per request -----------------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_each_request_is_one_line_without_its_query_string(world: World) -> None:
    logger = logging.getLogger("callsop.requests")
    assert logger.getEffectiveLevel() == logging.INFO
    assert logger.propagate is False  # apart from the warnings' handler
    assert any(type(h) is logging.StreamHandler for h in logger.handlers)  # on stderr
    caught = _Lines()
    logger.addHandler(caught)
    client = Client()
    try:
        client.get("/healthz?token=s3cret-in-the-link")
        client.force_login(world.alice.user)
        client.get("/desk/ringing/?since=1", HTTP_HX_REQUEST="true")
        client.get("/calls/%0Anot-a-call/")
    finally:
        logger.removeHandler(caught)
    lines = caught.lines
    assert len(lines) == 3
    assert re.fullmatch(r"GET /healthz 200 \d+\.\dms cpu=\d+\.\dms user=-", lines[0])
    assert re.fullmatch(
        rf"GET /desk/ringing/ 200 \d+\.\dms cpu=\d+\.\dms user={world.alice.user.pk}", lines[1]
    )
    assert re.fullmatch(r"GET /calls/%0Anot-a-call/ 404 \d+\.\dms cpu=\d+\.\dms user=\d+", lines[2])
    assert not any("s3cret" in x or "since" in x for x in lines)


# Several processes ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALLSOP_", "DJANGO_", "DATABASE_URL"))
    }
    env |= {
        "CALLSOP_DATA_DIR": str(data_dir),
        "CALLSOP_SECRET_KEY": KEY,
        "CALLSOP_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _get(url: str, *, session: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"HX-Request": "true"})
    if session:
        request.add_header("Cookie", f"sessionid={session}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _answers(port: int) -> bool:
    try:
        return _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    except OSError:
        return False


@contextmanager
def _serving(env: dict[str, str], *args: str) -> Iterator[tuple[int, list[str]]]:
    """`callsop serve` on a free port until the block ends; its stderr lines
    (complete once the block has ended) in the list."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "callsop", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        up = wait_for(lambda: _answers(port) or process.poll() is not None, 90)
        assert up and process.poll() is None, "callsop serve did not start"
        yield port, lines
    finally:
        process.terminate()
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        lines.extend(err.splitlines())


def _refused(env: dict[str, str], *args: str) -> str:
    """What `callsop serve ARGS` says as it refuses to start (status 2)."""
    result = subprocess.run(
        [sys.executable, "-m", "callsop", "serve", *args, "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "callsop desk: http" not in result.stderr  # refused before serving anything
    return result.stderr


def test_several_processes_on_sqlite_a_weak_key_or_no_threads_are_refused(tmp_path: Path) -> None:
    env = _env(tmp_path, None)
    assert "--workers 2 needs PostgreSQL" in _refused(env, "--workers", "2")
    short_key = env | {"CALLSOP_SECRET_KEY": "short"}
    assert "CALLSOP_SECRET_KEY is too short" in _refused(short_key, "--workers", "2")
    assert "--threads 0: give a number above 0" in _refused(env, "--threads", "0")


def test_a_client_sending_its_form_slowly_holds_no_request_thread(tmp_path: Path) -> None:
    """With one request thread, two log-in forms sent a byte at a time still
    leave the desk answering others at once: the server reads a body before
    a thread takes the request. The slow forms are answered when complete."""
    with _serving(_env(tmp_path, None), "--threads", "1") as (port, _):
        form = b"username=nobody&password=wrong-password"
        slow = []
        for _ in range(2):
            conn = socket.create_connection(("127.0.0.1", port), timeout=30)
            conn.sendall(
                b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(form), form[:3])
            )
            slow.append(conn)
        time.sleep(0.5)  # both are waiting for the rest of their bodies
        began = time.perf_counter()
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        assert time.perf_counter() - began < 5
        for conn in slow:
            conn.sendall(form[3:])
            answer = conn.recv(200)
            assert answer.startswith(b"HTTP/1.1 403"), answer  # no CSRF token: refused, not hung
            conn.close()


def test_read_ahead_stops_at_its_limit_and_hands_out_every_message_in_order() -> None:
    import asyncio

    from callsop.desk.server import read_ahead

    chunks = [{"type": "http.request", "body": b"x" * 400, "more_body": True} for _ in range(5)]
    chunks[-1]["more_body"] = False
    sent = iter([*chunks, {"type": "http.disconnect"}])
    taken = 0

    async def receive() -> Any:
        nonlocal taken
        taken += 1
        return next(sent)

    async def run() -> list[Any]:
        replay = await read_ahead(receive, limit=1000)
        assert taken == 3  # 1,200 bytes read ahead: the rest is the thread's
        return [await replay() for _ in range(6)]

    assert asyncio.run(run()) == [*chunks, {"type": "http.disconnect"}]


@pytest.mark.django_db(transaction=True)
def test_a_call_rung_through_one_process_is_on_a_desk_served_by_another(
    world: World, tmp_path: Path
) -> None:
    """On PostgreSQL the first server is two gunicorn processes; on SQLite,
    which takes one process per server, two single-process servers."""
    ClubLine.objects.create(club=world.xinyi, number="227001234", kind="main")
    client = Client()
    client.force_login(world.alice.user)
    session = client.cookies["sessionid"].value
    env = _env(tmp_path, _database_url())
    first_args = ("--workers", "2") if connection.vendor == "postgresql" else ()
    with _serving(env, *first_args) as (one, one_log), _serving(env) as (other, other_log):
        status, page = _get(f"http://127.0.0.1:{other}/desk/ringing/", session=session)
        assert status == 200 and "目前沒有來電" in page
        body = json.dumps(
            {
                "events": [
                    {
                        "call_id": "two-processes-1",
                        "kind": "ringing",
                        "at": time.time(),
                        "caller": "0912000111",
                        "callee": LINE,
                    }
                ]
            }
        ).encode()
        push = urllib.request.Request(
            f"http://127.0.0.1:{one}/telephony/webhook/",
            data=body,
            headers={
                "Content-Type": "application/json",
                webhook.HEADER: webhook.sign(body, WEBHOOK_SECRET.encode(), time.time()),
            },
        )
        with urllib.request.urlopen(push, timeout=30) as answer:
            assert answer.status == 202
            assert json.loads(answer.read())["applied"] == 1
        status, page = _get(f"http://127.0.0.1:{other}/desk/ringing/", session=session)
        assert status == 200 and "0912000111" in page
        for port in (one, other):
            status, health = _get(f"http://127.0.0.1:{port}/healthz")
            assert status == 200
            health_of = json.loads(health)
            assert health_of["database"] == "ok" and health_of["queue_depth"] == 0
    assert any(
        re.fullmatch(r"POST /telephony/webhook/ 202 \S+ms cpu=\S+ms user=-", x) for x in one_log
    )
    user = world.alice.user.pk
    ringing = [x for x in other_log if x.startswith("GET /desk/ringing/ 200 ")]
    assert len(ringing) == 2 and all(x.endswith(f"user={user}") for x in ringing)
    if first_args:
        assert sum("Booting worker" in x for x in one_log) == 2, one_log


def test_behind_a_tls_proxy_the_real_server_takes_https_from_the_proxy(tmp_path: Path) -> None:
    """Through the real server itself, not the test client: the proxy's
    X-Forwarded-Proto reaches Django, so an https request is served (with
    HSTS) and only plain http is redirected."""
    import http.client

    env = _env(tmp_path, None) | {"CALLSOP_PROXY": "on"}

    def fetch(port: int, headers: dict[str, str]) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/login/", headers=headers)
        return connection.getresponse()

    with _serving(env) as (port, _):
        proxied = fetch(port, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"})
        assert proxied.status == 200, proxied.getheader("Location")
        assert "max-age=" in (proxied.getheader("Strict-Transport-Security") or "")
        plain = fetch(port, {})
        assert plain.status == 301
        assert (plain.getheader("Location") or "").startswith("https://")
