"""Migration 0015 re-keys the numbers stored in international form: a call
from +86 135 7702 4418 and a club line kept as 862112345678 get the national
keys new calls get, and nothing else changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("desk", "0014_workers_seen")]
AFTER = [("desk", "0015_international_phone_keys")]


def _migrate(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def test_international_numbers_get_their_national_keys() -> None:
    old = _migrate(BEFORE)
    Chain, Club = old.get_model("desk", "Chain"), old.get_model("desk", "Club")
    Call, ClubLine = old.get_model("desk", "Call"), old.get_model("desk", "ClubLine")
    club = Club.objects.create(
        chain=Chain.objects.create(name="東湖"), code="donghu", name="東湖會館"
    )
    now = timezone.now()
    keyed = {
        "+86 135 7702 4418": "8613577024418",  # as the old keys were
        "0086 135 7702 4418": "8613577024418",
        "+886 912 345 678": "912345678",
        "0912-345-678": "912345678",
        "08-861-2345": "88612345",
    }
    calls = {
        phone: Call.objects.create(
            club=club, direction="inbound", caller_phone=phone, phone_key=key, started_at=now
        ).pk
        for phone, key in keyed.items()
    }
    mainland = ClubLine.objects.create(club=club, number="862112345678")
    taiwan = ClubLine.objects.create(club=club, number="227001234")

    new = _migrate(AFTER)
    Call, ClubLine = new.get_model("desk", "Call"), new.get_model("desk", "ClubLine")
    keys = {phone: Call.objects.get(pk=pk).phone_key for phone, pk in calls.items()}
    assert keys == {
        "+86 135 7702 4418": "13577024418",
        "0086 135 7702 4418": "13577024418",
        "+886 912 345 678": "912345678",
        "0912-345-678": "912345678",
        "08-861-2345": "88612345",
    }
    assert ClubLine.objects.get(pk=mainland.pk).number == "2112345678"
    assert ClubLine.objects.get(pk=taiwan.pk).number == "227001234"
