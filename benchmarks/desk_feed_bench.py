"""From the PBX's SIP traffic to the desk: how soon each call event is on the
desk, at rising call rates.

Makes a fresh SQLite desk (one club, the desk phone's extension 201 on its
clerk), starts `callsop telephony --desk` (the collector feeding the desk in
one process), and replays recorded calls as HEP over UDP loopback at rising
rates (each call's eleven messages mirrored twice, and an OPTIONS
keep-alive). The desk keeps each event's capture time and the moment it was
applied; from those it prints, for each rate, the events applied out of those
expected and the latency from capture to the desk (50th, 99th percentile).
Target: 99% of events on the desk within 200 ms at the rates a club's, or a
chain HQ's, PBX produces.

    python benchmarks/desk_feed_bench.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector_bench import EVENTS_PER_CALL, replay

CALL_RATES = (1, 5, 10, 20, 40)  # calls a second; 23 SIP messages each
PORT = 9097


def _desk(data_dir: str) -> None:
    os.environ.update(CALLSOP_DATA_DIR=data_dir, CALLSOP_SECRET_KEY="bench-only")
    os.environ["DJANGO_SETTINGS_MODULE"] = "callsop.desk.settings"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from callsop.desk.models import Chain, Club, Staff

    call_command("migrate", verbosity=0)
    chain = Chain.objects.create(name="康活健身會館")
    club = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    user = User.objects.create_user(username="clerk", password="x")
    Staff.objects.create(user=user, chain=chain, club=club, name="陳怡君", extension="201")


def _latencies(since_pk: int) -> tuple[int, list[float]]:
    from callsop.desk.models import PbxEvent

    rows = PbxEvent.objects.filter(pk__gt=since_pk, processed_at__isnull=False)
    lags = sorted(
        (r.processed_at - r.at).total_seconds() * 1000 for r in rows if r.processed_at is not None
    )
    return len(lags), lags


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="replay time per rate")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="callsop-feed-")
    _desk(data_dir)
    from callsop.desk.models import PbxEvent

    service = subprocess.Popen(
        [sys.executable, "-m", "callsop", "telephony", "--desk", "--listen", f"127.0.0.1:{PORT}"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert service.stderr is not None
    while "listening" not in (line := service.stderr.readline()):
        if not line:
            raise SystemExit("callsop telephony did not start")
    print(f"desk: fresh SQLite in {data_dir}; callsop telephony --desk on 127.0.0.1:{PORT}")
    print("calls/s  SIP msgs/s  events applied/expected  p50 ms  p99 ms  max ms")
    first_call, worst = 0, 0.0
    try:
        for rate in CALL_RATES:
            since = PbxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            messages, calls, took = replay(PORT, rate * 23, args.seconds, first_call)
            first_call += calls
            expected = calls * EVENTS_PER_CALL
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                applied, lags = _latencies(since)
                if applied >= expected:
                    break
                time.sleep(0.2)
            p99 = _pct(lags, 0.99)
            worst = max(worst, p99)
            print(
                f"{rate:7d}  {messages / took:10.0f}  {applied:9d}/{expected:<9d}"
                f"  {_pct(lags, 0.5):6.1f}  {p99:6.1f}  {max(lags, default=0):6.1f}"
            )
    finally:
        service.terminate()
        service.wait(timeout=10)
    print(f"worst p99 from capture to desk: {worst:.0f} ms (target 200 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
