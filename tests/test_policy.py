from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from callsop.engine import score
from callsop.policy import PolicyError, default_policy, default_policy_text, load_policy
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
