from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from callsop.engine import score
from callsop.policy import (
    BOUNDS,
    ORDERED,
    PolicyError,
    default_policy,
    default_policy_text,
    dump_tables,
    export_policy,
    load_policy,
    parse_policy,
    policy_changes,
    policy_tables,
)
from callsop.record import CallRecord
from callsop.rules import SCORED
from tests.helpers import make_record

WriteFile = Callable[[str, str], Path]


def test_default_policy_follows_the_sop() -> None:
    p = default_policy()
    assert p.timing.answer_within_rings == 3
    assert p.timing.max_hold_s == 60
    assert p.timing.ask_before_hold_s == 15
    assert (p.timing.give_up_rings, p.timing.give_up_tolerance_rings) == (10, 1)
    assert (p.timing.retry_after_min_s, p.timing.retry_after_max_s) == (180, 300)
    assert p.timing.redial_within_s == 60
    assert p.timing.ask_to_continue_after_s == 300
    assert p.timing.ring_period_s == 3.0
    assert (p.speech.min_chars_per_minute, p.speech.max_chars_per_minute) == (120, 300)
    assert p.speech.max_staff_share == 0.70
    assert p.speech.filler_repeats == 3
    assert p.club.name_suffixes == ("會館",)
    assert set(p.polite) == {
        "貴姓",
        "貴公司",
        "貴方",
        "您好",
        "請稍候",
        "多謝",
        "對不起",
        "沒關係",
        "打擾了",
        "再見",
    }
    assert {"請稍候", "請稍等", "稍等一下"} <= set(p.polite["請稍候"])


def test_every_scored_rule_has_a_severity_and_nothing_else_does() -> None:
    assert set(default_policy().severity) == {rule.id for rule in SCORED}


def test_printed_policy_is_valid_toml_that_loads_back(write_file: WriteFile) -> None:
    path = write_file("club.toml", default_policy_text())
    assert tomllib.loads(default_policy_text())
    assert load_policy(path).timing == default_policy().timing


def test_club_file_overrides_only_its_keys(write_file: WriteFile) -> None:
    path = write_file("club.toml", '[timing]\nmax_hold_s = 90\n[club]\nnames = ["信義館"]\n')
    policy = load_policy(path)
    assert policy.timing.max_hold_s == 90
    assert policy.timing.answer_within_rings == 3
    assert policy.club.names == ("信義館",)
    assert policy.phrases == default_policy().phrases


def test_club_policy_changes_the_verdict(write_file: WriteFile) -> None:
    record = make_record(
        events=[
            {"t": 0.0, "type": "ringing"},
            {"t": 5.0, "type": "answered"},
            {"t": 20.0, "type": "hold"},
            {"t": 95.0, "type": "resume"},
            {"t": 120.0, "type": "hangup", "by": "customer"},
        ]
    )
    call = msgspec.convert(record, CallRecord)
    strict = score([call], default_policy())[0]
    lenient = score([call], load_policy(write_file("club.toml", "[timing]\nmax_hold_s = 90\n")))[0]
    assert strict.verdict("hold.max-duration") == "fail"
    assert lenient.verdict("hold.max-duration") == "pass"


