"""The example calls of examples/: valid, and together they pass and fail every rule."""

from __future__ import annotations

from collections import defaultdict

from callsop.engine import score
from callsop.policy import default_policy
from callsop.record import Loaded, read_paths
from callsop.rules import SCORED
from tests.helpers import ROOT

CALLS = sorted(str(p) for p in (ROOT / "examples" / "calls").glob("*.json"))


def _loaded(paths: list[str]) -> list[Loaded]:
    items = list(read_paths(paths))
    refused = [str(i) for i in items if not isinstance(i, Loaded)]
    assert not refused, refused
    return [i for i in items if isinstance(i, Loaded)]


def test_there_are_at_least_thirty_example_calls() -> None:
    assert len(_loaded(CALLS)) >= 30


def test_examples_pass_and_fail_every_rule() -> None:
    cards = score([i.record for i in _loaded(CALLS)], default_policy())
    seen: dict[str, set[str]] = defaultdict(set)
    for card in cards:
        for finding in card.findings:
            seen[finding.rule].add(finding.verdict)
    missing = [
        f"{rule.id}: never {verdict}"
        for rule in SCORED
        for verdict in ("pass", "fail")
        if verdict not in seen[rule.id]
    ]
    assert not missing, "\n".join(missing)


def test_the_batch_and_the_transcript_examples_read() -> None:
    batch = _loaded([str(ROOT / "examples" / "batches" / "week-xinyi.jsonl")])
    assert len(batch) >= 10
    [vtt] = _loaded([str(ROOT / "examples" / "transcripts" / "trial-class-enquiry.vtt")])
    assert vtt.record.utterances and vtt.record.utterances[0].speaker == "staff"
    assert (vtt.record.id, vtt.record.direction) == ("xinyi-20261123-0007", "inbound")
