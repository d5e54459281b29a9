"""How well recordings stand in for a person's transcript, on the scripted calls.

Every scenario of tests/audio/scripted.py is built as a PBX writes it
(8 kHz µ-law, two channels) with white noise at 20 dB and 10 dB, and, for
calls with a hold, with both kinds of hold music. Each recording is heard
twice: voice only (no recogniser) and with the machine transcript (Whisper
base). Printed, as Markdown tables to paste into a note:

1. the voice metrics against the truth: utterance starts (median and
   maximum error), talk-overs, holds and dead air found within 1 s, and
   the machine transcript's character error rate per side;
2. per rule, the verdicts on the human-transcript record, the voice-only
   record and the machine-transcript record, each with the same PBX events
   and desk data (only the speech differs): agreement with the human
   verdict, and the false-fail rate of machine transcripts (machine says
   fail where the human transcript passes). Machine verdicts are scored
   with no rule held back as too weak (`machine_weak_rules = []`), so the
   rates say which rules belong in that list (over 5 %); the last column
   is the false-fail rate left with the default policy (its weak rules,
   and the fails no misheard word explains that stand on them).

    .venv/bin/python benchmarks/speech_accuracy.py                # everything (~10 min)
    .venv/bin/python benchmarks/speech_accuracy.py --no-machine   # voice only (~1 min)
    .venv/bin/python benchmarks/speech_accuracy.py --clips        # also the test clips' CER
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.audio.scripted import SCENARIOS, Built, Hold, Span, build
from tests.audio.sound import Music, catalogue, clip, write

from callsop.audio import Heard, hear
from callsop.audio.recognise import Recogniser
from callsop.engine import score
from callsop.engine.findings import Finding
from callsop.policy import Policy, default_policy, parse_policy
from callsop.record.reader import Loaded, read_bytes

SNRS = (20.0, 10.0)
MUSIC: tuple[Music, ...] = ("tonal", "hard")
WITHIN_S = 1.0
FALSE_FAIL_LIMIT = 0.05
AUDIO_FIELDS = ("syllables", "source")


@dataclass(frozen=True)
class Run:
    scenario: str
    snr: float
    music: str  # "-" for a call without hold music
    built: Built
    voice: Heard
    machine: Heard | None
    voice_s: float
    machine_s: float

    @property
    def label(self) -> str:
        return f"{self.scenario} {self.snr:.0f} dB {self.music}"


def conditions(names: Sequence[str]) -> Iterable[tuple[str, float, Music, bool]]:
    for name in names:
        has_music = any(isinstance(s, Hold) and s.music for s in SCENARIOS[name]().steps)
        for snr in SNRS:
            for music in MUSIC if has_music else MUSIC[:1]:
                yield name, snr, music, has_music


def run_all(names: Sequence[str], recogniser: Recogniser | None, folder: Path) -> list[Run]:
    runs = []
    for index, (name, snr, music, has_music) in enumerate(conditions(names)):
        built = build(
            SCENARIOS[name](), folder, snr_db=snr, music=music, seed=index, name=f"c{index}"
        )
        began = time.perf_counter()
        voice = hear(built.paths)
        voice_s = time.perf_counter() - began
        machine, machine_s = None, 0.0
        if recogniser is not None:
            began = time.perf_counter()
            machine = hear(built.paths, recogniser=recogniser)
            machine_s = time.perf_counter() - began
        label = music if has_music else "-"
        runs.append(Run(name, snr, label, built, voice, machine, voice_s, machine_s))
        print(
            f"  heard {runs[-1].label}: voice {voice_s:.1f} s, machine {machine_s:.1f} s",
            file=sys.stderr,
        )
    return runs


# --- voice metrics -----------------------------------------------------------


def start_errors(built: Built, heard: Heard) -> list[float]:
    """For each true line, how far the nearest heard start of its speaker is."""
    errors = []
    for line in built.truth.utterances:
        starts = [u["start"] for u in heard.utterances if u["speaker"] == line.speaker]
        if starts:
            errors.append(min(abs(s - line.start) for s in starts))
    return errors


def found(truth: Sequence[Span], heard: Sequence[tuple[float, float]]) -> int:
    return sum(
        any(abs(a - t.start) <= WITHIN_S and abs(b - t.end) <= WITHIN_S for a, b in heard)
        for t in truth
    )


def heard_holds(heard: Heard) -> list[tuple[float, float]]:
    holds = [e["t"] for e in heard.events if e["type"] == "hold"]
    resumes = [e["t"] for e in heard.events if e["type"] == "resume"]
    return list(zip(holds, resumes, strict=False))


_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")


def cer_by_side(built: Built, heard: Heard | None) -> str:
    if heard is None:
        return "-"
    import opencc
    from rapidfuzz.distance import Levenshtein

    t2s = opencc.OpenCC("t2s")

    def norm(texts: Iterable[str]) -> str:
        text = t2s.convert("".join(texts)).translate(_DIGITS).lower()
        return "".join(re.findall(r"[\u4e00-\u9fff]|[a-z]", text))

    rates = []
    for side in ("staff", "customer"):
        truth = norm(u.text for u in built.truth.utterances if u.speaker == side)
        said = norm(u["text"] for u in heard.utterances if u["speaker"] == side)
        rates.append(f"{Levenshtein.distance(truth, said) / max(1, len(truth)):.2f}")
    return " / ".join(rates)


def voice_table(runs: Sequence[Run]) -> None:
    print(
        "| call | SNR | music | lines truth / heard / missed | start error median / max s | "
        "talk-over | hold | dead air | CER staff / customer | voice s | machine s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    all_errors: list[float] = []
    totals = [0] * 6
    for run in runs:
        truth, heard = run.built.truth, run.voice
        errors = start_errors(run.built, heard)
        all_errors += errors
        counts = (
            found(truth.talk_overs, heard.talk_overs),
            len(truth.talk_overs),
            found(truth.holds, heard_holds(heard)),
            len(truth.holds),
            found(truth.dead_air, heard.dead_air),
            len(truth.dead_air),
        )
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        print(
            f"| {run.scenario} | {run.snr:.0f} dB | {run.music} "
            f"| {len(truth.utterances)} / {len(heard.utterances)} "
            f"/ {sum(e > WITHIN_S for e in errors)} "
            f"| {statistics.median(errors):.2f} / {max(errors):.2f} "
            f"| {_ratio(counts[0], counts[1], len(heard.talk_overs))} "
            f"| {_ratio(counts[2], counts[3], len(heard_holds(heard)))} "
            f"| {_ratio(counts[4], counts[5], len(heard.dead_air))} "
            f"| {cer_by_side(run.built, run.machine)} | {run.voice_s:.1f} | {run.machine_s:.1f} |"
        )
    print(
        f"\nAll runs: start error median {statistics.median(all_errors):.2f} s, "
        f"max {max(all_errors):.2f} s over {len(all_errors)} lines; talk-overs found "
        f"{totals[0]}/{totals[1]}, holds {totals[2]}/{totals[3]}, dead air "
        f"{totals[4]}/{totals[5]} (within {WITHIN_S:.0f} s at both ends).\n"
    )


def _ratio(hit: int, truth: int, heard: int) -> str:
    extra = heard - hit
    return f"{hit}/{truth}" + (f" (+{extra})" if extra > 0 else "")


# --- verdicts ------------------------------------------------------------------


def with_speech(record: dict[str, Any], heard: Heard) -> dict[str, Any]:
    """The human record with its utterances replaced by the heard ones."""
    return {**record, "utterances": heard.utterances, "speech": heard.speech}


def verdicts(record: dict[str, Any], policy: Policy) -> dict[str, Finding]:
    data = json.dumps(record, ensure_ascii=False).encode()
    [item] = list(read_bytes(str(record["id"]), data))
    if not isinstance(item, Loaded):
        raise SystemExit(f"record {record['id']} refused: {item.field}: {item.message}")
    [card] = score([item.record], policy)
    return {f.rule: f for f in card.findings}


# (run, human, voice-only, machine with no rule held back, machine with the default policy)
Verdicts = list[tuple[Run, Finding, Finding, Finding | None, Finding | None]]


def score_runs(runs: Sequence[Run]) -> dict[str, Verdicts]:
    policy = default_policy()
    raw = parse_policy("[matching]\nmachine_weak_rules = []\n", "benchmark")
    table: dict[str, Verdicts] = {}
    for run in runs:
        human = verdicts(run.built.record, policy)
        voice = verdicts(with_speech(run.built.record, run.voice), policy)
        heard = with_speech(run.built.record, run.machine) if run.machine else None
        machine = verdicts(heard, raw) if heard is not None else None
        default = verdicts(heard, policy) if heard is not None else None
        for rule, finding in human.items():
            other = machine[rule] if machine is not None else None
            kept = default[rule] if default is not None else None
            table.setdefault(rule, []).append((run, finding, voice[rule], other, kept))
    return table


def _counts(findings: Iterable[Finding | None]) -> str:
    seen: list[str] = [f.verdict for f in findings if f is not None]
    if not seen:
        return "-"
    return "/".join(str(seen.count(v)) for v in ("pass", "fail", "na"))


def _agree(rows: Verdicts, machine: bool) -> str:
    pairs = [(human, other) for _, human, voice, m, _ in rows if (other := m if machine else voice)]
    if not pairs:
        return "-"
    same = sum(human.verdict == other.verdict for human, other in pairs)
    return f"{100 * same / len(pairs):.0f} %"


def _false_fails(rows: Verdicts, default_policy: bool = False) -> tuple[int, int]:
    """Machine fails where the human transcript passes, of those passes:
    with no rule held back, or with the default policy."""
    heard = [(row[1], row[4] if default_policy else row[3]) for row in rows]
    passed = [machine for human, machine in heard if human.verdict == "pass" and machine]
    return sum(1 for machine in passed if machine.verdict == "fail"), len(passed)


def verdict_table(table: dict[str, Verdicts]) -> None:
    print(
        "Verdicts pass/fail/na over the runs. Agreement: the same verdict as on the human "
        "transcript (an `na` where the recording cannot tell counts against it).\n"
    )
    print(
        "| rule | human | voice | machine | agree voice | agree machine | machine false-fail"
        " | false-fail, default policy |"
    )
    print("|---|---|---|---|---|---|---|---|")
    weak = []
    for rule, rows in table.items():
        if all(f.verdict == "na" for row in rows for f in row[1:4] if f is not None):
            continue
        fails, passes = _false_fails(rows)
        rate = f"{fails}/{passes} ({100 * fails / passes:.0f} %)" if passes else "-"
        if passes and fails / passes > FALSE_FAIL_LIMIT:
            weak.append(rule)
        kept, passes = _false_fails(rows, default_policy=True)
        kept_rate = f"{kept}/{passes} ({100 * kept / passes:.0f} %)" if passes else "-"
        print(
            f"| {rule} | {_counts(r[1] for r in rows)} | {_counts(r[2] for r in rows)} "
            f"| {_counts(r[3] for r in rows)} | {_agree(rows, False)} | {_agree(rows, True)} | {rate}"
            f" | {kept_rate} |"
        )
    na_everywhere = [r for r, rows in table.items() if all(row[1].verdict == "na" for row in rows)]
    print(f"\nNot applicable on any run's human transcript: {', '.join(na_everywhere) or 'none'}.")
    summary(table)
    if any(row[3] is not None for rows in table.values() for row in rows):
        print(f"Machine false-fail over {FALSE_FAIL_LIMIT:.0%}: {', '.join(weak) or 'none'}.\n")


def summary(table: dict[str, Verdicts]) -> None:
    """Over every (rule, run) the human transcript decides: how often each
    recording gives the same verdict, abstains (na), or contradicts it."""
    decided = [row for rows in table.values() for row in rows if row[1].verdict != "na"]
    for name, column in (("voice-only", 2), ("machine", 3)):
        heard = [(row[1], row[column]) for row in decided if row[column] is not None]
        if not heard:
            continue
        same = sum(h.verdict == f.verdict for h, f in heard if isinstance(f, Finding))
        silent = sum(f.verdict == "na" for _, f in heard if isinstance(f, Finding))
        n = len(heard)
        print(
            f"{name}: of {n} verdicts the human transcript decides, {100 * same / n:.0f} % the "
            f"same, {100 * silent / n:.0f} % na, {100 * (n - same - silent) / n:.0f} % the opposite."
        )
    print()


def _decided_otherwise(human: Finding, heard: Finding) -> bool:
    """The recording gave a verdict, and not the human transcript's (an `na`
    where the recording cannot tell is an abstention, counted in the table)."""
    return heard.verdict != "na" and heard.verdict != human.verdict


def disagreements(table: dict[str, Verdicts]) -> None:
    print("| rule | run | human | voice | machine | the recording's message |")
    print("|---|---|---|---|---|---|")
    for rule, rows in table.items():
        for run, human, voice, machine, _ in rows:
            other = machine.verdict if machine is not None else "-"
            wrong = [f for f in (voice, machine) if f is not None and _decided_otherwise(human, f)]
            if not wrong:
                continue
            message = wrong[-1].message
            print(
                f"| {rule} | {run.label} | {human.verdict} | {voice.verdict} | {other} "
                f"| {message.replace('|', '/')} |"
            )
    print()


# --- the test clips themselves -------------------------------------------------


def clip_table(recogniser: Recogniser, folder: Path) -> None:
    """Whisper's character error rate on each committed clip, at 16 kHz and as
    8 kHz telephone µ-law: the check that the test speech is intelligible."""
    import numpy as np
    import soundfile
    import soxr
    from rapidfuzz.distance import Levenshtein

    def norm(text: str) -> str:
        import opencc

        simple = opencc.OpenCC("t2s").convert(text).translate(_DIGITS).lower()
        return "".join(re.findall(r"[\u4e00-\u9fff]|[a-z]", simple))

    totals: dict[tuple[str, str], list[int]] = {}
    print("| clip | speaker | CER 16 kHz | CER 8 kHz µ-law | heard at 8 kHz |")
    print("|---|---|---|---|---|")
    for line_id, line in catalogue().items():
        audio = clip(line_id).audio
        path = folder / f"{line_id}.wav"
        write(path, audio, 8000, "ulaw")
        phone, _ = soundfile.read(path, dtype="float32")
        versions = {"16": audio.astype(np.float32), "8": soxr.resample(phone, 8000, 16000)}
        truth, cells, heard = norm(line["text"]), [], ""
        for rate, samples in versions.items():
            heard = recogniser.transcribe(np.ascontiguousarray(samples, dtype=np.float32))
            errors = Levenshtein.distance(truth, norm(heard))
            cells.append(f"{errors / len(truth):.2f}")
            for key in ((rate, "all"), (rate, line["speaker"])):
                count = totals.setdefault(key, [0, 0])
                count[0] += errors
                count[1] += len(truth)
        print(f"| {line_id} | {line['speaker']} | {cells[0]} | {cells[1]} | {heard} |")
    print()
    for who in ("all", "staff", "customer"):
        (e16, n16), (e8, n8) = totals[("16", who)], totals[("8", who)]
        print(f"Clips CER, {who}: {e16 / n16:.3f} at 16 kHz, {e8 / n8:.3f} at 8 kHz ({n16} chars)")
    print()


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated names")
    parser.add_argument("--no-machine", action="store_true", help="voice only, no recogniser")
    parser.add_argument("--clips", action="store_true", help="also each test clip's CER")
    args = parser.parse_args(argv)
    names = [n for n in args.scenarios.split(",") if n]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"no scenario {', '.join(unknown)}; there are {', '.join(SCENARIOS)}")
    recogniser: Recogniser | None = None
    if not args.no_machine:
        from callsop.audio.whisper import WhisperBase

        recogniser = WhisperBase()
    with tempfile.TemporaryDirectory() as tmp:
        if args.clips and recogniser is not None:
            clip_table(recogniser, Path(tmp))
        runs = run_all(names, recogniser, Path(tmp))
    audio_s = sum(run.built.truth.duration for run in runs)
    print(f"Scripted calls, 8 kHz µ-law, 2 channels: {len(runs)} runs, {audio_s:.0f} s of audio.")
    voice_s, machine_s = sum(r.voice_s for r in runs), sum(r.machine_s for r in runs)
    print(
        f"Wall time (noisy, shared cores): voice only {voice_s / audio_s:.3f} x real time", end=""
    )
    print(f", with the machine transcript {machine_s / audio_s:.2f} x.\n" if machine_s else ".\n")
    voice_table(runs)
    table = score_runs(runs)
    verdict_table(table)
    print("Runs where a recording gives a verdict other than the human transcript's:\n")
    disagreements(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
