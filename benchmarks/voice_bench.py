"""CPU cost of the voice metrics (no recogniser) per minute of two-channel 8 kHz audio.

Builds the scripted desk calls of tests/audio/scripted.py as a PBX writes them
(8 kHz µ-law, two channels, 20 dB line noise), joins them end to end into one
long call, and times `callsop.audio.hear` on it, split into its stages
(decoding, voice activity, the metrics). Target: at most 1 s of CPU per
minute of call. `--hour` also hears a one-hour call and prints its peak memory.

    .venv/bin/python benchmarks/voice_bench.py [--minutes 10] [--hour]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.audio.scripted import SCENARIOS, build

from callsop.audio import hear, vad, voice
from callsop.audio.decode import read_recording

TARGET_CPU_S_PER_MIN = 1.0
T = TypeVar("T")


def long_call(folder: Path, minutes: float) -> Path:
    """The scripted calls back to back until the call is `minutes` long, written as it goes."""
    parts = []
    for i, make in enumerate(SCENARIOS.values()):
        built = build(make(), folder, snr_db=20.0, encoding="pcm16", seed=i)
        parts.append(sf.read(built.paths[0], dtype="float32")[0])
    one_round = np.concatenate(parts)
    left = int(minutes * 60 * 8000)
    path = folder / f"call-{minutes:g}min.wav"
    with sf.SoundFile(path, "w", 8000, 2, subtype="ULAW") as out:
        while left > 0:
            out.write(one_round[:left])
            left -= len(one_round)
    return path


def peak_memory_mib(path: Path) -> float:
    """Hears the call in a fresh process, which reports its own peak memory.

    VmHWM, not ru_maxrss: the latter keeps the parent's size from before the exec.
    """
    code = (
        "import sys; from callsop.audio import hear; hear([sys.argv[1]]); "
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True
    )
    return int(done.stdout.split()[-1]) / 1024


def cpu(work: Callable[[], T]) -> tuple[T, float]:
    start = time.process_time()
    result = work()
    return result, time.process_time() - start


def stages(path: Path) -> dict[str, float]:
    recording, decode_s = cpu(lambda: read_recording([path], rate=8000))
    speech, vad_s = cpu(lambda: {k: vad.detect(v) for k, v in recording.tracks.items()})
    _, voice_s = cpu(lambda: voice.analyse(recording.tracks, speech))
    return {"decode": decode_s, "voice activity": vad_s, "metrics": voice_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--hour", action="store_true", help="also hear a one-hour call")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = long_call(folder, args.minutes)
        heard, total = cpu(lambda: hear([path]))
        wall_start = time.perf_counter()
        hear([path])
        wall = time.perf_counter() - wall_start
        per_min = total / args.minutes
        print(f"voice metrics on a {args.minutes:g}-minute two-channel 8 kHz µ-law call:")
        print(
            f"  {len(heard.utterances)} utterances, {len(heard.events) // 2} holds, "
            f"{len(heard.talk_overs)} talk-overs, {len(heard.dead_air)} stretches of dead air"
        )
        verdict = "ok" if per_min <= TARGET_CPU_S_PER_MIN else "OVER TARGET"
        print(
            f"  CPU {total:.2f} s = {per_min:.2f} s per minute of call "
            f"(target ≤ {TARGET_CPU_S_PER_MIN:g}): {verdict}; wall {wall:.2f} s"
        )
        for stage, seconds in stages(path).items():
            print(f"    {stage:15s} {seconds / args.minutes:.3f} s per minute")
        if args.hour:
            hour = long_call(folder, 60.0)
            _, hour_cpu = cpu(lambda: hear([hour]))
            print(
                f"  one-hour call: CPU {hour_cpu:.1f} s ({hour_cpu / 60:.2f} s per minute), "
                f"peak memory of a process hearing it {peak_memory_mib(hour):.0f} MiB "
                f"(the file: {hour.stat().st_size / 2**20:.0f} MiB)"
            )


if __name__ == "__main__":
    main()