def test_club_can_change_a_rule_severity(write_file: WriteFile) -> None:
    policy = load_policy(write_file("club.toml", '[severity]\n"talk.speech-rate" = "critical"\n'))
    assert policy.weight("talk.speech-rate") == policy.weights.critical


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[timing]\nmax_hold = 90\n", "timing.max_hold"),
        ("[timeing]\nmax_hold_s = 90\n", "timeing"),
        ('[timing]\nmax_hold_s = "sixty"\n', "timing.max_hold_s"),
        ("[timing]\nmax_hold_s = -5\n", "timing.max_hold_s"),
        ("[timing]\nretry_after_min_s = 400\n", "timing.retry_after_min_s"),
        ('[timing]\ntimezone = "Mars/Olympus"\n', "timing.timezone"),
        ('[severity]\n"hold.max-duration" = "huge"\n', "severity.hold.max-duration"),
        ('[severity]\n"hold.max-time" = "major"\n', "severity.hold.max-time"),
        ("[phrases]\ngreeting = []\n", "phrases.greeting"),
        ('[phrases]\ngreeting = "您好"\n', "phrases.greeting"),
        ("timing = 3\n", "timing"),
        ('[phrases]\ngreeting = ["。"]\n', "phrases.greeting"),
        ('[phrases]\ngreeting = ["…"]\n', "phrases.greeting"),
        ('[club]\nnames = [""]\n', "club.names"),
        ("[club]\nnames = []\nname_suffixes = []\n", "club.names"),
    ],
)
def test_bad_policy_names_the_key(write_file: WriteFile, text: str, named: str) -> None:
    path = write_file("club.toml", text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert str(path) in message
    assert named in message


def test_policy_that_is_not_toml_says_so(write_file: WriteFile) -> None:
    path = write_file("club.toml", "[timing\nmax_hold_s = 90\n")
    with pytest.raises(PolicyError, match=r"not valid TOML.*line 1"):
        load_policy(path)


@pytest.mark.parametrize(
    ("text", "named", "words"),
    [
        ("[timing]\nring_period_s = 1e-300\n", "timing.ring_period_s", "between 0.1 and 10"),
        ("[timing]\nring_period_s = nan\n", "timing.ring_period_s", "finite"),
        ("[timing]\nring_period_s = inf\n", "timing.ring_period_s", "finite"),
        ("[timing]\nring_period_s = -inf\n", "timing.ring_period_s", "finite"),
        ("[timing]\nring_period_s = -3\n", "timing.ring_period_s", "between"),
        ("[timing]\nring_period_s = true\n", "timing.ring_period_s", "got `bool`"),
        ("[timing]\nanswer_within_rings = true\n", "timing.answer_within_rings", "got `bool`"),
        ("[timing]\nanswer_within_rings = 11\n", "timing.answer_within_rings", "between 1 and 10"),
        ("[timing]\nanswer_within_rings = 0\n", "timing.answer_within_rings", "between 1 and 10"),
        ("[timing]\nanswer_within_rings = 2.0\n", "timing.answer_within_rings", "`int`"),
        ("[timing]\nmax_hold_s = 601\n", "timing.max_hold_s", "between 1 and 600"),
        ("[timing]\nmax_hold_s = 1e400\n", "timing.max_hold_s", "finite"),
        ("[timing]\ngive_up_rings = 100000000000000000000\n", "timing.give_up_rings", ""),
        ("[timing]\nretry_after_min_s = 300\n", "timing.retry_after_min_s", "below"),
        (
            "[timing]\ngive_up_tolerance_rings = 5\ngive_up_rings = 4\n",
            "give_up_tolerance",
            "below",
        ),
        ("[speech]\nmin_chars_per_minute = 300\n", "speech.min_chars_per_minute", "below"),
        ("[speech]\nmax_staff_share = 1.5\n", "speech.max_staff_share", "between 0.1 and 1"),
        ("[speech]\nmin_polite_expressions = 11\n", "speech.min_polite_expressions", "at most"),
        ("[matching]\nhomophone_min_chars = 5\n", "matching.homophone_min_chars", "at most"),
        ("[weights]\nminor = 4\n", "weights.minor", "at most weights.major"),
        ("[weights]\ncritical = 0\nmajor = 0\nminor = 0\n", "weights.critical", "between"),
    ],
)
def test_a_value_out_of_the_sops_bounds_is_refused_naming_the_key(
    write_file: WriteFile, text: str, named: str, words: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(write_file("club.toml", text))
    assert named in str(caught.value)
    assert words in str(caught.value)
    assert caught.value.key is not None and named in caught.value.key


def test_the_bounds_hold_the_sops_numbers_and_the_labs_tenfold_time(write_file: WriteFile) -> None:
    for key, (low, high) in BOUNDS.items():
        table, _, name = key.partition(".")
        assert low <= getattr(getattr(default_policy(), table), name) <= high, key
    lab = "[timing]\nring_period_s = 0.3\nmax_hold_s = 6\nretry_after_min_s = 1.8\n"
    assert (
        load_policy(write_file("lab.toml", lab + "retry_after_max_s = 3.0\n")).timing.max_hold_s
        == 6
    )


def test_every_bound_and_order_names_a_real_key() -> None:
    tables = policy_tables(default_policy())
    for key in [*BOUNDS, *(k for pair in ORDERED for k in pair[:2])]:
        table, _, name = key.partition(".")
        assert name in tables[table], key


def test_changes_written_as_toml_merge_back_to_the_same_policy() -> None:
    changed = parse_policy(
        '[timing]\nmax_hold_s = 45\n[phrases]\ngreeting = ["您好"]\n'
        '[severity]\n"talk.speech-rate" = "critical"\n[matching]\nmachine_weak_rules = []\n',
        "club.toml",
    )
    text = dump_tables(policy_changes(changed, default_policy()))
    assert "answer_within_rings" not in text
    again = parse_policy(text, "again.toml")
    assert policy_tables(again) == policy_tables(changed)
    assert dump_tables(policy_changes(default_policy(), default_policy())) == ""


def test_the_export_keeps_the_defaults_comments_and_loads_back() -> None:
    assert export_policy(default_policy()) == default_policy_text()
    changed = parse_policy(
        "[timing]\nmax_hold_s = 45\n[speech]\nmin_polite_expressions = 1\n"
        '[phrases]\nsurnames = ["陳", "林"]\n[phrases.polite]\n"您好" = ["您好", "你好"]\n',
        "club.toml",
    )
    text = export_policy(changed, "信義會館的設定")
    assert text.startswith("# 信義會館的設定\n")
    assert "max_hold_s = 45.0               # §4(6) 不超過一分鐘" in text
    assert "# §7 禮貌用語" in text
    assert policy_tables(parse_policy(text, "export.toml")) == policy_tables(changed)


def test_the_default_policys_comments_are_traditional_chinese() -> None:
    comments = [
        line.partition("#")[2]
        for line in default_policy_text().splitlines()
        if "#" in line and not line.lstrip().startswith('"')
    ]
    assert comments
    for comment in comments:
        words = re.findall(r"[A-Za-z][A-Za-z_.]{3,}", comment)
        # Keys, file names and the command line stay as they are spelled.
        english = [w for w in words if "_" not in w and "." not in w and w not in KEPT_AS_SPELLED]
        assert not english, comment


KEPT_AS_SPELLED = {"callsop", "score", "policy", "benchmarks", "line", "critical", "major", "minor"}
