"""A chain on one deployment: 300 open desks across 100 clubs, 50 clerks
working calls, a few calls a second ringing, against 1, 2 and 4 app processes.

Makes a fresh database on the PostgreSQL server DATABASE_URL names (as
benchmarks/pbx_rate.py does), adds `--clubs` clubs with `callsop manage
addclub` (each with its own line) and `--desks-per-club` clerks a club, each
with an extension (one password hash shared by all, as benchmarks/desk_load.py
does, so setting up does not spend minutes hashing). It then, for each N of
`--workers` (default 1,2,4), starts `callsop serve --workers N` on it, with
`--job-workers` (default 1) `callsop worker` processes beside it, and:

  - opens every desk as a browser keeps it open: one asyncio client holds
    them all. `--mode poll`: the desk page's own polling (#ringing every 1 s,
    #due every 3 s; a poll is skipped while the one before is unanswered, as
    htmx does). `--mode push`: the push stream (GET /desk/push/, Server-Sent
    Events) and the fragment each event names (`ringing`, `due`, `all`; the
    first `hello` fetches #ringing, a later one both);
  - has `--working` of the clerks (one per club) work calls on the call
    screen at the same time, with the call screen's own requests
    (benchmarks/desk_load.py's clerks: answer, autosaves, hold, resume, end).
    Their first calls start at random over one call's length and are counted
    once all are at work, as a chain's clerks work out of step;
    `--together` starts them all within one think and counts that surge;
  - rings `--ring-rate` calls a second through the signed webhook (POST
    /telephony/webhook/, an `offered` event on a random club's line), each
    cancelled by the caller `--ring-for` seconds later.

Measured: the ringing pop-up latency, from sending the ring's push to the
moment each open desk of that club has it (poll: the first poll answer that
lists the caller; push: the fragment fetched after the event), p50/p99; the
call-screen actions p95; requests an idle desk makes a minute; errors; the CPU
of the server and of this client. `--ramp` also opens ever more desks on one
process (100 more each `--ramp-step` seconds) until the pop-up p99 passes 1 s
or a request fails, and prints the most desks it held.

Targets: pop-up p99 < 1 s, call-screen actions p95 < 50 ms, an idle desk
under 2 requests a minute. The machine is small and shared (the client runs
beside the server), so ratios N=2/N=1 and N=4/N=1 are printed as well.

    DATABASE_URL=$(scripts/pg-test-server start) python benchmarks/chain_load.py \\
        [--mode poll|push] [--workers 1,2,4] [--seconds 60] [--ring-rate 3] [--ramp]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import desk_load
import pbx_rate
from callsop.telephony import webhook

TARGET_POPUP_P99_S = 1.0
TARGET_ACTION_P95_MS = desk_load.TARGET_P95_MS
TARGET_IDLE_PER_MIN = 2.0
WEBHOOK_SECRET = "chain-load-webhook-secret"
CHAIN = "康活健身會館"
POLLS = (("ringing", "/desk/ringing/", 1.0), ("due", "/desk/due/", 3.0))
_SERIALS = itertools.count(1)  # the rings' call ids and caller numbers


class HttpError(Exception):
    """A request that got no proper answer."""


class Connection:
    """One keep-alive HTTP/1.1 connection of a browser, on asyncio streams."""

    def __init__(self, port: int, cookies: dict[str, str]) -> None:
        self.port = port
        self.cookies = cookies
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self.reader, self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str]]:
        """Sends a request and reads the status line and headers of its answer."""
        reader, writer = await self._open()
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines.append("Accept-Language: zh-hant")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        try:
            status_line = await reader.readline()
            if not status_line:
                raise HttpError("connection closed before an answer")
            status = int(status_line.split()[1])
            answer: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name, value = name.strip().lower(), value.strip()
                if name == "set-cookie":
                    jar: SimpleCookie = SimpleCookie()
                    jar.load(value)
                    for key, morsel in jar.items():
                        self.cookies[key] = morsel.value
                answer[name] = value
        except (OSError, ValueError, IndexError) as exc:
            self.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        return status, answer

    async def body(self, headers: dict[str, str]) -> bytes:
        reader = self.reader
        assert reader is not None
        try:
            if headers.get("transfer-encoding", "").lower() == "chunked":
                parts = []
                while size := int((await reader.readline()).split(b";")[0], 16):
                    parts.append(await reader.readexactly(size))
                    await reader.readline()
                await reader.readline()
                data = b"".join(parts)
            elif "content-length" in headers:
                data = await reader.readexactly(int(headers["content-length"]))
            else:
                data = await reader.read()
                self.close()
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            self.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        if headers.get("connection", "").lower() == "close":
            self.close()
        return data

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        status, answer = await self.send(method, path, body, headers)
        return status, await self.body(answer)

    async def events(self, headers: dict[str, str]) -> Any:
        """The Server-Sent Events of an answer being streamed: (name, data) pairs."""
        reader = self.reader
        assert reader is not None
        chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        buffer = b""
        while True:
            if chunked:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    return
                buffer += await reader.readexactly(size)
                await reader.readline()
            else:
                data = await reader.read(4096)
                if not data:
                    return
                buffer += data
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                name, data_lines = "message", []
                for line in block.decode().splitlines():
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        data_lines.append(line[5:].strip())
                if data_lines or name != "message":
                    yield name, "\n".join(data_lines)


@dataclass
class Rings:
    """The calls ringing now: which desks of their club have shown each."""

    started: dict[str, tuple[int, float]] = field(default_factory=dict)  # number: (club, t0)
    seen: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    counted: set[str] = field(default_factory=set)  # rung while the clock ran
    popups: list[float] = field(default_factory=list)
    missed: int = 0
    sent: int = 0  # rings pushed while the clock ran
    rung: int = 0  # of them, those the webhook took (202)
    failed: int = 0

    def saw(self, desk: Desk, page: bytes, at: float) -> None:
        for number, (club, began) in list(self.started.items()):
            if club != desk.club or desk.number in self.seen[number]:
                continue
            if number.encode() in page:
                self.seen[number].add(desk.number)
                if number in self.counted:
                    self.popups.append(at - began)


@dataclass
class Load:
    """What the desks counted, shared by them all."""

    rings: Rings = field(default_factory=Rings)
    idle_requests: int = 0  # polls, stream (re)connects and their catch-up
    event_requests: int = 0  # fetches a push event about the desk's club asked for
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, str] = field(default_factory=dict)
    counting: bool = False
    desks_of: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # club: open

    def error(self, label: str, text: str) -> None:
        if self.counting:
            self.errors[label] += 1
            self.samples.setdefault(label, text)


class Desk:
    """One open desk page: the polling variant or the push variant of what
    the page does while idle (`run`), and its catch-up after a reconnect."""

    def __init__(
        self, number: int, club: int, port: int, cookies: dict[str, str], load: Load, mode: str
    ) -> None:
        self.number, self.club, self.port, self.load, self.mode = number, club, port, load, mode
        self.cookies = dict(cookies)
        self.stopped = False

    async def fetch(
        self, conn: Connection, label: str, path: str, *, prompted: bool = False
    ) -> bytes | None:
        try:
            status, page = await conn.request("GET", path, headers={"HX-Request": "true"})
        except HttpError as exc:
            self.load.error(label, str(exc))
            return None
        if self.load.counting and prompted:
            self.load.event_requests += 1
        elif self.load.counting:
            self.load.idle_requests += 1
        if status != 200:
            self.load.error(label, f"status {status}")
            return None
        if label == "ringing":
            self.load.rings.saw(self, page, time.perf_counter())
        return page

    async def open(self) -> bool:
        conn = Connection(self.port, self.cookies)
        try:
            status, page = await conn.request("GET", "/desk/")
        except HttpError as exc:
            self.load.error("desk page", str(exc))
            return False
        finally:
            conn.close()
        if status != 200 or b'id="ringing"' not in page:
            self.load.error("desk page", f"status {status}, no #ringing on the page")
            return False
        return True

    async def run(self) -> None:
        if self.mode == "push":
            await self.pushed()
        else:
            await asyncio.gather(*(self.poll(label, path, every) for label, path, every in POLLS))

    async def poll(self, label: str, path: str, every: float) -> None:
        conn = Connection(self.port, self.cookies)
        await asyncio.sleep(random.uniform(0, every))
        next_at = time.perf_counter()
        while not self.stopped:
            await self.fetch(conn, label, path)
            next_at += every
            while next_at < time.perf_counter():  # the ticks missed while waiting: dropped
                next_at += every
            await asyncio.sleep(next_at - time.perf_counter())
        conn.close()

    async def pushed(self) -> None:
        stream = Connection(self.port, self.cookies)
        fetches = Connection(self.port, self.cookies)
        opened = False
        while not self.stopped:
            try:
                status, headers = await stream.send(
                    "GET", "/desk/push/", headers={"Accept": "text/event-stream"}
                )
                if self.load.counting:
                    self.load.idle_requests += 1
                if status != 200:
                    self.load.error("push stream", f"status {status}")
                    await stream.body(headers)
                    await asyncio.sleep(3.0)
                    continue
                async for name, _ in stream.events(headers):
                    if self.stopped:
                        break
                    wanted = {
                        "hello": ("ringing", "due") if opened else ("ringing",),
                        "ringing": ("ringing",),
                        "due": ("due",),
                        "all": ("ringing", "due"),
                    }.get(name, ())
                    opened = opened or name == "hello"
                    for label in wanted:
                        path = f"/desk/{label}/"
                        await self.fetch(fetches, label, path, prompted=name != "hello")
            except (HttpError, OSError, ValueError, asyncio.IncompleteReadError) as exc:
                if not self.stopped:
                    self.load.error("push stream", f"{type(exc).__name__}: {exc}")
            stream.close()
            if not self.stopped:
                await asyncio.sleep(3.0)  # the stream's retry
        fetches.close()


def _run_silently(*args: str, **options: Any) -> None:
    from django.core.management import call_command

    with redirect_stdout(io.StringIO()):
        call_command(*args, **options)


def prepare(clubs: int, per_club: int) -> list[tuple[str, int, str]]:
    """Migrates the fresh database and adds the chain: (username, club id,
    the club's line) for each clerk."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.db import connections

    from callsop.desk.models import Club, Staff

    _run_silently("migrate", interactive=False, verbosity=0)
    if User.objects.exists():
        raise SystemExit("the database is not empty: give the load an empty one")
    for n in range(clubs):
        line = f"0227{n:06d}"
        _run_silently(
            "addclub", chain=CHAIN, code=f"c{n:03d}", name=f"第{n + 1}號會館", line=[line]
        )
    hashed = make_password(desk_load.PASSWORD)
    by_code = {c.code: c for c in Club.objects.select_related("chain")}
    clerks = []
    for n in range(clubs * per_club):
        club = by_code[f"c{n % clubs:03d}"]
        clerks.append((f"clerk{n:02d}", club, f"0227{n % clubs:06d}"))
    users = User.objects.bulk_create([User(username=u, password=hashed) for u, _, _ in clerks])
    Staff.objects.bulk_create(
        [
            Staff(
                user=user,
                chain=club.chain,
                club=club,
                role=Staff.Role.CLERK,
                name=f"櫃檯{n:03d}",
                short_name=f"{n:03d}",
                extension=str(1000 + n),
            )
            for n, (user, (_, club, _)) in enumerate(zip(users, clerks, strict=True))
        ]
    )
    connections.close_all()
    return [(u, club.pk, line) for u, club, line in clerks]


async def log_in(port: int, username: str) -> dict[str, str]:
    """The log-in form, as a browser fills it in: the session's cookies."""
    conn = Connection(port, {})
    try:
        status, _ = await conn.request("GET", "/login/")
        form = urllib.parse.urlencode(
            {
                "username": username,
                "password": desk_load.PASSWORD,
                "csrfmiddlewaretoken": conn.cookies.get("csrftoken", ""),
                "next": "",
            }
        ).encode()
        status, _ = await conn.request(
            "POST",
            "/login/",
            form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    finally:
        conn.close()
    if status != 302 or "sessionid" not in conn.cookies:
        raise SystemExit(f"{username} could not log in (status {status})")
    return conn.cookies


async def ring(
    port: int, lines: list[tuple[int, str]], load: Load, args: argparse.Namespace
) -> None:
    """Rings `--ring-rate` calls a second on random clubs through the signed
    webhook, each on a connection of its own (a PBX does not wait for the
    last push's answer before the next call rings); each is cancelled by the
    caller `--ring-for` seconds later."""
    rng = random.Random(args.seed)
    secret = WEBHOOK_SECRET.encode()
    rings = load.rings

    async def push(event: dict[str, Any]) -> bool:
        body = json.dumps({"events": [event]}).encode()
        headers = {
            "Content-Type": "application/json",
            webhook.HEADER: webhook.sign(body, secret, time.time()),
        }
        conn = Connection(port, {})
        try:
            status, answer = await conn.request("POST", "/telephony/webhook/", body, headers)
        except HttpError as exc:
            load.error("webhook", str(exc))
            return False
        finally:
            conn.close()
        if status != 202:
            load.error("webhook", f"status {status}: {answer[:200]!r}")
            return False
        return True

    async def one(serial: int) -> None:
        club, line = lines[rng.randrange(len(lines))]
        number = f"09{os.getpid() % 100:02d}{serial:06d}"
        event = {"call_id": f"chain-{os.getpid()}-{serial}", "caller": number, "callee": line}
        began = time.perf_counter()
        counted = load.counting
        rings.started[number] = (club, began)
        if counted:
            rings.counted.add(number)
            rings.sent += 1
        if not await push(event | {"kind": "offered", "at": time.time()}):
            rings.started.pop(number, None)
            rings.counted.discard(number)
            rings.failed += counted
            return
        rings.rung += counted
        await asyncio.sleep(max(0.0, began + args.ring_for - time.perf_counter()))
        await push(event | {"kind": "cancelled", "at": time.time(), "by": "caller"})
        rings.started.pop(number, None)
        seen = rings.seen.pop(number, set())
        if counted and load.counting:
            rings.missed += load.desks_of[club] - len(seen)

    tasks: set[asyncio.Task[None]] = set()
    try:
        while True:
            # One count for the whole benchmark: every run (N=1, 2, 4, the
            # ramp) shares the database, and a PBX call id seen before is an
            # old call, never rung again on the desk.
            task = asyncio.create_task(one(next(_SERIALS)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            await asyncio.sleep(rng.expovariate(args.ring_rate))
    finally:
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# A call on the call screen takes this many steps with a think after each
# (answer, four autosaves, hold, resume, end, …): clerks who start their
# first call spread over one call's length work out of step, as a chain's
# clerks do, whose callers ring at random.
STEPS_A_CALL = 10


class Counted(desk_load.Stats):
    """The clerks' latencies from the moment counting starts (errors always)."""

    counting = False

    def add(self, label: str, seconds: float | None, error: str | None) -> None:
        super().add(label, seconds if self.counting else None, error)


class Worker(desk_load.Clerk):
    """A clerk working calls on the call screen (desk_load's clerk), logged
    in already: the session of the desk it sits at. It starts its first call
    at a random moment of the first `spread` seconds and works until
    `spread` + `--seconds` have passed."""

    def __init__(
        self, number: int, port: int, cookies: dict[str, str], spread: float, **kwargs: Any
    ) -> None:
        super().__init__(number=number, port=port, **kwargs)
        self.session = dict(cookies)
        self.spread = spread

    def log_in(self) -> None:
        self.browser.cookies.update(self.session)

    def start_work(self) -> None:
        self.deadline = time.perf_counter() + self.spread + self.args.seconds
        time.sleep(self.rng.uniform(0, self.spread))


def serve(
    port: int, workers: int, log: Path, threads: int | None = None
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "callsop", "serve", "--host", "127.0.0.1"]
    if threads is not None:
        command += ["--threads", str(threads)]
    command += ["--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    desk_load.wait_until_up(port, server, log)
    return server


def job_worker(log: Path) -> subprocess.Popen[bytes]:
    """One `callsop worker` beside the app processes, as a chain runs: it
    grades the calls the clerks end."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "callsop", "worker"], stdout=out, stderr=subprocess.STDOUT
        )


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@dataclass
class Result:
    workers: int
    desks: int
    seconds: float
    popups: list[float]
    sent: int
    rung: int
    missed: int
    failed_rings: int
    idle_per_min: float
    event_per_min: float
    actions: dict[str, list[float]]
    action_errors: int
    errors: dict[str, int]
    samples: dict[str, str]
    server_cores: float
    client_cores: float
    load_average: str

    def popup(self, share: float) -> float:
        values = sorted(self.popups)
        return desk_load.percentile(values, share) if values else float("inf")

    def action_p95_ms(self) -> float:
        values = sorted(v for label in desk_load.HTMX_ACTIONS for v in self.actions.get(label, []))
        return desk_load.percentile(values, 0.95) * 1e3 if values else float("inf")

    def error_count(self) -> int:
        return sum(self.errors.values()) + self.action_errors + self.failed_rings


async def measure(
    port: int,
    server_pid: int,
    sessions: list[tuple[dict[str, str], int]],
    lines: list[tuple[int, str]],
    desks: int,
    working: int,
    seconds: float,
    args: argparse.Namespace,
) -> tuple[Load, desk_load.Stats, float, float, float]:
    """`desks` open desks (sessions reused in turn), `working` clerks at
    work and the rings, for `seconds`: what was counted, and the CPU used."""
    load = Load()
    opened = [
        Desk(
            n, sessions[n % len(sessions)][1], port, sessions[n % len(sessions)][0], load, args.mode
        )
        for n in range(desks)
    ]
    for desk in opened:
        load.desks_of[desk.club] += 1
    for start in range(0, desks, 50):  # the pages drawn, 50 at a time
        batch = opened[start : start + 50]
        if not all(await asyncio.gather(*(d.open() for d in batch))):
            raise SystemExit(f"desk pages failed to open: {dict(load.samples)}")
    tasks = [asyncio.create_task(d.run()) for d in opened]
    ringer = asyncio.create_task(ring(port, lines, load, args))
    stats = Counted()
    start_line = threading.Barrier(working + 1)
    options = argparse.Namespace(seconds=seconds, think=args.think, autosaves=3, seed=args.seed)
    # Out of step (the default): the clerks' first calls spread over one
    # call's length, counted once every clerk is at work. Together: all
    # start within one think and are counted from the start, a surge.
    spread = args.think[1] if args.together else sum(args.think) / 2 * STEPS_A_CALL
    clerks = [
        Worker(n, port, sessions[n][0], spread, stats=stats, start=start_line, args=options)
        for n in range(working)
    ]
    for clerk in clerks:
        clerk.start()
    await asyncio.sleep(args.warm_up)  # every desk polling or streaming, rings under way
    await asyncio.to_thread(start_line.wait, 60)
    if not args.together:
        await asyncio.sleep(spread)
    load.counting = stats.counting = True
    server_0, own_0 = desk_load.cpu_seconds(server_pid), time.process_time()
    began = time.perf_counter()
    await asyncio.sleep(seconds)
    load.counting = stats.counting = False
    elapsed = time.perf_counter() - began
    server_1, own_1 = desk_load.cpu_seconds(server_pid), time.process_time()
    for desk in opened:
        desk.stopped = True
    ringer.cancel()
    for task in tasks:
        task.cancel()
    await asyncio.gather(ringer, *tasks, return_exceptions=True)
    for clerk in clerks:
        await asyncio.to_thread(clerk.join, 60)
    server_cpu = (server_1 or 0.0) - (server_0 or 0.0)
    return load, stats, elapsed, server_cpu / elapsed, (own_1 - own_0) / elapsed


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def one_run(
    workers: int,
    desks: int,
    working: int,
    seconds: float,
    sessions: list[tuple[dict[str, str], int]],
    lines: list[tuple[int, str]],
    folder: Path,
    args: argparse.Namespace,
) -> Result:
    port = desk_load.free_port()
    server = serve(port, workers, folder / f"server-{workers}-{desks}.log", args.threads)
    graders = [
        job_worker(folder / f"worker-{workers}-{desks}-{n}.log") for n in range(args.job_workers)
    ]
    try:
        load, stats, elapsed, server_cores, client_cores = asyncio.run(
            measure(port, server.pid, sessions, lines, desks, working, seconds, args)
        )
        average = load_average()
    finally:
        stop(server)
        for grader in graders:
            stop(grader)
    samples = dict(load.samples)
    samples.update({f"call screen {k}": v for k, v in stats.samples.items()})
    return Result(
        workers=workers,
        desks=desks,
        seconds=elapsed,
        popups=load.rings.popups,
        sent=load.rings.sent,
        rung=load.rings.rung,
        missed=load.rings.missed,
        failed_rings=load.rings.failed,
        idle_per_min=load.idle_requests / max(1, desks) / (elapsed / 60),
        event_per_min=load.event_requests / max(1, desks) / (elapsed / 60),
        actions={k: list(v) for k, v in stats.latencies.items()},
        action_errors=sum(stats.errors.values()),
        errors=dict(load.errors),
        samples=samples,
        server_cores=server_cores,
        client_cores=client_cores,
        load_average=average,
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f}" if seconds != float("inf") else "-"


def print_result(r: Result, working: int) -> None:
    print(
        f"N={r.workers}: {r.desks} open desks, {working} clerks at work, {r.seconds:.0f} s,"
        f" load average {r.load_average}"
    )
    verdict = "meets" if r.popup(0.99) < TARGET_POPUP_P99_S and r.missed == 0 else "MISSES"
    print(
        f"  ringing pop-up: {len(r.popups)} desk pop-ups of {r.rung} rings taken ({r.sent} sent), p50 {_ms(r.popup(0.5))} ms,"
        f" p99 {_ms(r.popup(0.99))} ms, max {_ms(r.popup(1.0))} ms, {r.missed} desk(s) never"
        f" showed one ({verdict} p99 < {TARGET_POPUP_P99_S * 1e3:.0f} ms)"
    )
    for label in desk_load.HTMX_ACTIONS:
        values = sorted(r.actions.get(label, []))
        if values:
            print(
                f"    {label:<8} {len(values):>5}  p50 {desk_load.percentile(values, 0.5) * 1e3:6.1f} ms"
                f"  p95 {desk_load.percentile(values, 0.95) * 1e3:6.1f} ms"
            )
    p95 = r.action_p95_ms()
    verdict = "meets" if p95 < TARGET_ACTION_P95_MS and r.action_errors == 0 else "MISSES"
    print(
        f"  call-screen actions: p95 {p95:.1f} ms, {r.action_errors} errors ({verdict} p95 <"
        f" {TARGET_ACTION_P95_MS:g} ms)"
    )
    verdict = "meets" if r.idle_per_min < TARGET_IDLE_PER_MIN else "MISSES"
    print(
        f"  idle desk: {r.idle_per_min:.1f} requests a minute that nothing at its club asked"
        f" for ({verdict} < {TARGET_IDLE_PER_MIN:g}); {r.event_per_min:.1f} more fetched after"
        " a push event about its club (its rings and their ends)"
    )
    print(
        f"  errors: {r.error_count()} ({', '.join(f'{k} {v}' for k, v in r.errors.items()) or 'none'}"
        f"; rings refused {r.failed_rings}; call screen {r.action_errors})"
    )
    for label, sample in r.samples.items():
        print(f"    first error of {label}: {sample}")
    cores = os.cpu_count() or 1
    print(
        f"  CPU of {cores} cores: server {r.server_cores:.2f}, this client {r.client_cores:.2f}"
        + (
            " (the client saturates a core: the figures are the client's)"
            if r.client_cores > 0.9
            else ""
        )
    )


def print_ratios(results: list[Result]) -> None:
    base = next((r for r in results if r.workers == 1), None)
    if base is None or len(results) < 2:
        return
    print("ratios to N=1 (same load; below 1 is better for latencies, the machine is noisy):")
    for r in results:
        if r is base:
            continue

        def ratio(a: float, b: float) -> str:
            return f"{a / b:.2f}" if b not in (0.0, float("inf")) and a != float("inf") else "-"

        print(
            f"  N={r.workers}/N=1: pop-up p50 {ratio(r.popup(0.5), base.popup(0.5))}, p99"
            f" {ratio(r.popup(0.99), base.popup(0.99))}; actions p95"
            f" {ratio(r.action_p95_ms(), base.action_p95_ms())}; idle requests"
            f" {ratio(r.idle_per_min, base.idle_per_min)}; server CPU"
            f" {ratio(r.server_cores, base.server_cores)}"
        )


def ramp(
    sessions: list[tuple[dict[str, str], int]],
    lines: list[tuple[int, str]],
    folder: Path,
    args: argparse.Namespace,
) -> None:
    """Ever more open desks on one process, until the pop-up p99 passes 1 s
    or a request fails: the most it held."""
    print(f"ramp on one process ({args.mode}): +{args.ramp_by} desks each {args.ramp_step:g} s")
    held = 0
    desks = args.ramp_by
    while desks <= args.ramp_max:
        r = one_run(1, desks, 0, args.ramp_step, sessions, lines, folder, args)
        ok = r.popup(0.99) < TARGET_POPUP_P99_S and r.error_count() == 0 and r.missed == 0
        print(
            f"  {desks:>5} desks: pop-up p99 {_ms(r.popup(0.99))} ms, {r.error_count()} errors,"
            f" {r.missed} missed, server CPU {r.server_cores:.2f}, client {r.client_cores:.2f},"
            f" load {r.load_average}" + ("" if ok else "  <- past the limit")
        )
        if not ok:
            break
        held = desks
        desks += args.ramp_by
    more = " (or more: the ramp stopped at --ramp-max)" if held >= args.ramp_max else ""
    print(f"most open desks one process held: {held}{more}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("poll", "push"), default="poll")
    parser.add_argument(
        "--workers", type=lambda t: [int(n) for n in t.split(",")], default=[1, 2, 4]
    )
    parser.add_argument(
        "--job-workers",
        type=int,
        default=1,
        help="`callsop worker` processes beside the app (they grade ended calls; 0: none,"
        " the end request grades)",
    )
    parser.add_argument("--clubs", type=int, default=100)
    parser.add_argument("--desks-per-club", type=int, default=3)
    parser.add_argument("--working", type=int, default=50, help="clerks working calls")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warm-up", type=float, default=5.0)
    parser.add_argument("--ring-rate", type=float, default=3.0, help="calls a second")
    parser.add_argument("--ring-for", type=float, default=5.0, help="seconds before a cancel")
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--threads", type=int, help="request threads a process (default: callsop serve's)"
    )
    parser.add_argument(
        "--together",
        action="store_true",
        help="the clerks start their first calls at once, counted from then (a surge)",
    )
    parser.add_argument("--ramp", action="store_true", help="also find the most desks N=1 holds")
    parser.add_argument("--ramp-by", type=int, default=100)
    parser.add_argument("--ramp-step", type=float, default=20.0)
    parser.add_argument("--ramp-max", type=int, default=1500)
    args = parser.parse_args(argv)
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL server (scripts/pg-test-server start)")
    working = min(args.working, args.clubs)
    url, name = pbx_rate.fresh_database(server_url)
    folder = Path(tempfile.mkdtemp(prefix="callsop-chain-"))
    os.environ.update(
        {
            "DATABASE_URL": url,
            "CALLSOP_DATA_DIR": str(folder),
            "CALLSOP_SECRET_KEY": secrets.token_urlsafe(48),
            "CALLSOP_DEBUG": "off",
            "CALLSOP_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DJANGO_SETTINGS_MODULE": "callsop.desk.settings",
        }
    )
    try:
        began = time.perf_counter()
        clerks = prepare(args.clubs, args.desks_per_club)
        lines = sorted({(club, line) for _, club, line in clerks})
        print(
            f"database: fresh {name}; {args.clubs} clubs with a line each,"
            f" {len(clerks)} clerks with an extension ({time.perf_counter() - began:.1f} s)"
        )
        # Logged in once, through the form: the sessions are in the database,
        # so every server started below takes them.
        port = desk_load.free_port()
        server = serve(port, 1, folder / "server-login.log")
        try:
            began = time.perf_counter()

            async def everyone() -> list[dict[str, str]]:
                limit = asyncio.Semaphore(8)

                async def one(username: str) -> dict[str, str]:
                    async with limit:
                        return await log_in(port, username)

                return await asyncio.gather(*(one(u) for u, _, _ in clerks))

            cookies = asyncio.run(everyone())
        finally:
            stop(server)
        # Desk n of club k is clerk k + n * clubs: the first `working` are
        # one a club.
        sessions = [(c, club) for c, (_, club, _) in zip(cookies, clerks, strict=True)]
        print(f"{len(sessions)} clerks logged in ({time.perf_counter() - began:.1f} s)")
        print(
            f"load ({args.mode}): {len(sessions)} open desks, {working} clerks working calls"
            f" (think {args.think[0]:g}–{args.think[1]:g} s), {args.ring_rate:g} rings a second"
            f" through the webhook, each ringing {args.ring_for:g} s; {args.seconds:g} s a run"
            " after a warm-up, against `callsop serve --workers N` as it stands"
        )
        results = []
        for n in args.workers:
            r = one_run(n, len(sessions), working, args.seconds, sessions, lines, folder, args)
            print_result(r, working)
            results.append(r)
            sys.stdout.flush()
        print_ratios(results)
        if args.ramp:
            ramp(sessions, lines, folder, args)
    finally:
        from django.db import connections

        connections.close_all()
        pbx_rate.drop_database(server_url, name)
    met = all(
        r.popup(0.99) < TARGET_POPUP_P99_S
        and r.action_p95_ms() < TARGET_ACTION_P95_MS
        and r.idle_per_min < TARGET_IDLE_PER_MIN
        and r.error_count() == 0
        for r in results
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
