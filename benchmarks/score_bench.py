"""How fast `callsop score` is, against a plain Python JSON round trip.

Generates a batch of realistic calls (benchmarks/generate.py: about 1,500
characters of talk each, with events, notes, memos and tasks), then times,
best of several runs, two commands over the same file:
  - `callsop score FILE --format json` (all cores, as a user runs it), and
  - a plain Python round trip (parse each line, dump a small dict),
and prints calls per second and their ratio (target: at most 3x). Then it
shows that time and memory per call stay flat as the batch grows, even when
every call is to the same number (history matching is not quadratic), and
what each analysis costs a call: the transcript, then the costliest rules.

    python benchmarks/score_bench.py [--calls 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import write_batch

TARGET_RATIO = 3.0

ROUND_TRIP = """
import json, sys
out = sys.stdout
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        record = json.loads(line)
        out.write(json.dumps({"call": record["id"], "turns": len(record["utterances"])}) + "\\n")
"""


def best_of(runs: int, command: list[str]) -> float:
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - began)
    return best


def callsop(path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "callsop", "score", str(path), "--format", "json", *extra]


def run_measured(command: list[str]) -> tuple[float, int]:
    """Seconds and peak memory (KiB) of one command, from the kernel's own
    accounting of that child (wait4), not the high-water mark of all."""
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"{command[:4]} failed with status {status}")
    return elapsed, usage.ru_maxrss


def growth(folder: Path, sizes: list[int]) -> None:
    """Time and peak memory per call of one process (--jobs 1) by batch size,
    less the time a one-call batch takes (start-up, loading the policy)."""
    one = folder / "one.jsonl"
    write_batch(one, 1)
    startup = min(run_measured(callsop(one, "--jobs", "1"))[0] for _ in range(3))
    for same_number in (False, True):
        label = "one number " if same_number else "own numbers"
        for size in sizes:
            path = folder / f"growth-{size}-{same_number}.jsonl"
            write_batch(path, size, same_number=same_number)
            elapsed, peak_kib = run_measured(callsop(path, "--jobs", "1"))
            print(
                f"  {label} {size:>6} calls: {(elapsed - startup) * 1e6 / size:6.0f} µs/call, "
                f"peak memory {peak_kib / 1024:5.0f} MiB ({peak_kib / size:5.1f} KiB/call)"
            )


COSTS = """
import functools, sys, time
from collections import Counter
from callsop.engine import score
from callsop.engine.call import Call
from callsop.policy import default_policy
from callsop.record.reader import read_paths
from callsop.rules import SCORED
records = [item.record for item in read_paths([sys.argv[1]])]
policy = default_policy()
score(records[:50], policy)  # warm: compiled policy, caches
spent = Counter()
for rule in SCORED:
    def timed(call, check=rule.check, rid=rule.id):
        began = time.perf_counter()
        try:
            return check(call)
        finally:
            spent[rid] += time.perf_counter() - began
    object.__setattr__(rule, "check", timed)
build = Call.__dict__["transcript"].func
def transcript(self):
    began = time.perf_counter()
    try:
        return build(self)
    finally:
        spent["(transcript: normalised text and phrase hits)"] += time.perf_counter() - began
cached = functools.cached_property(transcript)
cached.__set_name__(Call, "transcript")
Call.transcript = cached
began = time.perf_counter()
score(records, policy)
total = time.perf_counter() - began
n = len(records)
print(f"per call, one process: {total / n * 1e6:.0f} µs, of which (a rule's time holds the transcript's the first time one asks):")
for name, s in spent.most_common(12):
    print(f"  {s / n * 1e6:7.1f} µs  {name}")
"""


def costs(path: Path, calls: int) -> None:
    """µs a call of the transcript and of each rule's analysis, in one process."""
    with path.open("rb") as whole, (path.parent / "costs.jsonl").open("wb") as part:
        for _, line in zip(range(calls), whole, strict=False):
            part.write(line)
    subprocess.run([sys.executable, "-c", COSTS, str(path.parent / "costs.jsonl")], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = folder / "calls.jsonl"
        write_batch(path, args.calls)
        with path.open(encoding="utf-8") as lines:
            talk = sum(
                sum(len(u["text"]) for u in json.loads(line)["utterances"]) for line in lines
            )
        size_mb = path.stat().st_size / 1e6
        print(
            f"batch: {args.calls} calls, {talk / args.calls:.0f} characters of talk a call, {size_mb:.0f} MB"
        )
        ours = best_of(args.runs, callsop(path))
        plain = best_of(args.runs, [sys.executable, "-c", ROUND_TRIP, str(path)])
        one_core = best_of(args.runs, callsop(path, "--jobs", "1"))
        ratio = ours / plain
        print(
            f"callsop score --format json:       {ours:6.2f} s  ({args.calls / ours:,.0f} calls/s)"
        )
        print(
            f"  the same on one core (--jobs 1): {one_core:6.2f} s  ({args.calls / one_core:,.0f} calls/s)"
        )
        print(
            f"plain JSON round trip:             {plain:6.2f} s  ({args.calls / plain:,.0f} calls/s)"
        )
        verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
        print(f"ratio: {ratio:.2f}x ({verdict} the target of at most {TARGET_RATIO:g}x)")
        print("growth, one process (start-up taken off):")
        growth(folder, [args.calls // 4, args.calls // 2, args.calls])
        costs(path, min(args.calls, 3000))
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
