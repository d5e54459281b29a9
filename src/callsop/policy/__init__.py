"""The policy: every threshold, phrase list and weight the rules use.

The default lives in `default.toml` beside this module. A club's file is
merged over it key by key; unknown keys and wrong types are refused with the
key's full name, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

Severity = Literal["critical", "major", "minor"]
Positive = msgspec.Meta(gt=0)


class Timing(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    ring_period_s: float
    timezone: str
    answer_within_rings: int
    give_up_rings: int
    give_up_tolerance_rings: int
    retry_after_min_s: float
    retry_after_max_s: float
    redial_within_s: float
    dial_tries: int
    max_hold_s: float
    ask_before_hold_s: float
    ask_to_continue_after_s: float
    talk_over_grace_s: float
    backchannel_max_s: float
    max_dead_air_s: float


class Speech(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    min_chars_per_minute: float
    max_chars_per_minute: float
    min_staff_speech_s: float
    max_staff_share: float
    min_talk_for_share_s: float
    min_talk_for_recap_s: float
    filler_repeats: int
    min_polite_expressions: int
    self_introduction_turns: int
    verify_party_turns: int
    apologize_unscheduled_turns: int
    min_transfer_summary_chars: int


class Club(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    names: tuple[str, ...]
    name_suffixes: tuple[str, ...]
    consult_lines: tuple[str, ...]


class Matching(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    gap_max_chars: int
    homophone_min_chars: int
    fuzzy_min_chars: int
    fuzzy_min_score: float
    machine_weak_rules: tuple[str, ...]


class Weights(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    critical: float
    major: float
    minor: float


class PolicyData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    timing: Timing
    speech: Speech
    club: Club
    matching: Matching
    weights: Weights
    phrases: dict[str, Any]
    severity: dict[str, Severity]


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Policy:
    """A validated policy. `phrases` maps a phrase-list name to its phrases;
    `polite` maps each §7 expression to the variants that count for it."""

    timing: Timing
    speech: Speech
    club: Club
    matching: Matching
    weights: Weights
    phrases: Mapping[str, tuple[str, ...]]
    polite: Mapping[str, tuple[str, ...]]
    severity: Mapping[str, Severity]
    tz: ZoneInfo
    source: str

    def weight(self, rule_id: str) -> float:
        return float(getattr(self.weights, self.severity[rule_id]))


def default_policy_text() -> str:
    return resources.files("callsop.policy").joinpath("default.toml").read_text("utf-8")


def _default_data() -> dict[str, Any]:
    return tomllib.loads(default_policy_text())


def _merge(base: dict[str, Any], override: Mapping[str, Any], where: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        name = f"{where}.{key}" if where else key
        if key not in base:
            raise PolicyError(f"unknown key {name}")
        if isinstance(base[key], dict) and key != "polite":
            if not isinstance(value, dict):
                raise PolicyError(f"key {name}: expected a table")
            merged[key] = _merge(base[key], value, name)
        else:
            merged[key] = value
    return merged


def _key_of(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    message, _, path = text.partition(" - at `$")
    key = path.rstrip("`").lstrip(".")
    key = key.replace("[", ".").replace("]", "")
    return f"key {key}: {message}" if key else message


SEVERITIES = get_args(Severity)


def _check_severity(data: Mapping[str, Any], source: str) -> None:
    # Checked here, not by msgspec, so the message can name the rule's key.
    table = data.get("severity")
    if not isinstance(table, dict):
        return
    for rule_id, value in table.items():
        if value not in SEVERITIES:
            raise PolicyError(
                f"{source}: key severity.{rule_id}: expected one of {', '.join(SEVERITIES)}, "
                f"got {value!r}"
            )


def build_policy(data: Mapping[str, Any], source: str) -> Policy:
    _check_severity(data, source)
    try:
        parsed = msgspec.convert(data, PolicyData)
    except msgspec.ValidationError as exc:
        raise PolicyError(f"{source}: {_key_of(exc)}") from exc
    phrases: dict[str, tuple[str, ...]] = {}
    polite: dict[str, tuple[str, ...]] = {}
    for name, value in parsed.phrases.items():
        if name == "polite":
            polite = _polite_table(value, source)
        else:
            phrases[name] = _phrase_list(value, f"phrases.{name}", source)
    _check_values(parsed, source)
    _phrase_list(list(parsed.club.names), "club.names", source, may_be_empty=True)
    _phrase_list(list(parsed.club.name_suffixes), "club.name_suffixes", source, may_be_empty=True)
    if not parsed.club.names and not parsed.club.name_suffixes:
        raise PolicyError(f"{source}: key club.names: give the club's names or name_suffixes")
    try:
        tz = ZoneInfo(parsed.timing.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(
            f"{source}: key timing.timezone: unknown time zone {parsed.timing.timezone!r}"
        ) from exc
    return Policy(
        timing=parsed.timing,
        speech=parsed.speech,
        club=parsed.club,
        matching=parsed.matching,
        weights=parsed.weights,
        phrases=phrases,
        polite=polite,
        severity=parsed.severity,
        tz=tz,
        source=source,
    )


def _phrase_list(
    value: Any, key: str, source: str, *, may_be_empty: bool = False
) -> tuple[str, ...]:
    from callsop.text import compile_phrase

    if not isinstance(value, list) or (not value and not may_be_empty):
        raise PolicyError(f"{source}: key {key}: expected a list of at least one phrase")
    for phrase in value:
        if not isinstance(phrase, str):
            raise PolicyError(f"{source}: key {key}: {phrase!r} is not text")
        try:
            compile_phrase(phrase)
        except ValueError:
            raise PolicyError(f"{source}: key {key}: {phrase!r} has no words") from None
    return tuple(value)


def _polite_table(value: Any, source: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise PolicyError(f"{source}: key phrases.polite: expected a table")
    return {k: _phrase_list(v, f"phrases.polite.{k}", source) for k, v in value.items()}


def _check_values(parsed: PolicyData, source: str) -> None:
    t, s = parsed.timing, parsed.speech
    checks: list[tuple[bool, str]] = [
        (t.ring_period_s > 0, "timing.ring_period_s: must be above 0"),
        (t.answer_within_rings >= 1, "timing.answer_within_rings: must be at least 1"),
        (t.give_up_rings >= 1, "timing.give_up_rings: must be at least 1"),
        (t.give_up_tolerance_rings >= 0, "timing.give_up_tolerance_rings: must be 0 or more"),
        (
            0 <= t.retry_after_min_s <= t.retry_after_max_s,
            "timing.retry_after_min_s: must be between 0 and timing.retry_after_max_s",
        ),
        (t.redial_within_s > 0, "timing.redial_within_s: must be above 0"),
        (t.dial_tries >= 1, "timing.dial_tries: must be at least 1"),
        (t.max_hold_s > 0, "timing.max_hold_s: must be above 0"),
        (t.ask_before_hold_s >= 0, "timing.ask_before_hold_s: must be 0 or more"),
        (t.ask_to_continue_after_s > 0, "timing.ask_to_continue_after_s: must be above 0"),
        (t.talk_over_grace_s >= 0, "timing.talk_over_grace_s: must be 0 or more"),
        (t.max_dead_air_s > 0, "timing.max_dead_air_s: must be above 0"),
        (t.backchannel_max_s >= 0, "timing.backchannel_max_s: must be 0 or more"),
        (
            2 <= parsed.matching.homophone_min_chars <= parsed.matching.fuzzy_min_chars,
            "matching.homophone_min_chars: must be at least 2 and at most fuzzy_min_chars",
        ),
        (
            0 < parsed.matching.fuzzy_min_score <= 100,
            "matching.fuzzy_min_score: must be above 0 and at most 100",
        ),
        (
            0 < s.min_chars_per_minute <= s.max_chars_per_minute,
            "speech.min_chars_per_minute: must be above 0 and at most max_chars_per_minute",
        ),
        (0 < s.max_staff_share <= 1, "speech.max_staff_share: must be above 0 and at most 1"),
        (s.filler_repeats >= 2, "speech.filler_repeats: must be at least 2"),
        (s.min_polite_expressions >= 0, "speech.min_polite_expressions: must be 0 or more"),
        (s.self_introduction_turns >= 1, "speech.self_introduction_turns: must be at least 1"),
        (s.verify_party_turns >= 1, "speech.verify_party_turns: must be at least 1"),
        (
            s.apologize_unscheduled_turns >= 1,
            "speech.apologize_unscheduled_turns: must be at least 1",
        ),
        (
            parsed.matching.gap_max_chars >= 0,
            "matching.gap_max_chars: must be 0 or more",
        ),
        (
            all(
                w >= 0
                for w in (parsed.weights.critical, parsed.weights.major, parsed.weights.minor)
            ),
            "weights: must be 0 or more",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise PolicyError(f"{source}: key {message}")
    for rule_id in parsed.matching.machine_weak_rules:
        if rule_id not in parsed.severity:
            raise PolicyError(
                f"{source}: key matching.machine_weak_rules: {rule_id!r} is not a scored rule"
            )


_DEFAULT: Policy | None = None


def default_policy() -> Policy:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = build_policy(_default_data(), "default policy")
    return _DEFAULT


def load_policy(path: str | Path | None) -> Policy:
    """The default policy, or the default with the club's file merged over it."""
    if path is None:
        return default_policy()
    name = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise PolicyError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{name}: not UTF-8 text") from exc
    return parse_policy(text, name)


def parse_policy(text: str, name: str) -> Policy:
    """The default with the overrides in `text` (TOML) merged over it; `name`
    says where the text came from in every error."""
    try:
        override = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{name}: not valid TOML: {exc}") from exc
    return merge_policy(override, name)


def merge_policy(override: Mapping[str, Any], name: str) -> Policy:
    """The default with `override` (parsed TOML) merged over it, key by key."""
    try:
        merged = _merge(_default_data(), override, "")
    except PolicyError as exc:
        raise PolicyError(f"{name}: {exc}") from exc
    return build_policy(merged, name)
