"""The call screen's HTMX actions under load: 50 clerks taking calls at once.

Makes a fresh SQLite database in a temporary CALLSOP_DATA_DIR with one club
and `--clerks` clerk accounts (through the ORM, one password hash shared by
all, so setting up does not spend a minute hashing), starts the real server
(`python -m callsop serve`: uvicorn, 8 threads for the pages) on a free port, and has each
clerk, in its own thread with its own keep-alive connection (http.client):

  - log in through the login form (GET /login/ for the CSRF cookie, POST it),
  - then loop for `--seconds`, as the call screen does:
      new incoming call (POST /calls/new-incoming/, 204 + HX-Redirect),
      the call page the redirect loads (GET /calls/<id>/),
      answer, `--autosaves` autosaves of the caller form and 5W1H note as it
      is typed (POST /calls/<id>/details/), hold, resume, one more autosave,
      end (by=customer: scores the call, 204 + HX-Redirect), and the
      scorecard page the redirect loads,
    with a think time of `--think` seconds between steps (default 1–3 s, a
clerk at work; `--think 0.2 0.5` is a stress test well past a club's pace).

Every HTMX request carries HX-Request: true and X-CSRFToken, as htmx sends
them. Latency is measured by the client, from sending the request to the
last byte of the answer. For each action it prints the count, requests/s,
p50/p95/p99 and errors (a status other than the one expected, an error
message in the panel, or a broken connection), and overall figures.

Target: p95 under 50 ms for each of the call screen's HTMX actions (answer,
hold, resume, details autosave, end). The load generator runs on the same
machine as the server and shares its cores; the CPU each used is printed.
At the end the database is checked: every ended call has a scorecard and
the dashboard's roll-ups count each one exactly once. `--serve-command` runs
the same load against another server set-up (e.g. one being tried out).

`--think 0 0` takes out the think time altogether: each clerk sends its
next request as soon as the last is answered. `--database-url` runs it on
another (empty) database, such as PostgreSQL.

    python benchmarks/desk_load.py [--clerks 50] [--seconds 30] [--think 0 0]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

TARGET_P95_MS = 50.0
PASSWORD = "callsop-bench"
HTMX_ACTIONS = ("answer", "hold", "resume", "details", "end")
OTHER_REQUESTS = ("new call", "call page", "scorecard page", "login")
PHONES = 1_000  # the callers' numbers, so some call again and history is matched
SERVE_COMMAND = "{python} -m callsop serve --host 127.0.0.1 --port {port}"
# A refusal as the desk shows one (`<p class="error" role="alert">`); a bare
# role="alert" is not one: the call page carries hidden alert regions and the
# ringing calls of the other clerks.
ERROR_MARK = b'class="error" role="alert"'
NOTE_WORDS = ["週六上午", "王大明", "信義會館", "預約體驗課", "第一次來", "回電確認時間"]


@dataclass
class Stats:
    """Latencies (seconds) and errors, per request label; shared by the clerks."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, label: str, seconds: float | None, error: str | None) -> None:
        """A request's latency, None when no answer came; its error if any."""
        with self.lock:
            if seconds is not None:
                self.latencies[label].append(seconds)
            if error is not None:
                self.errors[label] += 1
                self.samples.setdefault(label, error)


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Browser:
    """One clerk's browser: a keep-alive connection and its cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, *, htmx: bool = False
    ) -> tuple[Response, float]:
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
        began = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            answer = self.conn.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request opens a new connection
            raise
        elapsed = time.perf_counter() - began
        for header in answer.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return Response(answer.status, answer.headers, data), elapsed

    def close(self) -> None:
        self.conn.close()


class Clerk(threading.Thread):
    def __init__(
        self,
        number: int,
        port: int,
        stats: Stats,
        start: threading.Barrier,
        args: argparse.Namespace,
    ) -> None:
        super().__init__(name=f"clerk{number:02d}", daemon=True)
        self.number = number
        self.browser = Browser(port)
        self.stats = stats
        self.start_line = start
        self.args = args
        self.rng = random.Random(args.seed * 1000 + number)
        self.deadline = 0.0
        self.calls = 0
        self.failure: str | None = None

    # One request, timed and checked; None when it failed (counted as an error).
    def step(
        self,
        label: str,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        *,
        expect: int = 200,
        htmx: bool = True,
    ) -> Response | None:
        try:
            response, elapsed = self.browser.request(method, path, form, htmx=htmx)
        except (OSError, http.client.HTTPException) as exc:
            self.stats.add(label, None, f"{type(exc).__name__}: {exc}")
            return None
        error = None
        if response.status != expect:
            error = f"status {response.status} (expected {expect})"
        elif ERROR_MARK in response.body:
            text = response.body.decode("utf-8", "replace")
            start = text.find(ERROR_MARK.decode())
            error = "error in panel: " + text[start : start + 200].split(">", 1)[-1].split("<")[0]
        self.stats.add(label, elapsed, error)
        return response if error is None else None

    def think(self) -> None:
        low, high = self.args.think
        time.sleep(self.rng.uniform(low, high))

    def log_in(self) -> None:
        if self.step("login", "GET", "/login/", htmx=False) is None:
            raise RuntimeError("GET /login/ failed")
        form = {
            "username": f"clerk{self.number:02d}",
            "password": PASSWORD,
            "csrfmiddlewaretoken": self.browser.cookies["csrftoken"],
            "next": "",
        }
        if self.step("login", "POST", "/login/", form, expect=302, htmx=False) is None:
            raise RuntimeError("POST /login/ failed")
        if "sessionid" not in self.browser.cookies:
            raise RuntimeError("logged in without a session cookie")

    def run(self) -> None:
        try:
            self.log_in()
        except Exception as exc:
            self.failure = f"{self.name}: {exc}"
        try:
            self.start_line.wait()
        except threading.BrokenBarrierError:
            return
        if self.failure is not None:
            return
        self.start_work()
        while time.perf_counter() < self.deadline:
            self.one_call()
        self.browser.close()

    def start_work(self) -> None:
        """Sets when to stop, and waits a moment: the clerks start not all at once."""
        self.deadline = time.perf_counter() + self.args.seconds
        time.sleep(self.rng.uniform(0, self.args.think[1]))

    def one_call(self) -> None:
        phone = f"09{self.rng.randrange(PHONES):08d}"
        ring = self.step("new call", "POST", "/calls/new-incoming/", {"phone": phone}, expect=204)
        if ring is None:
            self.think()
            return
        url = ring.headers.get("HX-Redirect", "")
        if not url.startswith("/calls/"):
            self.stats.add("new call", None, f"no HX-Redirect to a call: {url!r}")
            return
        self.calls += 1
        steps: list[tuple[str, str, dict[str, str], int]] = [("call page", "", {}, 0)]
        steps.append(("answer", "answer/", {}, 200))
        details = self.details(phone)
        steps += [("details", "details/", form, 200) for form in details[:-1]]
        steps += [("hold", "hold/", {}, 200), ("resume", "resume/", {}, 200)]
        steps.append(("details", "details/", details[-1], 200))
        steps.append(("end", "end/", {"by": "customer"}, 204))
        steps.append(("scorecard page", "", {}, 0))
        for label, action, form, expect in steps:
            if time.perf_counter() >= self.deadline:
                return
            if expect == 0:  # the page an HX-Redirect loads: a plain GET
                ok = self.step(label, "GET", url, htmx=False)
            else:
                ok = self.step(label, "POST", url + action, form, expect=expect)
            if ok is None:
                return  # this call is broken; take the next one
            if label != "scorecard page":
                self.think()

    def details(self, phone: str) -> list[dict[str, str]]:
        """The form as htmx posts it after each pause in typing: every field,
        filled a little more each time."""
        saves = max(1, self.args.autosaves) + 1
        forms = []
        for n in range(1, saves + 1):
            share = n / saves
            words = NOTE_WORDS[: max(1, round(len(NOTE_WORDS) * share))]
            forms.append(
                {
                    "caller_name": "王大明" if share > 0.2 else "",
                    "caller_org": "",
                    "caller_purpose": "預約體驗課" if share > 0.4 else "",
                    "caller_phone": phone,
                    "caller_address": "",
                    "note_when": words[0],
                    "note_who": words[1] if len(words) > 1 else "",
                    "note_where": words[2] if len(words) > 2 else "",
                    "note_what": "".join(words[3:5]),
                    "note_why": "會員需求" if share > 0.6 else "",
                    "note_how": words[5] if len(words) > 5 else "",
                    "note_urgent__present": "1",
                }
            )
        return forms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def prepare(clerks: int) -> None:
    """Migrates the fresh database and creates the chain, the club and its clerks."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connections

    from callsop.desk.models import Chain, Club, Staff

    call_command("migrate", interactive=False, verbosity=0)
    if User.objects.exists():
        raise SystemExit("the database is not empty: give the load an empty one")
    chain = Chain.objects.create(name="康活健身會館")
    club = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    hashed = make_password(PASSWORD)
    users = User.objects.bulk_create(
        [User(username=f"clerk{n:02d}", password=hashed) for n in range(clerks)]
    )
    Staff.objects.bulk_create(
        [
            Staff(
                user=user,
                chain=chain,
                club=club,
                role=Staff.Role.CLERK,
                name=f"櫃檯{n:02d}",
                short_name=f"{n:02d}",
                extension=str(100 + n),
            )
            for n, user in enumerate(users)
        ]
    )
    connections.close_all()


