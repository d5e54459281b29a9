"""Read a call recording into one float32 track per speaker at one sample rate.

A recording is one two-channel file (staff on one side, customer on the
other), two mono files (the staff leg, then the customer leg) or one mono
file (one track, speaker "other"). Files are read in blocks and resampled as
they stream, so an hour-long 48 kHz file never sits whole in memory at its
own rate.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from callsop.audio import formats

Samples = npt.NDArray[np.float32]
StaffChannel = Literal["left", "right"]

MIN_RATE = 8000
MAX_RATE = 48000
MAX_SECONDS = 4 * 3600  # longer than any call; an hour-long one is rare
BLOCK_FRAMES = 1 << 16
COMPLETE_SHARE = 0.98  # an MP3's length is an estimate from its header; a cut file falls far short
SAME_TRACK_CORRELATION = 0.98  # two channels this alike are one mix copied twice


class AudioError(ValueError):
    """A recording that cannot be heard; str() is "<file>: <reason>"."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"{os.fspath(path)}: {reason}")
        self.path = os.fspath(path)
        self.reason = reason


@dataclass(frozen=True)
class Recording:
    """One call's audio: `tracks` maps speaker to samples, all of one length."""

    tracks: dict[str, Samples]
    rate: int
    names: tuple[str, ...]

    @property
    def duration(self) -> float:
        first = next(iter(self.tracks.values()))
        return len(first) / self.rate


def read_recording(
    paths: Sequence[str | os.PathLike[str]],
    *,
    rate: int,
    staff_channel: StaffChannel = "left",
) -> Recording:
    """The call's tracks at `rate`; raises AudioError naming the file and the reason."""
    if isinstance(paths, str | os.PathLike):  # one file given bare, not in a list
        paths = [paths]
    names = tuple(Path(p).name for p in paths)
    if len(paths) == 2:
        staff = read_file(paths[0], rate=rate, channels=(1,))[0]
        customer = read_file(paths[1], rate=rate, channels=(1,))[0]
        length = max(len(staff), len(customer))
        tracks = {"staff": _pad(staff, length), "customer": _pad(customer, length)}
        return Recording(tracks, rate, names)
    if len(paths) != 1:
        raise ValueError(f"a call is one file or two (one per leg), not {len(paths)}")
    audio = read_file(paths[0], rate=rate, channels=(1, 2))
    if len(audio) == 1:
        return Recording({"other": audio[0]}, rate, names)
    if _one_track_twice(audio):
        return Recording({"other": np.ascontiguousarray(audio.mean(axis=0))}, rate, names)
    staff_index = 0 if staff_channel == "left" else 1
    tracks = {"staff": audio[staff_index], "customer": audio[1 - staff_index]}
    return Recording(tracks, rate, names)


def read_file(
    path: str | os.PathLike[str], *, rate: int, channels: tuple[int, ...] = (1, 2)
) -> npt.NDArray[np.float32]:
    """Samples (channels × frames) at `rate`, read and resampled block by block.

    Each channel is one contiguous row, so a track is a view, never a copy.
    """
    size = _check_file(path)
    if formats.raw_rate(path) is not None and (problem := formats.raw_size_problem(path, size)):
        raise AudioError(path, problem)
    with formats.Tracked(os.fspath(path)) as source:
        try:
            audio = formats.open_sound(path, source)
        except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
            raise AudioError(path, f"not audio ({_libsndfile_reason(exc)})") from None
        with audio:
            _check_shape(path, audio, channels)
            blocks = _read_blocks(path, audio, rate)
            if formats.ends_early(audio.extra_info):
                raise AudioError(path, "cut off: the file ends before its audio does")
            if short := formats.mp3_read_short(audio, source, size):
                raise AudioError(path, short)
    return blocks


def _one_track_twice(audio: npt.NDArray[np.float32]) -> bool:
    """Whether both channels carry the same mix (a mono recording stored as two channels)."""
    left, right = audio
    spread = float(np.sqrt(float(np.dot(left, left)) * float(np.dot(right, right))))
    return spread > 0 and float(np.dot(left, right)) / spread >= SAME_TRACK_CORRELATION


def _check_file(path: str | os.PathLike[str]) -> int:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise AudioError(path, "no such file") from None
    except OSError as exc:
        raise AudioError(path, f"cannot be opened ({exc.strerror})") from None
    if os.path.isdir(path):
        raise AudioError(path, "a folder, not a recording")
    if size == 0:
        raise AudioError(path, "empty: the file has no bytes")
    return size


def _check_shape(
    path: str | os.PathLike[str], audio: sf.SoundFile, channels: tuple[int, ...]
) -> None:
    expected = " or ".join(str(c) for c in channels)
    if audio.channels not in channels:
        per_leg = " (one file per leg)" if channels == (1,) else ""
        raise AudioError(path, f"{audio.channels} channels, expected {expected}{per_leg}")
    if not MIN_RATE <= audio.samplerate <= MAX_RATE:
        raise AudioError(path, f"rate {audio.samplerate} Hz is outside {MIN_RATE}–{MAX_RATE} Hz")
    if audio.frames == 0:
        raise AudioError(path, "empty: no audio in the file")
    if audio.frames > MAX_SECONDS * audio.samplerate:
        length = _span(audio.frames / audio.samplerate)
        raise AudioError(path, f"{length} long, longer than the limit of {_span(MAX_SECONDS)}")


def _span(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:.0f} s"


def _read_blocks(
    path: str | os.PathLike[str], audio: sf.SoundFile, rate: int
) -> npt.NDArray[np.float32]:
    stream = None
    if audio.samplerate != rate:
        stream = soxr.ResampleStream(audio.samplerate, rate, audio.channels, dtype="float32")
    out = np.empty((audio.channels, _expected(audio, rate)), dtype=np.float32)
    filled = read = 0
    try:
        while True:
            block = audio.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
            read += len(block)
            last = len(block) < BLOCK_FRAMES
            if stream is not None:
                block = stream.resample_chunk(block, last=last)
            if filled + len(block) > out.shape[1]:  # an MP3 header's length is an estimate
                out = np.concatenate(
                    [out, np.empty_like(out[:, : len(block) + out.shape[1] // 8])], 1
                )
            out[:, filled : filled + len(block)] = block.T
            filled += len(block)
            if last:
                break
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(path, f"cut off or damaged ({_libsndfile_reason(exc)})") from None
    if read == 0:
        raise AudioError(path, "empty: no audio in the file")
    if read < audio.frames * COMPLETE_SHARE:
        raise AudioError(
            path,
            f"cut off: {read / audio.samplerate:.1f} s of {audio.frames / audio.samplerate:.1f} s",
        )
    return out[:, :filled]


def _expected(audio: sf.SoundFile, rate: int) -> int:
    return int(audio.frames * rate / audio.samplerate) + 16


def _libsndfile_reason(exc: Exception) -> str:
    text = str(exc)
    if ": " in text:
        text = text.split(": ", 1)[1] if text.startswith("Error opening") else text
    return text.replace("Error : ", "").strip().rstrip(".")


def _pad(samples: Samples, length: int) -> Samples:
    if len(samples) == length:
        return np.ascontiguousarray(samples)
    return np.concatenate([samples, np.zeros(length - len(samples), dtype=np.float32)])


def resample(samples: Samples, source: int, target: int) -> Samples:
    if source == target:
        return samples
    return np.ascontiguousarray(soxr.resample(samples, source, target), dtype=np.float32)
