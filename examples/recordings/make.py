"""Makes the demo's recorded call, `in-101-0933222111-…wav`, once, by hand:

    .venv/bin/python examples/recordings/make.py

It renders the test corpus's scripted enquiry at 信義會館 (tests/audio/calls.py,
`enquiry_with_hold`: greeting with the club's name, 貴姓, 請稍候, a hold with
music, shortened here from 20 s to 8 s, 讓您久等了, the number read back, the farewell), spoken by the
neural Mandarin voice of tests/audio/speech, with white noise at 20 dB, as
Asterisk's MixMonitor writes a call: 8 kHz G.711 µ-law WAV, two channels
(the clerk left, the caller right), from the answer to the hangup. The name
is FreePBX's: in-<extension>-<caller id>-<YYYYMMDD>-<HHMMSS>-<uniqueid>.wav.

`callsop demo` loads the file from this folder; this script only runs by
hand, so it may import the tests' corpus."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.audio.calls import enquiry_with_hold  # noqa: E402
from tests.audio.script import Hold  # noqa: E402
from tests.audio.scripted import build  # noqa: E402

NAME = "in-101-0933222111-20261201-153004-1764574204.31.wav"
RATE = 8000
HOLD_S = 8.0


def main() -> None:
    script = enquiry_with_hold()
    steps = tuple(
        dataclasses.replace(s, seconds=HOLD_S) if isinstance(s, Hold) else s for s in script.steps
    )
    script = dataclasses.replace(script, steps=steps)
    with tempfile.TemporaryDirectory() as scratch:
        built = build(script, Path(scratch), rate=RATE, encoding="ulaw", snr_db=20.0, seed=5)
        audio, rate = sf.read(built.paths[0], dtype="float32", always_2d=True)
    # The corpus's recordings start at the ringing; MixMonitor's at the answer.
    audio = audio[int(built.truth.answered * rate) :]
    for old in HERE.glob("in-*.wav"):
        old.unlink()
    target = HERE / NAME
    sf.write(target, audio, rate, format="WAV", subtype="ULAW")
    info = sf.info(str(target))
    print(f"{target.name}: {info.duration:.1f} s, {target.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