def check_database() -> str:
    """Every ended call scored once, and the roll-ups agree with the calls."""
    from django.db import connections
    from django.db.models import Sum

    from callsop.desk.models import Call, DailyStat, Scorecard

    ended = Call.objects.filter(state=Call.State.ENDED).count()
    cards = Scorecard.objects.filter(call__state=Call.State.ENDED).count()
    counted = DailyStat.objects.aggregate(n=Sum("calls"))["n"] or 0
    live = Call.objects.exclude(state=Call.State.ENDED).count()
    connections.close_all()
    verdict = "consistent" if ended == cards == counted else "INCONSISTENT"
    return (
        f"database: {ended} calls ended, {cards} scorecards, roll-ups count {counted} "
        f"({verdict}); {live} left open when time ran out"
    )


def machine_busy() -> float | None:
    """CPU seconds the whole machine has been busy (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int) -> float | None:
    """User + system CPU time so far of a process and its children, as
    Linux's /proc counts it; None elsewhere."""
    ticks: dict[int, tuple[int, int]] = {}  # pid: (parent, ticks)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone since the listing
        ticks[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    if root not in ticks:
        return None
    tree, total = {root}, 0
    for pid in sorted(ticks):  # a child's pid is almost always above its parent's
        parent, used = ticks[pid]
        if pid == root or parent in tree:
            tree.add(pid)
            total += used
    return total / os.sysconf("SC_CLK_TCK")


def wait_until_up(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped:\n{log.read_text(errors='replace')}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer within 120 s:\n{log.read_text(errors='replace')}")


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, round(share * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def report(stats: Stats, elapsed: float, labels: tuple[str, ...], title: str) -> list[float]:
    print(title)
    print(
        f"  {'request':<15} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6}"
    )
    p95s = []
    for label in labels:
        values = sorted(stats.latencies.get(label, []))
        errors = stats.errors.get(label, 0)
        if not values:
            print(f"  {label:<15} {0:>6} {'':>7} {'':>8} {'':>8} {'':>8} {'':>8} {errors:>6}")
            p95s.append(float("inf"))
            continue
        p50, p95, p99 = (percentile(values, s) * 1e3 for s in (0.50, 0.95, 0.99))
        p95s.append(p95)
        rate = (
            f"{len(values) / elapsed:7.1f}" if label != "login" else f"{'-':>7}"
        )  # before the clock
        print(
            f"  {label:<15} {len(values):>6} {rate} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {values[-1] * 1e3:>8.1f} {errors:>6}"
        )
    return p95s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clerks", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    parser.add_argument("--autosaves", type=int, default=3, help="autosaves before the hold")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url",
        help="an empty database to run on (e.g. postgres://…) instead of a fresh SQLite "
        "file; the server is started on it too",
    )
    parser.add_argument(
        "--serve-command",
        default=SERVE_COMMAND,
        help="the server to start, {python} and {port} filled in, to try another set-up "
        f"against the same load (default: {SERVE_COMMAND!r})",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="callsop-load-") as name:
        folder = Path(name)
        os.environ.update(
            {
                "CALLSOP_DATA_DIR": str(folder),
                "CALLSOP_SECRET_KEY": secrets.token_urlsafe(48),
                "CALLSOP_DEBUG": "off",
                "DJANGO_SETTINGS_MODULE": "callsop.desk.settings",
            }
        )
        if args.database_url:
            os.environ["DATABASE_URL"] = args.database_url
        else:
            os.environ.pop("DATABASE_URL", None)
        busy_before = machine_busy()
        time.sleep(1.0)
        busy_after = machine_busy()
        others_before = (
            busy_after - busy_before if busy_before is not None and busy_after is not None else None
        )
        began = time.perf_counter()
        prepare(args.clerks)
        where = f"fresh SQLite in {folder}"
        if args.database_url:
            parts = urllib.parse.urlsplit(args.database_url)
            where = f"{parts.scheme} on {parts.hostname}:{parts.port}{parts.path}"
        print(
            f"database: {where}, 1 club, {args.clerks} clerks ({time.perf_counter() - began:.1f} s)"
        )
        port = free_port()
        log = folder / "server.log"
        with log.open("wb") as out:
            command = [
                part.format(python=sys.executable, port=port)
                for part in shlex.split(args.serve_command)
            ]
            server = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_up(port, server, log)
            shown = "python -m callsop serve (uvicorn, 8 threads)"
            if args.serve_command != SERVE_COMMAND:
                shown = args.serve_command
            print(f"server: {shown}, pid {server.pid}, port {port}")
            stats = Stats()
            start_line = threading.Barrier(args.clerks + 1)
            clerks = [Clerk(n, port, stats, start_line, args) for n in range(args.clerks)]
            began = time.perf_counter()
            for clerk in clerks:
                clerk.start()
            start_line.wait(timeout=300)
            logged_in = time.perf_counter() - began
            failures = [c.failure for c in clerks if c.failure]
            if failures:
                raise SystemExit(f"{len(failures)} clerks could not log in: {failures[:3]}")
            print(f"{args.clerks} clerks logged in ({logged_in:.1f} s, hashing passwords)")
            print(
                f"load: {args.seconds:g} s, think time {args.think[0]:g}–{args.think[1]:g} s, "
                f"{args.autosaves + 1} autosaves a call"
            )
            server_cpu_0, own_cpu_0 = cpu_seconds(server.pid), time.process_time()
            busy_0 = machine_busy()
            began = time.perf_counter()
            for clerk in clerks:
                clerk.join(timeout=args.seconds + 120)
            elapsed = time.perf_counter() - began
            server_cpu_1, own_cpu_1 = cpu_seconds(server.pid), time.process_time()
            busy_1 = machine_busy()
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

        p95s = report(stats, elapsed, HTMX_ACTIONS, "call screen's HTMX actions (the target):")
        report(stats, elapsed, OTHER_REQUESTS, "the requests around them:")
        counted = [label for label in (*HTMX_ACTIONS, *OTHER_REQUESTS) if label != "login"]
        everything = sorted(v for label in counted for v in stats.latencies.get(label, []))
        action_values = sorted(v for label in HTMX_ACTIONS for v in stats.latencies.get(label, []))
        errors = sum(stats.errors.get(label, 0) for label in counted)
        action_errors = sum(stats.errors.get(label, 0) for label in HTMX_ACTIONS)
        for title, values, errs in (
            ("all HTMX actions", action_values, action_errors),
            ("all requests", everything, errors),
        ):
            if values:
                print(
                    f"{title}: {len(values)} in {elapsed:.1f} s = {len(values) / elapsed:.1f} req/s, "
                    f"p50 {percentile(values, 0.5) * 1e3:.1f} ms, p95 {percentile(values, 0.95) * 1e3:.1f} ms, "
                    f"p99 {percentile(values, 0.99) * 1e3:.1f} ms, mean {statistics.fmean(values) * 1e3:.1f} ms, "
                    f"{errs} errors"
                )
        for label, sample in stats.samples.items():
            print(f"  first error of {label}: {sample}")
        calls = sum(c.calls for c in clerks)
        print(f"calls taken: {calls} ({calls / elapsed:.1f} a second)")
        if args.think[1] == 0 and everything:
            # A closed loop: each clerk waits only on its last answer, so the
            # mean latency is the clerks over the rate the server keeps up.
            bound = args.clerks / (len(everything) / elapsed)
            print(
                f"no think time: {args.clerks} clerks always waiting, so the mean latency is "
                f"about clerks / rate = {bound * 1e3:.0f} ms whatever each request costs "
                "(the server's throughput sets it)"
            )
        cores = os.cpu_count() or 1
        own_cpu = own_cpu_1 - own_cpu_0
        noisy = others_before is not None and others_before > 0.1
        if server_cpu_0 is not None and server_cpu_1 is not None:
            server_cpu = server_cpu_1 - server_cpu_0
            others = ""
            if busy_0 is not None and busy_1 is not None:
                rest = max(0.0, busy_1 - busy_0 - server_cpu - own_cpu) / elapsed
                others = f", everything else {rest:.2f} cores"
                noisy = noisy or rest > 0.1
            print(
                f"CPU of the machine's {cores} cores: the server used {server_cpu / elapsed:.2f} cores "
                f"({server_cpu:.1f} s), this load generator {own_cpu / elapsed:.2f}{others}"
            )
        print(
            f"note: the load generator ran on the same {cores}-core machine as the server and "
            "competed with it for CPU; latencies include its own scheduling delays."
            + (" Other work was running on the machine: expect noisy figures." if noisy else "")
        )
        print(check_database())
        worst = max(p95s, default=float("inf"))
        met = bool(p95s) and worst < TARGET_P95_MS and action_errors == 0
        verdict = "meets" if met else "MISSES"
        print(
            f"worst p95 of the HTMX actions: {worst:.1f} ms ({verdict} the target of p95 < "
            f"{TARGET_P95_MS:g} ms for each action, with no errors)"
        )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
