"""How often the engine agrees with a careful reviewer on real-style speech.

The development corpus, tests/speech_dev/<folder>/*.json, holds calls
written the way people and speech recognisers talk (no punctuation,
colloquial, mainland and Taiwan wording, numbers in words, recogniser
errors), one call a file:

    {"title": "...", "why": "the SOP clause behind each verdict",
     "call": {a case as in src/callsop/rules/cases/*.json},
     "expect": {"rule.id": "pass" | "fail" | "na", ...}}

Each call is scored on its own (a case with "batch" is several calls scored
together, the first judged) with the default policy. Printed: agreement per
rule, per folder and overall, then every disagreement with the finding's
message.

    .venv/bin/python benchmarks/speech_dev.py            # the whole corpus
    .venv/bin/python benchmarks/speech_dev.py acts       # one folder
    .venv/bin/python benchmarks/speech_dev.py --quiet    # figures only
    .venv/bin/python benchmarks/speech_dev.py --timing 2000
        # the per-call cost of each speech-act analysis, on generated calls
    .venv/bin/python benchmarks/speech_dev.py --weak ""
        # no rule held back on machine transcripts (or a comma-separated list
        # in place of the policy's matching.machine_weak_rules)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from callsop.engine import score
from callsop.engine.call import Compiled
from callsop.engine.transcript import Transcript
from callsop.policy import default_policy
from callsop.record.model import CallRecord
from callsop.rules import speech_acts
from callsop.rules.examples import _record

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "speech_dev"
VERDICTS = ("pass", "fail", "na")
TARGET = 0.97


@dataclass(frozen=True)
class DevCall:
    path: Path
    folder: str
    title: str
    why: str
    calls: tuple[CallRecord, ...]  # calls[0] is judged
    expect: dict[str, str]

    @property
    def name(self) -> str:
        return f"{self.folder}/{self.path.name}"


def load_file(path: Path) -> DevCall:
    """One corpus file as records; raises ValueError naming what is wrong."""
    data: Any = json.loads(path.read_text("utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: not a JSON object")
    for key in ("title", "why", "call", "expect"):
        if key not in data:
            raise ValueError(f"{path.name}: no {key!r}")
    expect = data["expect"]
    if not isinstance(expect, dict) or not expect:
        raise ValueError(f"{path.name}: 'expect' must map rule ids to verdicts")
    for rule, verdict in expect.items():
        if verdict not in VERDICTS:
            raise ValueError(f"{path.name}: {rule} expects {verdict!r}, not one of {VERDICTS}")
    case = data["call"]
    parts = case.get("batch", [case])
    stem = f"dev:{path.parent.name}:{path.stem}"
    calls = tuple(_record(stem, "call", 0, m, part) for m, part in enumerate(parts))
    return DevCall(path, path.parent.name, data["title"], data["why"], calls, dict(expect))


def load_corpus(root: Path = CORPUS, folders: tuple[str, ...] = ()) -> list[DevCall]:
    paths = sorted(root.glob("*/*.json"))
    return [load_file(p) for p in paths if not folders or p.parent.name in folders]


@dataclass(frozen=True)
class Outcome:
    call: DevCall
    rule: str
    expected: str
    got: str
    message: str

    @property
    def agrees(self) -> bool:
        return self.expected == self.got


def judge(corpus: list[DevCall], weak: tuple[str, ...] | None = None) -> list[Outcome]:
    """Each stated verdict against the engine's; `weak`, when given, stands
    in for the policy's `matching.machine_weak_rules`."""
    policy = default_policy()
    if weak is not None:
        matching = msgspec.structs.replace(policy.matching, machine_weak_rules=weak)
        policy = dataclasses.replace(policy, matching=matching)
    out = []
    for dev in corpus:
        card = score(list(dev.calls), policy)[0]
        findings = {f.rule: f for f in card.findings}
        for rule, expected in dev.expect.items():
            finding = findings.get(rule)
            got = finding.verdict if finding else "missing"
            out.append(Outcome(dev, rule, expected, got, finding.message if finding else ""))
    return out


def _share(items: list[Outcome]) -> str:
    agreed = sum(o.agrees for o in items)
    return f"{agreed}/{len(items)} = {agreed / len(items):.1%}" if items else "-"


def report(outcomes: list[Outcome], quiet: bool = False) -> float:
    by_rule: defaultdict[str, list[Outcome]] = defaultdict(list)
    by_folder: defaultdict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_rule[o.rule].append(o)
        by_folder[o.call.folder].append(o)
    print("| rule | agreement |\n|---|---|")
    for rule in sorted(by_rule):
        print(f"| {rule} | {_share(by_rule[rule])} |")
    print("\n| folder | calls | agreement |\n|---|---|---|")
    for folder in sorted(by_folder):
        calls = len({o.call.path for o in by_folder[folder]})
        print(f"| {folder} | {calls} | {_share(by_folder[folder])} |")
    calls = len({o.call.path for o in outcomes})
    print(f"\noverall: {calls} calls, {_share(outcomes)} (target {TARGET:.0%})")
    wrong = [o for o in outcomes if not o.agrees]
    if wrong and not quiet:
        print("\ndisagreements:")
        for o in wrong:
            print(f"  {o.call.name} {o.rule}: expected {o.expected}, got {o.got}: {o.message}")
    agreed = sum(o.agrees for o in outcomes)
    return agreed / len(outcomes) if outcomes else 1.0


def timing(count: int) -> None:
    """µs a call of each analysis of callsop.rules.speech_acts, best of 3,
    on `count` generated calls (benchmarks/generate.py), each analysis run
    over every staff turn as a rule that applies would."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))

    from generate import calls

    book = Compiled.of(default_policy()).book
    records = [msgspec.convert(c, CallRecord) for c in calls(count)]
    transcripts = [Transcript(r.utterances, book) for r in records]

    def questions(t: Transcript) -> object:
        return [speech_acts.clarifying_cue(t.norms[i]) for i in t.staff]

    def farewell(t: Transcript) -> object:
        return speech_acts.farewell_cue(t.norms[t.staff[-1]])

    analyses: dict[str, Callable[[Transcript], object]] = {
        "questions (every staff turn)": questions,
        "farewell (last staff turn)": farewell,
        "pushback": lambda t: speech_acts.pushback(t, complaint=True),
        "recap": speech_acts.recap,
        "spoken holds": speech_acts.spoken_holds,
    }
    print(f"{count} generated calls, µs a call (best of 3):")
    for name, analyse in analyses.items():
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            for t in transcripts:
                analyse(t)
            best = min(best, time.perf_counter() - began)
        print(f"  {name:30s} {best / count * 1e6:8.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", help="only these folders of the corpus")
    parser.add_argument("--quiet", action="store_true", help="figures only")
    parser.add_argument("--timing", type=int, metavar="N", help="time the analyses on N calls")
    parser.add_argument(
        "--weak",
        metavar="RULES",
        help="comma-separated rules held back on machine transcripts instead of the policy's"
        " (an empty string holds none back)",
    )
    args = parser.parse_args(argv)
    if args.timing:
        timing(args.timing)
        return 0
    corpus = load_corpus(folders=tuple(args.folders))
    if not corpus:
        print("no corpus files found", file=sys.stderr)
        return 1
    weak = None if args.weak is None else tuple(r for r in args.weak.split(",") if r)
    report(judge(corpus, weak), quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
