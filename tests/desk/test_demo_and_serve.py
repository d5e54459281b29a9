"""The demo chain, and `callsop serve` refusing to run unsafely."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from callsop.desk.demo import PEOPLE, load_demo
from callsop.desk.models import Call, Chain, KnowledgeItem, Scorecard, Staff


def test_the_demo_loads_a_scored_week(db: None) -> None:
    staff = load_demo(days=2)
    assert Chain.objects.count() == 1
    assert set(staff) == {p[0] for p in PEOPLE}
    calls = Call.objects.all()
    assert calls.count() > 30
    assert set(calls.values_list("club__code", flat=True)) == {"xinyi", "banqiao"}
    assert Scorecard.objects.count() == calls.count()
    assert KnowledgeItem.objects.filter(club__isnull=True).exists()
    assert Staff.objects.filter(role="hq", club__isnull=True).count() == 1
    with pytest.raises(RuntimeError, match="already"):
        load_demo(days=1)


def _callsop(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callsop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_refuses_without_a_secret_key(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALLSOP_", "DJANGO_", "DATABASE_URL"))
    }
    env["CALLSOP_DATA_DIR"] = str(tmp_path)
    result = _callsop("serve", "--no-serve", env=env)
    assert result.returncode == 2
    assert "CALLSOP_SECRET_KEY" in result.stderr
    env["CALLSOP_SECRET_KEY"] = "a-real-secret-for-this-test"
    result = _callsop("serve", "--no-serve", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "callsop.sqlite3").exists()


def test_serve_says_when_its_database_cannot_be_reached(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALLSOP_", "DJANGO_", "DATABASE_URL"))
    }
    env["CALLSOP_DATA_DIR"] = str(tmp_path)
    env["CALLSOP_SECRET_KEY"] = "a-real-secret-for-this-test-of-forty-chars"
    env["DATABASE_URL"] = "postgres://callsop@127.0.0.1:1/callsop"  # nothing listens on port 1
    result = _callsop("serve", "--no-serve", env=env)
    assert result.returncode == 2
    assert "the database cannot be used (DATABASE_URL)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_debug_switch_is_named(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALLSOP_", "DJANGO_", "DATABASE_URL"))
    }
    env |= {"CALLSOP_DATA_DIR": str(tmp_path), "CALLSOP_DEBUG": "maybe"}
    result = _callsop("serve", "--no-serve", env=env)
    assert result.returncode == 2 and "CALLSOP_DEBUG='maybe'" in result.stderr
