"""No acknowledged save is lost when the server dies: `callsop serve` is
killed (SIGKILL, nothing flushed, nothing cleaned up) in the middle of bursts
of autosaves from several clerks, started again on the same database, and
every save it answered 200 to is there.

Each thread types into one call of its own, one autosave after another as
htmx sends them, and keeps what it sent: the last value the server
acknowledged and the one in flight when the server died. After the restart
the call holds one of those two (the one in flight may or may not have been
committed), never an older value: a server that answered before its commit
was durable fails here.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from callsop.desk.models import Call, Staff
from tests.desk.conftest import PASSWORD, World, _database_url, _staff

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
CLERKS = 4  # each with two calls, one thread typing into each
KILL_AFTER_S = 2.0
SECRET_KEY = "callsop-test-only-key-not-for-any-real-desk"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """`callsop serve` in a process of its own, to be killed and started again."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.data_dir = data_dir
        self.log = data_dir / "serve.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CALLSOP_DATA_DIR": str(data_dir),
            "CALLSOP_SECRET_KEY": SECRET_KEY,
            "CALLSOP_DEBUG": "off",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        if connection.vendor == "sqlite":
            # The desk's own SQLite set-up (no DATABASE_URL: the file in the
            # data folder, WAL, its writers queued), on the test's database.
            del self.env["DATABASE_URL"]
            (data_dir / "callsop.sqlite3").symlink_to(
                Path(connection.settings_dict["NAME"]).resolve()
            )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "callsop", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert self.process.poll() is None, f"callsop serve stopped:\n{self.log_text()}"
            time.sleep(0.05)
        raise AssertionError("callsop serve did not start listening")

    def kill(self) -> None:
        assert self.process is not None and self.process.poll() is None, "the server had died"
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=20) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def server(transactional_db: None, tmp_path: Path) -> Iterator[Server]:
    served = Server(tmp_path / "data")
    yield served
    served.stop()


class Browser:
    """One clerk's browser: a keep-alive connection and its cookies."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        self.cookies = dict(cookies or {})

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, *, htmx: bool = True
    ) -> tuple[int, http.client.HTTPMessage, str]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept-Language": "zh-hant"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            headers["HX-Request"] = "true"
        if method == "POST" and "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        self.conn.request(method, path, body=body, headers=headers)
        answer = self.conn.getresponse()
        text = answer.read().decode("utf-8", "replace")
        for header in answer.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return answer.status, answer.headers, text

    def log_in(self, username: str) -> None:
        status, _, _ = self.request("GET", "/login/", htmx=False)
        assert status == 200 and "csrftoken" in self.cookies
        form = {
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": self.cookies["csrftoken"],
            "next": "",
        }
        status, _, _ = self.request("POST", "/login/", form, htmx=False)
        assert status == 302 and "sessionid" in self.cookies, f"{username} could not log in"

    def close(self) -> None:
        self.conn.close()


@dataclass
class Typist:
    """One thread's autosaves into one call, and what became of them."""

    call_id: int
    cookies: dict[str, str]
    number: int
    acknowledged: list[str] = field(default_factory=list)
    in_flight: str | None = None
    refused: list[str] = field(default_factory=list)
    stopped_by: str = ""

    def type_until_the_server_dies(self, port: int, give_up: float) -> None:
        browser = Browser(port, self.cookies)
        n = 0
        try:
            while time.monotonic() < give_up:
                n += 1
                value = f"第{self.number}線第{n}次存檔"
                form = {
                    "note_what": value,
                    "note_who": f"會員{self.number}",
                    "caller_name": "王大明",
                }
                self.in_flight = value
                try:
                    status, _, text = browser.request(
                        "POST", f"/calls/{self.call_id}/details/", form
                    )
                except (OSError, http.client.HTTPException) as exc:
                    self.stopped_by = type(exc).__name__
                    return
                self.in_flight = None
                if status == 200 and text.startswith("已儲存"):
                    self.acknowledged.append(value)
                else:
                    self.refused.append(f"{status}: {text[:200]}")
            self.stopped_by = "time ran out"
        finally:
            browser.close()


def _clerks(world: World) -> list[Staff]:
    """alice and three more clerks of 信義會館, each with a password the served
    desk (real settings) can check quickly."""
    clerks = [world.alice] + [
        _staff(world.chain, world.xinyi, f"clerk{n}", "clerk", f"櫃檯{n}號")
        for n in range(1, CLERKS)
    ]
    # The served desk checks passwords with its own hashers (not the suite's
    # fast one); the default PBKDF2 with few iterations keeps log-in quick.
    hashed = PBKDF2PasswordHasher().encode(PASSWORD, "callsoptest", iterations=1000)
    for clerk in clerks:
        clerk.user.password = hashed
        clerk.user.save(update_fields=["password"])
    return clerks


