"""The club's policy: the default with the club's overrides, cached per version."""

from __future__ import annotations

import tomllib
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from callsop.desk.models import Club
from callsop.desk.services.errors import ActionError
from callsop.policy import Policy, PolicyError, merge_policy

_CACHE: dict[tuple[int, str], Policy] = {}


def _overrides(club: Club, text: str) -> dict[str, Any]:
    data = tomllib.loads(text) if text.strip() else {}
    # The club's own name counts as its name unless the club says otherwise,
    # and so does its time zone.
    club_table = data.setdefault("club", {})
    if isinstance(club_table, dict):
        club_table.setdefault("names", [club.name])
    timing = data.setdefault("timing", {})
    if isinstance(timing, dict):
        timing.setdefault("timezone", club.timezone)
    return data


def policy_of(club: Club) -> Policy:
    key = (club.pk, club.policy_toml)
    policy = _CACHE.get(key)
    if policy is None:
        policy = merge_policy(_overrides(club, club.policy_toml), f"{club.name} policy")
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = policy
    return policy


def check_policy_text(club: Club, text: str) -> Policy:
    """The policy `text` would give the club, or ActionError naming the key."""
    try:
        return merge_policy(_overrides(club, text), "policy")
    except tomllib.TOMLDecodeError as exc:
        raise ActionError(f"TOML 格式錯誤：{exc}", field="policy_toml") from exc
    except PolicyError as exc:
        raise ActionError(f"設定有誤：{exc}", field="policy_toml") from exc


@transaction.atomic(durable=True)
def club_policy_save(*, club: Club, text: str, now: datetime | None = None) -> Club:
    """A manager's edit of the club's thresholds and phrases; refused whole if invalid."""
    check_policy_text(club, text)
    club.policy_toml = text.strip() + "\n" if text.strip() else ""
    club.policy_updated_at = now or timezone.now()
    club.save(update_fields=["policy_toml", "policy_updated_at"])
    return club
