"""benchmarks/chain_load.py sets a small chain up and runs a short load
without a failed request, and prints figures that add up. Not a speed test:
its speed goals are the benchmark's own, printed, never asserted here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SERVER = os.environ.get("DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not SERVER.startswith("postgres"),
    reason="the chain load runs on PostgreSQL: DATABASE_URL (make unit-postgres)",
)


def _run(mode: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLSOP_")}
    env["DATABASE_URL"] = SERVER
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/chain_load.py"),
            *("--mode", mode, "--workers", "1", "--clubs", "3", "--working", "2"),
            *("--seconds", "4", "--warm-up", "1", "--ring-rate", "2", "--ring-for", "3"),
            *("--think", "0.2", "0.4"),  # the clerks' first calls spread over 3 s, not 20
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # 1 is "a target missed", which a short run on a busy machine may; any
    # other status is the script failing.
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.stdout


def test_a_short_polling_run_sets_up_the_chain_and_counts_every_request() -> None:
    out = _run("poll")
    assert "3 clubs with a line each, 9 clerks with an extension" in out
    assert "9 clerks logged in" in out
    assert re.search(r"^  errors: 0 \(none; rings refused 0; call screen 0\)$", out, re.M), out
    popups = re.search(
        r"(\d+) desk pop-ups of (\d+) rings taken \(\d+ sent\), p50 (\d+) ms, p99 (\d+) ms, max (\d+) ms,"
        r" (\d+) desk\(s\) never",
        out,
    )
    assert popups, out
    shown, rung, p50, p99, worst, missed = map(int, popups.groups())
    assert rung > 0 and 0 < shown <= 3 * rung
    assert 0 <= p50 <= p99 <= worst
    assert missed == 0
    idle = re.search(r"idle desk: ([\d.]+) requests a minute .*; ([\d.]+) more fetched", out)
    assert idle, out
    # The desk page polls #ringing every second and #due every 3 s: 80 a
    # minute, fewer when an answer is slow (a poll waits for the last), and
    # in a 4 s window up to one more of each at its edge (+30 a minute).
    assert 20 < float(idle[1]) <= 110 and float(idle[2]) == 0
    assert re.search(r"CPU of \d+ cores: server [\d.]+, this client [\d.]+", out), out
    # The clerks' requests are counted once all are at work (not "inf").
    assert re.search(r"^  call-screen actions: p95 \d+\.\d ms, 0 errors", out, re.M), out