def _open_calls(server: Server, clerks: list[Staff]) -> list[tuple[int, dict[str, str]]]:
    """Each clerk logs in and takes two calls; the calls with the clerk's cookies."""
    calls = []
    for n, clerk in enumerate(clerks):
        browser = Browser(server.port)
        browser.log_in(clerk.user.username)
        for k in range(THREADS // len(clerks)):
            phone = f"09{n:02d}-{k:03d}-{n * 10 + k:03d}"
            status, headers, _ = browser.request("POST", "/calls/new-incoming/", {"phone": phone})
            assert status == 204, f"new call: {status}"
            url = headers.get("HX-Redirect", "")
            assert url.startswith("/calls/"), f"new call: no HX-Redirect to it ({url!r})"
            call_id = int(url.strip("/").split("/")[-1])
            status, _, text = browser.request("POST", f"{url}answer/")
            assert status == 200 and 'role="alert"' not in text, f"answer: {status} {text[:200]}"
            calls.append((call_id, dict(browser.cookies)))
        browser.close()
    return calls


def test_every_acknowledged_autosave_survives_a_kill(server: Server, world: World) -> None:
    clerks = _clerks(world)
    server.start()
    calls = _open_calls(server, clerks)
    assert Call.objects.filter(state=Call.State.TALKING).count() == THREADS

    typists = [Typist(call_id, cookies, n + 1) for n, (call_id, cookies) in enumerate(calls)]
    give_up = time.monotonic() + 20  # only if the kill never came
    threads = [
        threading.Thread(target=t.type_until_the_server_dies, args=(server.port, give_up))
        for t in typists
    ]
    for thread in threads:
        thread.start()
    # Killed mid-burst: after KILL_AFTER_S, once every thread has had saves answered.
    began = time.monotonic()
    while time.monotonic() < began + 10 and (
        time.monotonic() < began + KILL_AFTER_S or not all(t.acknowledged for t in typists)
    ):
        time.sleep(0.02)
    server.kill()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)

    acknowledged = sum(len(t.acknowledged) for t in typists)
    assert all(t.acknowledged for t in typists), [len(t.acknowledged) for t in typists]
    assert acknowledged >= 3 * THREADS, f"only {acknowledged} saves before the kill"
    refused = [r for t in typists for r in t.refused]
    assert not refused, (
        f"{len(refused)} saves refused under load: {refused[0]}\n{server.log_text()[-3000:]}"
    )
    assert all(t.stopped_by not in ("", "time ran out") for t in typists), [
        t.stopped_by for t in typists
    ]  # every thread was still typing when the server died

    print(
        f"{acknowledged} autosaves acknowledged by {THREADS} threads before the kill "
        f"({connection.vendor}); {sum(t.in_flight is not None for t in typists)} in flight"
    )
    server.start()  # on the same database, after a kill that flushed nothing
    for typist in typists:
        call = Call.objects.get(pk=typist.call_id)
        kept = {typist.acknowledged[-1], typist.in_flight} - {None}
        assert call.note_what in kept, (
            f"call {call.pk}: {call.note_what!r} after the restart, but the server had "
            f"acknowledged {typist.acknowledged[-1]!r} ({len(typist.acknowledged)} saves)"
        )
        assert call.note_who == f"會員{typist.number}" and call.caller_name == "王大明"
        assert call.state == Call.State.TALKING

    # The restarted desk shows each call as saved, and takes saves again.
    for typist in typists:
        browser = Browser(server.port, typist.cookies)
        try:
            status, _, page = browser.request("GET", f"/calls/{typist.call_id}/", htmx=False)
            assert status == 200
            assert Call.objects.get(pk=typist.call_id).note_what in page
            status, _, text = browser.request(
                "POST", f"/calls/{typist.call_id}/details/", {"note_what": "重新啟動後"}
            )
            assert status == 200 and text.startswith("已儲存"), (status, text[:200])
        finally:
            browser.close()
    assert set(Call.objects.values_list("note_what", flat=True)) == {"重新啟動後"}
    if connection.vendor == "sqlite":  # one file, one write-ahead log for both processes
        assert not list(server.data_dir.glob("callsop.sqlite3-*"))
