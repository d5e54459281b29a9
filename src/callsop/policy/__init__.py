"""The policy: every threshold, phrase list and weight the rules use.

The default lives in `default.toml` beside this module. A club's file is
merged over it key by key; unknown keys and wrong types are refused with the
key's full name, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import json
import math
import re
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
    """A policy file that cannot be used; the message names the file and key,
    and `key` holds the key's full name where one is to blame."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


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


# Python's TOML reader slows down with the square of a dotted key's length and
# recurses once per nested bracket, so a policy text is bounded before it is
# read: its size, the dots in a run of key-like characters, and the nesting.
MAX_POLICY_CHARS = 64_000
MAX_KEY_DOTS = 16
MAX_NESTING = 32
_KEYISH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. \t\"'")


def _shape_check(text: str, name: str) -> None:
    if len(text) > MAX_POLICY_CHARS:
        raise PolicyError(
            f"{name}: too long ({len(text):,} characters; at most {MAX_POLICY_CHARS:,})"
        )
    dots = depth = deepest = 0
    for char in text:
        if char == ".":
            dots += 1
            if dots > MAX_KEY_DOTS:
                raise PolicyError(f"{name}: a key of more than {MAX_KEY_DOTS} dotted parts")
        elif char not in _KEYISH:
            dots = 0
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                raise PolicyError(f"{name}: nested more than {MAX_NESTING} deep")
        elif char in "]}":
            depth = max(depth - 1, 0)


def load_toml(text: str, name: str) -> dict[str, Any]:
    """`text` read as TOML, in time linear in its size. Raises PolicyError for
    a text too big or too deep, tomllib.TOMLDecodeError for one that is not TOML."""
    _shape_check(text, name)
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise PolicyError(f"{name}: nested too deeply") from None


def default_policy_text() -> str:
    return resources.files("callsop.policy").joinpath("default.toml").read_text("utf-8")


def _default_data() -> dict[str, Any]:
    return tomllib.loads(default_policy_text())


def _merge(base: dict[str, Any], override: Mapping[str, Any], where: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        name = f"{where}.{key}" if where else key
        if key not in base:
            raise PolicyError(f"unknown key {name}", key=name)
        if isinstance(base[key], dict) and key != "polite":
            if not isinstance(value, dict):
                raise PolicyError(f"key {name}: expected a table", key=name)
            merged[key] = _merge(base[key], value, name)
        else:
            merged[key] = value
    return merged


def _key_of(exc: msgspec.ValidationError) -> tuple[str | None, str]:
    """The key msgspec blames (None if none) and the message naming it."""
    text = str(exc)
    message, _, path = text.partition(" - at `$")
    key = path.rstrip("`").lstrip(".")
    key = key.replace("[", ".").replace("]", "")
    return (key, f"key {key}: {message}") if key else (None, message)


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
                f"got {value!r}",
                key=f"severity.{rule_id}",
            )


