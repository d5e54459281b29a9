"""The speech development corpus (tests/speech_dev/) loads: every file is a
valid call record with verdicts for rules that exist. How often the engine
agrees with those verdicts is the benchmark's figure
(benchmarks/speech_dev.py), not a test."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from callsop.rules import SCORED

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "speech_dev"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("speech_dev", ROOT / "benchmarks/speech_dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["speech_dev"] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()
FILES = sorted(CORPUS.glob("*/*.json"))


def test_the_corpus_has_calls_in_each_folder() -> None:
    folders = {p.parent.name for p in FILES}
    assert "acts" in folders
    assert sum(p.parent.name == "acts" for p in FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_corpus_file_is_a_valid_call_with_known_rules(path: Path) -> None:
    dev = bench.load_file(path)
    known = {rule.id for rule in SCORED}
    assert dev.title and dev.why
    assert set(dev.expect) <= known, set(dev.expect) - known
    judged = dev.calls[0]
    # Speech wherever someone answered; a call that rang out is judged on its timing.
    answered = any(e.type == "answered" for e in judged.events)
    assert judged.utterances or not answered, "an answered call needs utterances"


def test_a_file_with_an_unknown_verdict_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"title": "t", "why": "w", "call": {}, "expect": {"close.farewell": "ok"}}),
        "utf-8",
    )
    with pytest.raises(ValueError, match=r"close\.farewell"):
        bench.load_file(bad)


def test_every_expected_rule_gets_a_finding() -> None:
    outcomes = bench.judge(bench.load_corpus())
    assert outcomes
    assert all(o.got in bench.VERDICTS for o in outcomes), [
        (o.call.name, o.rule) for o in outcomes if o.got not in bench.VERDICTS
    ]
