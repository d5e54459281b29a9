"""The callsop command as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

from callsop.rules import CATALOGUE, SCORED
from tests.helpers import ROOT, dumps, make_record

WriteFile = Callable[[str, str], Path]
CALLS = sorted(str(p) for p in (ROOT / "examples" / "calls").glob("*.json"))


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callsop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_json_gives_every_scored_rule_for_every_record_in_input_order() -> None:
    result = run("score", *CALLS, "--format", "json")
    assert result.returncode == 0, result.stderr
    cards = [json.loads(line) for line in result.stdout.splitlines()]
    ids = []
    for path in CALLS:
        data = json.loads(Path(path).read_text("utf-8"))
        ids += [r["id"] for r in data] if isinstance(data, list) else [data["id"]]
    assert [c["call"] for c in cards] == ids
    scored = [rule.id for rule in SCORED]
    for card in cards:
        assert [f["rule"] for f in card["findings"]] == scored
        assert set(card) == {"call", "score", "findings"}
        for finding in card["findings"]:
            assert finding["verdict"] in ("pass", "fail", "na")
            assert {"rule", "verdict", "clause", "message"} <= set(finding)


def test_table_is_in_traditional_chinese_and_names_failed_rules() -> None:
    result = run("score", str(ROOT / "examples/calls/14-hold-75s-unannounced.json"))
    assert result.returncode == 0, result.stderr
    assert "分數" in result.stdout
    assert "等候不超過一分鐘" in result.stdout
    assert "hold.max-duration" in result.stdout
    assert "保留 75 秒（第 20.3 秒起），超過 60 秒" in result.stdout


def test_a_bad_record_is_refused_by_file_line_and_field_and_the_rest_scored(
    write_file: WriteFile,
) -> None:
    bad = make_record(id="bad")
    bad["events"][1]["t"] = "soon"
    path = write_file("calls.jsonl", dumps(make_record(id="good")) + "\n" + dumps(bad) + "\n")
    result = run("score", str(path), "--format", "json")
    assert result.returncode == 1
    assert [json.loads(line)["call"] for line in result.stdout.splitlines()] == ["good"]
    assert f"{path}:2: record 2 (bad): field events[1].t:" in result.stderr
    assert "1 record(s) refused; 1 scored" in result.stderr


def test_dash_reads_standard_input() -> None:
    result = run("score", "-", "--format", "json", stdin=dumps(make_record(id="piped")))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["call"] == "piped"


def test_a_missing_file_is_refused_not_a_crash() -> None:
    result = run("score", "no-such-file.json")
    assert result.returncode == 1
    assert "refused no-such-file.json: cannot read: No such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_rules_lists_the_whole_catalogue() -> None:
    result = run("rules")
    assert result.returncode == 0
    for rule in CATALOGUE:
        assert rule.id in result.stdout
    assert "指引" in result.stdout  # guide rules are marked as guidance


def test_rule_page_shows_clause_why_options_and_scored_examples() -> None:
    result = run("rules", "hold.ask-before-hold")
    assert result.returncode == 0
    out = result.stdout
    assert "§4(6), 7" in out
    assert "電話裏讓人稍等就不能讓人久等" in out
    assert "timing.ask_before_hold_s = 15" in out
    assert "[通過]" in out and "[未通過]" in out


def test_unknown_rule_suggests_the_near_one() -> None:
    result = run("rules", "hold.max")
    assert result.returncode == 2
    assert "did you mean hold.max-duration" in result.stderr


def test_policy_prints_the_default_as_toml() -> None:
    result = run("policy")
    assert result.returncode == 0
    assert tomllib.loads(result.stdout)["timing"]["answer_within_rings"] == 3


def test_club_policy_is_used_and_a_bad_one_names_the_key(write_file: WriteFile) -> None:
    call = str(ROOT / "examples/calls/14-hold-75s-unannounced.json")
    lenient = write_file("lenient.toml", "[timing]\nmax_hold_s = 120\n")
    card = json.loads(run("score", call, "--format", "json", "--policy", str(lenient)).stdout)
    verdict = {f["rule"]: f["verdict"] for f in card["findings"]}
    assert verdict["hold.max-duration"] == "pass"
    typo = write_file("typo.toml", "[timing]\nmax_hold = 120\n")
    result = run("score", call, "--policy", str(typo))
    assert result.returncode == 2
    assert "key timing.max_hold" in result.stderr
    assert "Traceback" not in result.stderr


def test_now_must_carry_an_offset() -> None:
    result = run("score", CALLS[0], "--now", "2026-11-27T10:00:00")
    assert result.returncode == 2
    assert "UTC offset" in result.stderr
