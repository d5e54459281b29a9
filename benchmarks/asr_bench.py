"""Speed and memory of the machine transcript (Whisper base, int8) on 8 kHz calls, 2 cores.

Builds the scripted desk calls of tests/audio/scripted.py as a PBX writes them
(8 kHz µ-law, two channels, 20 dB line noise) and hears each with the
recogniser, the way `callsop transcribe --recogniser whisper-base` does: voice
activity first, then Whisper on each utterance, one thread per channel.
Prints the real-time factor (wall time / call length; target ≤ 0.35 on 2
cores), CPU seconds per second of call, the model's load time, the process's
peak memory, and how many worker processes a chain needs:

    clubs × calls a day × call minutes of audio, spread over the working hours,
    each worker hearing one call at a time on two cores.

    .venv/bin/python benchmarks/asr_bench.py [--clubs 100] [--calls 200] [--minutes 3]
        [--hours 12]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.audio.scripted import SCENARIOS, build

from callsop.audio import hear
from callsop.audio.whisper import WhisperBase

TARGET_RTF = 0.35


def peak_memory_mib(path: Path) -> float:
    """Hears the call in a fresh process, which reports its own peak memory.

    VmHWM, not ru_maxrss: the latter keeps the parent's size from before the exec.
    """
    code = (
        "import sys; from callsop.audio import hear; "
        "from callsop.audio.whisper import WhisperBase; "
        "hear([sys.argv[1]], recogniser=WhisperBase()); "
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True
    )
    return int(done.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clubs", type=int, default=100)
    parser.add_argument("--calls", type=int, default=200, help="calls a day per club")
    parser.add_argument("--minutes", type=float, default=3.0, help="length of a call")
    parser.add_argument("--hours", type=float, default=12.0, help="working hours a day")
    args = parser.parse_args()

    started = time.perf_counter()
    whisper = WhisperBase()
    load_s = time.perf_counter() - started
    audio_s = wall_s = cpu_s = 0.0
    print(f"Whisper base int8 on {os.cpu_count()} cores; model loaded in {load_s:.1f} s")
    print("| call | length s | utterances | wall s | RTF | CPU s per call s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in SCENARIOS.items():
            built = build(make(), Path(tmp), snr_db=20.0)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            heard = hear(built.paths, recogniser=whisper)
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            audio_s += heard.duration
            wall_s += wall
            cpu_s += cpu
            print(
                f"| {name} | {heard.duration:.1f} | {len(heard.utterances)} | {wall:.1f} | "
                f"{wall / heard.duration:.2f} | {cpu / heard.duration:.2f} |"
            )
            last = built.paths[0]
        peak = peak_memory_mib(last)
    rtf = wall_s / audio_s
    verdict = "ok" if rtf <= TARGET_RTF else "OVER TARGET"
    print(
        f"\nall: {audio_s:.0f} s of calls in {wall_s:.0f} s: RTF {rtf:.2f} "
        f"(target ≤ {TARGET_RTF}): {verdict}; CPU {cpu_s / audio_s:.2f} s per second of call"
    )
    print(f"peak memory of a process hearing one call with the recogniser: {peak:.0f} MiB")

    audio_h = args.clubs * args.calls * args.minutes / 60
    per_hour = audio_h / args.hours
    workers = math.ceil(per_hour * rtf)
    cores = math.ceil(per_hour * cpu_s / audio_s)
    print(
        f"\nchain: {args.clubs} clubs × {args.calls} calls × {args.minutes:g} min = "
        f"{audio_h:.0f} h of calls a day, spread over {args.hours:g} working hours = "
        f"{per_hour:.1f} h of calls an hour"
    )
    print(
        f"  at RTF {rtf:.2f} (one call at a time on 2 cores): {workers} worker processes, "
        f"each on 2 cores ({2 * workers} cores, {workers * peak / 1024:.1f} GiB)"
    )
    print(f"  by CPU time alone ({cpu_s / audio_s:.2f} s per second): {cores} cores busy")


if __name__ == "__main__":
    main()
