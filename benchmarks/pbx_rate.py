"""How many calls a second a chain's Asterisk can send the desk, every event
applied and 99% of them on the desk within 500 ms of their capture.

Replays the recorded Asterisk 22 calls (tests/telephony/asterisk/hep, the
twelve scenarios in turn) as one chain's HEP traffic at rising call rates:
each replayed call gets fresh Call-IDs, tags and a fresh customer number,
its messages are stamped with the moment they are sent and keep the
recording's spacing (shrunk by --scale). They go over UDP loopback to a real
`callsop telephony --desk` process on PostgreSQL (a fresh database on the
server DATABASE_URL names) and on SQLite, with a `callsop worker` beside it
grading the calls that end, as a club runs them. Events expected per scenario are
what the collector makes of one replayed call, in this process, beforehand.

For each rate: calls a second offered, events expected and applied, the
latency from capture to the desk (50th, 99th percentile, worst), and at the
end the first rate it fell behind at (an event missing, or p99 over 500 ms).
The last column is the machine's one-minute load average as the rate ends:
the feed shares its cores with the database and the sender, so a figure
taken under a load well above the core count says more about the machine
than about the feed; compare runs taken under a like load. The collector's
own lag (capture to the event it prints) rising with the desk's says the
process is short of CPU, not waiting on the database.

    DATABASE_URL=$(scripts/pg-test-server start) python benchmarks/pbx_rate.py \\
        [--rates 5,10,20,50,100] [--seconds 10] [--scale 0.25] [--only postgresql] \\
        [--appliers 4]  # the feed's applier threads on PostgreSQL (CALLSOP_PBX_APPLIERS)
        [--no-worker]   # no `callsop worker` beside the feed: it grades ended calls itself
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import heapq
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from callsop.telephony import hep

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = (ROOT / "tests/telephony/asterisk/hep", ROOT.parent / "shared/fixtures/asterisk/hep")
PASSWORD = b"hep-s3cret"  # the recording's capture_password
CUSTOMER = b"0912345678"
TARGET_P99_MS = 500.0
PORT = 9161
ASTERISK = "127.0.0.1:5160"  # the PBX's SIP address in the recording


@dataclasses.dataclass(frozen=True)
class Message:
    offset: float  # seconds after the call's first message
    source: tuple[str, int]
    destination: tuple[str, int]
    payload: bytes
    capture_id: int


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def recordings() -> dict[str, list[Message]]:
    folder = next((f for f in RECORDINGS if f.is_dir()), None)
    if folder is None:
        raise SystemExit(f"no recorded Asterisk calls in {' or '.join(map(str, RECORDINGS))}")
    calls = {}
    for path in sorted(folder.glob("*.jsonl")):
        packets = [hep.decode(base64.b64decode(json.loads(line)["b64"])) for line in path.open()]
        start = packets[0].captured_at
        calls[path.stem] = [
            Message(
                p.captured_at - start,
                _address(p.source),
                _address(p.destination),
                p.payload,
                p.capture_id or 0,
            )
            for p in packets
        ]
    return calls


_CALL_ID = re.compile(rb"^(Call-ID|i):\s*(\S+)", re.IGNORECASE | re.MULTILINE)
# A desk's extension where SIP names a phone: sip:101@…, and baresip's Contact sip:101-0x…
_DESK = re.compile(rb"(sips?:)(101|102)([@-])")
_DESKS = itertools.count()
_TAG = re.compile(rb";tag=([^;>\s]+)")


def fresh(messages: list[Message], mark: str) -> list[Message]:
    """A replayed call: the recording with its own Call-IDs (beginning with
    `mark`), tags, customer number (as long as the recorded one, so the
    SDP's length does not change) and desks: a chain has a desk phone per
    call in progress, where the recording has two (101, 102)."""
    tag = mark.encode()
    number = f"09{zlib.crc32(tag) % 10**8:08d}".encode()
    first = 10000 + 2 * (next(_DESKS) % 40000)
    desks = {b"101": str(first).encode(), b"102": str(first + 1).encode()}
    out = []
    for m in messages:
        payload = _CALL_ID.sub(lambda g: g[1] + b": " + tag + b"-" + g[2], m.payload)
        payload = _TAG.sub(lambda g: b";tag=" + tag + g[1], payload)
        payload = _DESK.sub(lambda g: g[1] + desks[g[2]] + g[3], payload)
        out.append(dataclasses.replace(m, payload=payload.replace(CUSTOMER, number)))
    return out


def packet(m: Message, captured_at: float) -> bytes:
    return hep.encode(
        m.payload,
        source=m.source,
        destination=m.destination,
        captured_at=captured_at,
        capture_id=m.capture_id,
        auth_key=PASSWORD,
    )


def events_per_call(calls: dict[str, list[Message]], scale: float) -> dict[str, int]:
    """What `callsop telephony` makes of one replayed call of each scenario
    (legs joined as on the desk): all twelve at once, as printed."""
    service = _service(PORT + 1, desk=False)
    streams = [((m.offset * scale, m) for m in fresh(calls[name], name)) for name in calls]
    send(PORT + 1, heapq.merge(*streams, key=lambda pair: pair[0]))
    time.sleep(1.0)
    service.terminate()
    printed, _ = service.communicate(timeout=30)
    heard = [json.loads(line)["call_id"] for line in printed.splitlines()]
    return {name: sum(1 for c in heard if c.startswith(f"{name}-")) for name in calls}


def schedule(
    calls: dict[str, list[Message]], rate: float, seconds: float, scale: float, run: str
) -> tuple[list[str], Iterator[tuple[float, Message]]]:
    """The scenarios of the calls started in `seconds` at `rate` a second,
    and their messages in sending order (seconds from the start)."""
    names = list(calls)
    started = [names[i % len(names)] for i in range(int(rate * seconds))]

    def stream(i: int, name: str) -> Iterator[tuple[float, Message]]:
        # A function of its own, so each call keeps its own start (a generator
        # expression would read the loop's last `i` when it is consumed, and
        # every call would start at once).
        begins = i / rate
        return ((begins + m.offset * scale, m) for m in fresh(calls[name], f"{run}c{i}"))

    streams = [stream(i, name) for i, name in enumerate(started)]
    return started, heapq.merge(*streams, key=lambda pair: pair[0])


def send(port: int, messages: Iterator[tuple[float, Message]]) -> float:
    """Sends each message at its time, stamped with the moment it leaves."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    began = time.monotonic()
    for at, m in messages:
        lag = at - (time.monotonic() - began)
        if lag > 0.001:
            time.sleep(lag)
        sender.sendto(packet(m, time.time()), ("127.0.0.1", port))
    return time.monotonic() - began


def _desk(database: str) -> None:
    os.environ["CALLSOP_SECRET_KEY"] = "bench-only"
    os.environ["DJANGO_SETTINGS_MODULE"] = "callsop.desk.settings"
    if database.startswith("postgres"):
        os.environ["DATABASE_URL"] = database
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["CALLSOP_DATA_DIR"] = database
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from callsop.desk.models import Chain, Club, ClubLine, Staff

    call_command("migrate", verbosity=0)
    chain = Chain.objects.create(name="康活健身會館")
    club = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    ClubLine.objects.create(club=club, number="227001234")
    ClubLine.objects.create(club=club, number="227001235", kind="consult")
    for username, name, extension in (("yijun", "陳怡君", "101"), ("shufen", "王淑芬", "102")):
        user = User.objects.create_user(username=username, password="x")
        Staff.objects.create(user=user, chain=chain, club=club, name=name, extension=extension)


def _applied(run: str) -> list[float]:
    """The lags (ms) from capture to the desk of this run's events applied."""
    from callsop.desk.models import PbxEvent

    rows = PbxEvent.objects.filter(call_id__startswith=f"{run}c", processed_at__isnull=False)
    times = rows.values_list("at", "processed_at")
    return sorted((done - at).total_seconds() * 1000 for at, done in times if done is not None)


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


_appliers: dict[str, str] = {}  # CALLSOP_PBX_APPLIERS for the desk's feed, when told


def _service(port: int, *, desk: bool, printed: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    """`callsop telephony` on `port`, told where the recording's Asterisk was;
    the events it prints go to `printed`."""
    command = [sys.executable, "-m", "callsop", "telephony", "--listen", f"127.0.0.1:{port}"]
    service = subprocess.Popen(
        [*command, "--pbx", ASTERISK, *(["--desk"] if desk else [])],
        env=dict(os.environ, CALLSOP_HEP_PASSWORD=PASSWORD.decode(), **_appliers),
        stdout=printed,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert service.stderr is not None
    while "listening" not in (line := service.stderr.readline()):
        if not line:
            raise SystemExit("callsop telephony did not start")
    return service


@dataclasses.dataclass
class Rate:
    offered: float  # calls a second
    sent: int  # datagrams
    heard: int  # datagrams the collector read (the rest the socket dropped)
    expected: int  # events the recording gives these calls
    emitted: int  # events the collector gave the desk
    stored: int
    lags: list[float]  # ms from capture to the desk, of the events applied
    collector: list[float]  # ms from capture to the collector's event, of those emitted


def one_rate(
    calls: dict[str, list[Message]],
    per_call: dict[str, int],
    rate: int,
    run: str,
    args: argparse.Namespace,
) -> Rate:
    """A fresh `callsop telephony --desk` (the one before took up the
    calls still live), this rate's calls, then its counts."""
    from callsop.desk.models import PbxEvent

    with tempfile.TemporaryFile("w+") as printed:
        service = _service(PORT, desk=True, printed=printed)
        started, stream = schedule(calls, rate, args.seconds, args.scale, run)
        sent = 0

        def counted() -> Iterator[tuple[float, Message]]:
            nonlocal sent
            for item in stream:
                sent += 1
                yield item

        took = send(PORT, counted())
        mine = PbxEvent.objects.filter(call_id__startswith=f"{run}c")
        _settled(mine, args.grace)
        service.terminate()
        _, said = service.communicate(timeout=60)
        printed.seek(0)
        emitted = [json.loads(line) for line in printed if f'"call_id":"{run}c' in line]
    heard = re.search(r"heard datagrams (\d+)", said)
    expected = sum(per_call[name] for name in started)
    longest = max(m.offset for messages in calls.values() for m in messages) * args.scale
    return Rate(
        offered=len(started) / max(took - longest, 1e-3),
        sent=sent,
        heard=int(heard[1]) if heard else 0,
        expected=expected,
        emitted=len(emitted),
        collector=sorted((e["emitted_at"] - e["at"]) * 1000 for e in emitted),
        stored=mine.count(),
        lags=_applied(run),
    )


def _settled(mine: Any, grace: float) -> None:
    """Waits until no event is pending and none has come for a second."""
    deadline, last, still = time.monotonic() + grace, -1, 0
    while time.monotonic() < deadline and still < 2:
        count = mine.count()
        idle = count == last and not mine.filter(processed_at__isnull=True).exists()
        still, last = (still + 1 if idle else 0), count
        time.sleep(0.5)


def _behind(got: Rate, p99: float) -> bool:
    if got.heard < got.sent:
        print(f"  the collector's socket dropped {got.sent - got.heard} datagrams", flush=True)
    return got.heard < got.sent or len(got.lags) < got.emitted or p99 > TARGET_P99_MS


def rates(database: str, label: str, args: argparse.Namespace) -> int | None:
    """Every rate on one database; the first rate it fell behind at."""
    calls = recordings()
    per_call = events_per_call(calls, args.scale)
    _desk(database)
    appliers = _appliers.get("CALLSOP_PBX_APPLIERS", "4") if label != "SQLite" else "1"
    worker = None if args.no_worker else _job_worker()
    grading = "graded in the feed's process" if worker is None else "graded by a `callsop worker`"
    print(
        f"{label}: callsop telephony --desk on 127.0.0.1:{PORT}; calls last {args.scale}x;"
        f" {appliers} applier thread(s); ended calls {grading}"
    )
    try:
        return _each_rate(calls, per_call, label, args)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)


def _job_worker() -> subprocess.Popen[bytes]:
    """A `callsop worker` beside the feed, as a club runs one: it grades the
    calls the PBX ends. Started once its heartbeat is in."""
    from callsop.desk.services.jobs import workers_alive

    worker = subprocess.Popen(
        [sys.executable, "-m", "callsop", "worker"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not workers_alive():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("callsop worker did not start")
        time.sleep(0.2)
    return worker


def _each_rate(
    calls: dict[str, list[Message]], per_call: dict[str, int], label: str, args: argparse.Namespace
) -> int | None:
    print(
        "calls/s offered  datagrams sent/heard  events expected/emitted/stored/applied"
        "  p50 ms  p99 ms  max ms  (collector's p50 p99 ms)  load",
        flush=True,
    )
    behind = None
    for n, rate in enumerate(args.rates):
        got = one_rate(calls, per_call, rate, f"q{n}", args)
        p99 = _pct(got.lags, 0.99)
        print(
            f"{got.offered:15.1f}  {got.sent:9d}/{got.heard:<10d}"
            f"  {got.expected:8d}/{got.emitted:6d}/{got.stored:6d}/{len(got.lags):<10d}"
            f"  {_pct(got.lags, 0.5):6.0f}  {p99:6.0f}  {max(got.lags, default=0):6.0f}"
            f"  ({_pct(got.collector, 0.5):.0f} {_pct(got.collector, 0.99):.0f})"
            f"  {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        if behind is None and _behind(got, p99):
            behind = rate
    verdict = f"falls behind at {behind} calls/s" if behind else "kept up at every rate"
    print(f"{label}: {verdict} (target: every event, p99 under {TARGET_P99_MS:.0f} ms)\n")
    return behind


def fresh_database(url: str) -> tuple[str, str]:
    """A new database on the server `url` names: (its URL, its name)."""
    import psycopg

    name = f"callsop_rate_{os.getpid()}"
    with psycopg.connect(_server(url, "postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return _server(url, name), name


def _server(url: str, database: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[0] + "/" + database


def drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_server(url, "postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def one(args: argparse.Namespace) -> int:
    if args.only == "sqlite":
        rates(tempfile.mkdtemp(prefix="callsop-rate-"), "SQLite", args)
        return 0
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        raise SystemExit("--only postgresql: set DATABASE_URL (scripts/pg-test-server start)")
    url, name = fresh_database(server)
    try:
        rates(url, "PostgreSQL", args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(server, name)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates",
        type=lambda t: [int(r) for r in t.split(",")],
        default=[5, 10, 20, 50, 80],
        help="calls a second, in turn",
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="calls started per rate: this long"
    )
    parser.add_argument(
        "--scale", type=float, default=0.25, help="each call lasts this times its recording"
    )
    parser.add_argument(
        "--grace", type=float, default=20.0, help="seconds to wait for the last events"
    )
    parser.add_argument(
        "--appliers", type=int, help="the feed's applier threads on PostgreSQL (default: 4)"
    )
    parser.add_argument(
        "--no-worker", action="store_true", help="no `callsop worker`: the feed grades calls itself"
    )
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    args = parser.parse_args()
    if args.appliers:
        _appliers["CALLSOP_PBX_APPLIERS"] = str(args.appliers)
    if args.only:
        return one(args)
    databases = ["sqlite"]
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        databases.insert(0, "postgresql")
    else:
        print("DATABASE_URL is not a PostgreSQL server: SQLite only")
    for database in databases:
        passed = [a for a in sys.argv[1:] if not a.startswith("--only")]
        subprocess.run([sys.executable, __file__, *passed, "--only", database], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
