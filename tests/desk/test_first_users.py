"""A new desk's first club and people, made from the command line as the
README says: they can then log in and work."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from callsop.desk.models import Club, ClubLine, Staff


def _add_staff(monkeypatch: pytest.MonkeyPatch, password: str, **options: Any) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    call_command("addstaff", stdout=io.StringIO(), **options)


def test_a_club_and_its_people_are_added_and_log_in(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_command(
        "addclub",
        chain="康活健身",
        code="xinyi",
        name="信義會館",
        line=["02-2700-1234"],
        stdout=io.StringIO(),
    )
    club = Club.objects.get(code="xinyi")
    assert ClubLine.objects.get(club=club).number == "227001234"
    _add_staff(
        monkeypatch,
        "a-long-enough-password",
        username="shufen",
        name="王淑芬",
        role="manager",
        club="xinyi",
        extension="100",
    )
    staff = Staff.objects.get(user__username="shufen")
    assert (staff.club, staff.role, staff.extension) == (club, "manager", "100")
    client = Client()
    answer = client.post("/login/", {"username": "shufen", "password": "a-long-enough-password"})
    assert answer.status_code == 302 and "/login/" not in answer["Location"]
    assert "王淑芬" in client.get("/desk/").content.decode()


def test_bad_people_are_refused_with_the_reason(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    call_command("addclub", chain="康活健身", code="xinyi", name="信義會館", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--club"):
        _add_staff(monkeypatch, "a-long-enough-password", username="a", name="甲", club="nope")
    with pytest.raises(CommandError, match="10 個字元"):
        _add_staff(monkeypatch, "short", username="b", name="乙", club="xinyi")
    with pytest.raises(CommandError, match="exists already"):
        call_command("addclub", chain="康活健身", code="xinyi", name="信義會館")
    assert not Staff.objects.exists()


def test_manage_migrates_a_new_database_first(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALLSOP_", "DJANGO_", "DATABASE_URL"))
    }
    env |= {"CALLSOP_DATA_DIR": str(tmp_path), "CALLSOP_SECRET_KEY": "k" * 40}
    result = subprocess.run(
        [sys.executable, "-m", "callsop", "manage", "addclub", "--chain", "康活健身",
         "--code", "xinyi", "--name", "信義會館"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "xinyi" in result.stdout and "Traceback" not in result.stderr
