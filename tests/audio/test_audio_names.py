"""FreePBX recording names: every prefix, empty numbers, and the start from the uniqueid."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from callsop.audio.names import parse_name

TAIPEI = ZoneInfo("Asia/Taipei")
EPOCH = 1795749005  # 2026-11-27T03:10:05Z


def test_an_empty_caller_id_is_an_inbound_call_without_a_number() -> None:
    named = parse_name(f"in-0227001234--20261127-111005-{EPOCH}.7.wav", TAIPEI)
    assert named is not None
    assert named.direction == "inbound"
    assert named.customer_phone is None
    assert named.started_at == datetime(2026, 11, 27, 3, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "direction", "phone"),
    [
        ("in", "inbound", "0933222111"),
        ("q", "inbound", "0933222111"),
        ("rg", "inbound", "0933222111"),
        ("out", "outbound", "600"),
        ("exten", None, "0933222111"),
        ("external", None, "0933222111"),
        ("internal", None, "0933222111"),
        ("ondemand", None, "0933222111"),
        ("force", None, "0933222111"),
    ],
)
def test_each_freepbx_prefix(kind: str, direction: str | None, phone: str) -> None:
    named = parse_name(f"{kind}-600-0933222111-20261127-111005-{EPOCH}.8.wav", TAIPEI)
    assert named is not None
    assert (named.direction, named.customer_phone) == (direction, phone)


def test_other_names_are_not_calls() -> None:
    assert parse_name("voicemail-600-0933222111-20261127-111005-1.8.wav", TAIPEI) is None
    assert parse_name("call.wav", TAIPEI) is None
    assert parse_name("in-600-0933222111-20261327-111005-1.8.wav", TAIPEI) is None


def test_the_uniqueid_gives_the_start_whatever_the_pbx_time_zone() -> None:
    # The PBX keeps UTC, so its name says 03:10 local; the desk is in Taipei.
    named = parse_name(f"in-600-0933222111-20261127-031005-{EPOCH}.8.wav", TAIPEI)
    assert named is not None
    assert named.started_at.isoformat() == "2026-11-27T11:10:05+08:00"


def test_without_a_uniqueid_that_agrees_the_name_is_local_time() -> None:
    bare = parse_name("in-600-0933222111-20261127-111005.wav", TAIPEI)
    far = parse_name("in-600-0933222111-20261127-111005-1764213005.8.wav", TAIPEI)  # 2025
    for named in (bare, far):
        assert named is not None
        assert named.started_at.isoformat() == "2026-11-27T11:10:05+08:00"
