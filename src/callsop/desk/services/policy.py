"""The club's policy: the default with the club's overrides, cached per version."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from callsop.desk.models import Club, PolicyChange, Staff
from callsop.desk.services.errors import ActionError
from callsop.policy import (
    Policy,
    PolicyError,
    dump_tables,
    load_toml,
    merge_policy,
    policy_changes,
)

_CACHE: dict[tuple[int, str], Policy] = {}
_AT_LINE = re.compile(r"at line (\d+), column (\d+)")


def _overrides(club: Club, text: str) -> dict[str, Any]:
    data = load_toml(text, "policy") if text.strip() else {}
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
    return policy_of_text(club, club.policy_toml)


def check_policy_text(club: Club, text: str) -> Policy:
    """The policy `text` would give the club, or ActionError naming the key."""
    try:
        return merge_policy(_overrides(club, text), "policy")
    except tomllib.TOMLDecodeError as exc:
        where = _AT_LINE.search(str(exc))
        line = f"第 {where[1]} 行第 {where[2]} 字" if where else "某處"
        raise ActionError(f"TOML 格式錯誤，在{line}：{exc}", field="policy_toml") from exc
    except PolicyError as exc:
        named = f"（項目 {exc.key}）" if exc.key else ""
        raise ActionError(f"設定有誤{named}：{exc}", field="policy_toml") from exc


def club_baseline(club: Club) -> Policy:
    """What the club's policy is with nothing of its own: the default, with
    the club's name and time zone."""
    return policy_of_text(club, "")


def policy_of_text(club: Club, text: str) -> Policy:
    key = (club.pk, f"{club.name}\0{club.timezone}\0{text}")
    policy = _CACHE.get(key)
    if policy is None:
        policy = merge_policy(_overrides(club, text), f"{club.name} policy")
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = policy
    return policy


def overrides_text(club: Club, policy: Policy) -> str:
    """The TOML of what `policy` changes in the club's baseline, and nothing more."""
    return dump_tables(policy_changes(policy, club_baseline(club)))


def _store(club: Club, text: str, now: datetime | None, by: Staff | None) -> Club:
    before = club.policy_toml
    club.policy_toml = text.strip() + "\n" if text.strip() else ""
    club.policy_updated_at = now or timezone.now()
    club.save(update_fields=["policy_toml", "policy_updated_at"])
    if club.policy_toml != before:
        PolicyChange.objects.create(
            club=club, by=by, at=club.policy_updated_at, before=before, after=club.policy_toml
        )
    return club


def policy_history(club: Club, limit: int = 20) -> list[PolicyChange]:
    """The club's latest policy edits, newest first."""
    return list(club.policy_changes.select_related("by")[:limit])


@transaction.atomic(durable=True)
def club_policy_set(
    *, club: Club, policy: Policy, by: Staff | None = None, now: datetime | None = None
) -> Club:
    """A manager's edit of the policy as a form: kept as the keys it changes,
    so the rest follows the default."""
    return _store(club, overrides_text(club, policy), now, by)


@transaction.atomic(durable=True)
def club_policy_save(
    *, club: Club, text: str, by: Staff | None = None, now: datetime | None = None
) -> Club:
    """A manager's edit of the club's thresholds and phrases; refused whole if invalid."""
    check_policy_text(club, text)
    return _store(club, text, now, by)