def build_policy(data: Mapping[str, Any], source: str) -> Policy:
    _check_severity(data, source)
    try:
        parsed = msgspec.convert(data, PolicyData)
    except msgspec.ValidationError as exc:
        key, message = _key_of(exc)
        raise PolicyError(f"{source}: {message}", key=key) from exc
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
        raise PolicyError(
            f"{source}: key club.names: give the club's names or name_suffixes", key="club.names"
        )
    try:
        tz = ZoneInfo(parsed.timing.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(
            f"{source}: key timing.timezone: unknown time zone {parsed.timing.timezone!r}",
            key="timing.timezone",
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
        raise PolicyError(f"{source}: key {key}: expected a list of at least one phrase", key=key)
    for phrase in value:
        if not isinstance(phrase, str):
            raise PolicyError(f"{source}: key {key}: {phrase!r} is not text", key=key)
        try:
            compile_phrase(phrase)
        except ValueError:
            raise PolicyError(f"{source}: key {key}: {phrase!r} has no words", key=key) from None
    return tuple(value)


def _polite_table(value: Any, source: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise PolicyError(f"{source}: key phrases.polite: expected a table", key="phrases.polite")
    return {k: _phrase_list(v, f"phrases.polite.{k}", source) for k, v in value.items()}


# Each number's range, both ends allowed. The SOP's own numbers (§2.2(2)
# three rings, §1.4(1) ten rings and 3-5 minutes, §4(6) one minute) sit well
# inside; the ceilings keep a club near the SOP, and the floors are low
# enough for the telephony lab, which plays calls at a tenth of real time
# (ring_period_s = 0.3, max_hold_s = 6).
BOUNDS: Mapping[str, tuple[float, float]] = {
    "timing.ring_period_s": (0.1, 10),
    "timing.answer_within_rings": (1, 10),
    "timing.give_up_rings": (1, 30),
    "timing.give_up_tolerance_rings": (0, 5),
    "timing.retry_after_min_s": (1, 3600),
    "timing.retry_after_max_s": (1, 3600),
    "timing.redial_within_s": (1, 600),
    "timing.dial_tries": (1, 10),
    "timing.max_hold_s": (1, 600),
    "timing.ask_before_hold_s": (0, 120),
    "timing.ask_to_continue_after_s": (10, 7200),
    "timing.talk_over_grace_s": (0, 10),
    "timing.backchannel_max_s": (0, 10),
    "timing.max_dead_air_s": (1, 120),
    "speech.min_chars_per_minute": (30, 600),
    "speech.max_chars_per_minute": (30, 900),
    "speech.min_staff_speech_s": (0, 600),
    "speech.max_staff_share": (0.1, 1),
    "speech.min_talk_for_share_s": (0, 3600),
    "speech.min_talk_for_recap_s": (0, 3600),
    "speech.filler_repeats": (2, 10),
    "speech.min_polite_expressions": (0, 20),
    "speech.self_introduction_turns": (1, 10),
    "speech.verify_party_turns": (1, 10),
    "speech.apologize_unscheduled_turns": (1, 10),
    "speech.min_transfer_summary_chars": (1, 200),
    "matching.gap_max_chars": (0, 50),
    "matching.homophone_min_chars": (2, 20),
    "matching.fuzzy_min_chars": (2, 20),
    "matching.fuzzy_min_score": (50, 100),
    "weights.critical": (0.1, 10),
    "weights.major": (0, 10),
    "weights.minor": (0, 10),
}

# Pairs that keep their order: (smaller, larger, whether they may be equal).
# A broken pair is reported on the smaller key.
ORDERED: tuple[tuple[str, str, bool], ...] = (
    ("timing.retry_after_min_s", "timing.retry_after_max_s", False),
    ("timing.give_up_tolerance_rings", "timing.give_up_rings", False),
    ("speech.min_chars_per_minute", "speech.max_chars_per_minute", False),
    ("matching.homophone_min_chars", "matching.fuzzy_min_chars", True),
    ("weights.minor", "weights.major", True),
    ("weights.major", "weights.critical", True),
)


def _number(value: float) -> str:
    return f"{value:g}"


def bound_problem(key: str, value: Any) -> str | None:
    """Why `value` cannot be the number `key`, or None when it can."""
    low, high = BOUNDS[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "expected a number"
    if not math.isfinite(value):
        return f"expected a finite number, got {value!r}"
    if not low <= value <= high:
        return f"must be between {_number(low)} and {_number(high)}, got {_number(value)}"
    return None


def order_problem(
    smaller: str, larger: str, may_equal: bool, low: float, high: float
) -> str | None:
    """Why `low` (the value of `smaller`) and `high` (of `larger`) are out of order."""
    if low < high or (may_equal and low == high):
        return None
    word = "at most" if may_equal else "below"
    return f"must be {word} {larger} ({_number(high)}), got {_number(low)}"


def _value(parsed: PolicyData, key: str) -> Any:
    table, _, name = key.partition(".")
    return getattr(getattr(parsed, table), name)


def _check_values(parsed: PolicyData, source: str) -> None:
    for key in BOUNDS:
        problem = bound_problem(key, _value(parsed, key))
        if problem:
            raise PolicyError(f"{source}: key {key}: {problem}", key=key)
    for smaller, larger, may_equal in ORDERED:
        problem = order_problem(
            smaller, larger, may_equal, _value(parsed, smaller), _value(parsed, larger)
        )
        if problem:
            raise PolicyError(f"{source}: key {smaller}: {problem}", key=smaller)
    expressions = len(parsed.phrases.get("polite") or {})
    if parsed.speech.min_polite_expressions > expressions:
        raise PolicyError(
            f"{source}: key speech.min_polite_expressions: must be at most the "
            f"{expressions} expressions of phrases.polite",
            key="speech.min_polite_expressions",
        )
    for rule_id in parsed.matching.machine_weak_rules:
        if rule_id not in parsed.severity:
            raise PolicyError(
                f"{source}: key matching.machine_weak_rules: {rule_id!r} is not a scored rule",
                key="matching.machine_weak_rules",
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
        override = load_toml(text, name)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{name}: not valid TOML: {exc}") from exc
    return merge_policy(override, name)


def merge_policy(override: Mapping[str, Any], name: str) -> Policy:
    """The default with `override` (parsed TOML) merged over it, key by key."""
    try:
        merged = _merge(_default_data(), override, "")
    except PolicyError as exc:
        raise PolicyError(f"{name}: {exc}", key=exc.key) from exc
    return build_policy(merged, name)


# Writing policies back as TOML ----------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_TABLE_LINE = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$")
_KEY_LINE = re.compile(r'^(?P<key>[A-Za-z0-9_-]+|"[^"]*")\s*=\s*(?P<rest>.*)$')
_COMMENT = re.compile(r"\s+#\s.*$")


def policy_tables(policy: Policy) -> dict[str, dict[str, Any]]:
    """The policy as the tables of a policy file, every key filled in."""
    phrases: dict[str, Any] = {name: list(words) for name, words in policy.phrases.items()}
    phrases["polite"] = {name: list(words) for name, words in policy.polite.items()}
    return {
        "timing": msgspec.to_builtins(policy.timing),
        "speech": msgspec.to_builtins(policy.speech),
        "club": msgspec.to_builtins(policy.club),
        "matching": msgspec.to_builtins(policy.matching),
        "weights": msgspec.to_builtins(policy.weights),
        "phrases": phrases,
        "severity": dict(policy.severity),
    }


def policy_changes(policy: Policy, base: Policy) -> dict[str, dict[str, Any]]:
    """The keys where `policy` differs from `base`, by table: merged over
    `base` they give `policy` back. The §7 table is one value, as in a file."""
    ours, theirs = policy_tables(policy), policy_tables(base)
    changes: dict[str, dict[str, Any]] = {}
    for table, values in ours.items():
        changed = {k: v for k, v in values.items() if theirs[table].get(k) != v}
        if changed:
            changes[table] = changed
    return changes


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    # JSON's escapes are all TOML escapes too.
    return json.dumps(text, ensure_ascii=False)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no place in a policy")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a policy value")


def dump_tables(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """TOML text of policy tables (as `policy_tables` or `policy_changes` give)."""
    out: list[str] = []
    for table, values in tables.items():
        plain = {k: v for k, v in values.items() if not isinstance(v, dict)}
        nested = {k: v for k, v in values.items() if isinstance(v, dict)}
        if plain:
            out.append(f"[{table}]")
            out.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in plain.items())
            out.append("")
        for name, sub in nested.items():
            out.append(f"[{table}.{name}]")
            out.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in sub.items())
            out.append("")
    return "\n".join(out).strip() + "\n" if out else ""


def export_policy(policy: Policy, heading: str = "") -> str:
    """The whole policy as a file: the default's text and comments, with each
    value the policy changes written in its place."""
    ours, default = policy_tables(policy), policy_tables(default_policy())
    same_polite_names = list(ours["phrases"]["polite"]) == list(default["phrases"]["polite"])
    lines = default_policy_text().splitlines()
    out = [f"# {line}" if line else "#" for line in heading.splitlines()]
    table = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        header = _TABLE_LINE.match(line)
        if header:
            table = header["name"]
            out.append(line)
            if table == "phrases.polite" and not same_polite_names:
                # Other §7 expressions than the default's: the table written
                # anew, between the comments before its first key and after its last.
                region = []
                while i < len(lines) and not _TABLE_LINE.match(lines[i]):
                    region.append(lines[i])
                    i += 1
                keyed = [n for n, text in enumerate(region) if _KEY_LINE.match(text)]
                first, last = (keyed[0], keyed[-1]) if keyed else (len(region), len(region) - 1)
                out.extend(region[:first])
                out.extend(
                    f"{toml_key(k)} = {toml_value(v)}" for k, v in ours["phrases"]["polite"].items()
                )
                out.extend(region[last + 1 :])
            continue
        entry = _KEY_LINE.match(line)
        if not entry:
            out.append(line)
            continue
        block = [line]
        if entry["rest"].startswith("[") and entry["rest"].count("[") > entry["rest"].count("]"):
            while i < len(lines):
                block.append(lines[i])
                i += 1
                if lines[i - 1].strip() == "]":
                    break
        key = entry["key"].strip('"')
        if table == "phrases.polite":
            value, was = ours["phrases"]["polite"][key], default["phrases"]["polite"][key]
        else:
            value, was = ours[table][key], default[table][key]
        if value == was:
            out.extend(block)
            continue
        comment = _COMMENT.search(line) if len(block) == 1 else None
        written = f"{entry['key']} = {toml_value(value)}"
        out.append(f"{written:<31} {comment.group().strip()}" if comment else written)
    return "\n".join(out) + "\n"
