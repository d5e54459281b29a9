"""`callsop score --lang`: Traditional Chinese by default, English on request."""

from __future__ import annotations

import re

from tests.helpers import ROOT
from tests.test_cli import run

HOLD = str(ROOT / "examples/calls/14-hold-75s-unannounced.json")


def test_english_gives_the_rules_own_words() -> None:
    result = run("score", HOLD, "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "hold of 75 s at 20.3 s (> 60 s)" in result.stdout
    assert "✗ hold.max-duration  §4(6)" in result.stdout
    assert re.search(r"score \d+\.\d  \(pass \d+, fail 2, na \d+\)", result.stdout)
    assert not re.search("[\u4e00-\u9fff]", result.stdout.replace("請稍候", ""))


def test_chinese_stays_the_default() -> None:
    default = run("score", HOLD)
    chinese = run("score", HOLD, "--lang", "zh-Hant")
    assert default.returncode == chinese.returncode == 0
    assert default.stdout == chinese.stdout
    assert "保留 75 秒（第 20.3 秒起），超過 60 秒" in chinese.stdout


def test_an_unknown_language_is_refused() -> None:
    result = run("score", HOLD, "--lang", "fr")
    assert result.returncode == 2
    assert "--lang" in result.stderr
