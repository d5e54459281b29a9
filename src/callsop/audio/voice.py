"""Voice without words: utterances, talk-over, holds and dead air from the tracks' speech segments.

The thresholds are those measured in AUDIO.md §8; they still want tuning on
the clubs' own PBX recordings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from callsop.audio import features
from callsop.audio.decode import Samples
from callsop.audio.vad import FRAME_S, VAD_RATE, Segment, runs

TALK_OVER_S: Final = 0.3  # both sides at once for less is a backchannel ("嗯"), not talking over
QUIET_GAP_S: Final = 3.0  # silence on both sides shorter than this is a pause, not hold or dead air
# A side "carries audio" this far above its own noise floor, on power averaged over 1 s:
# line noise then stays within 0.5 dB of its floor, hold music on a 10 dB line sits 5 dB over.
AUDIO_ABOVE_FLOOR_DB: Final = 3.0
FLOOR_PERCENTILE: Final = 10.0  # a call is silent at least a tenth of the time: that is the floor
PRESENCE_SMOOTH_S: Final = 1.0  # music swells and fades with its notes; judge it per second
SILENT_POWER: Final = 10 ** (features.SILENCE_DB / 10)
MUSIC_CHECK_S: Final = 5.0  # speech this long is checked for being tonal music that Silero let in
MUSIC_PEAKS_DB: Final = 15.0  # narrow peaks above this are held notes: music, not a voice
# Hold music plays on steadily; a burst of noise in a pause (a passing truck) is shorter.
MIN_HOLD_S: Final = 6.0
# Frames this quiet are digital silence: before a side's first sound (not yet connected)
# and after its last (a leg padded to the other's length) they are no line at all.
DIGITAL_SILENCE_DB: Final = features.SILENCE_DB + 10.0
# The sides whose audio can be a hold: music on hold is played to the caller, so it is
# heard on the staff's side; a one-track recording has only the one.
HOLD_SIDES: Final = ("staff", "other")


@dataclass(frozen=True)
class Spoken:
    speaker: str
    start: float
    end: float
    syllables: int


@dataclass(frozen=True)
class Voice:
    utterances: list[Spoken]
    talk_overs: list[Segment]
    holds: list[Segment]
    dead_air: list[Segment]


def analyse(tracks: Mapping[str, Samples], speech: Mapping[str, list[Segment]]) -> Voice:
    """The call's voice metrics from its 8 kHz tracks and each track's VAD segments."""
    levels = {name: features.frame_levels(samples) for name, samples in tracks.items()}
    frames = min(len(level) for level, _ in levels.values())
    music: list[Segment] = []
    kept: dict[str, list[Segment]] = {}
    for name, segments in speech.items():
        kept[name] = []
        for segment in segments:
            is_music = _is_music(tracks[name], segment)
            (music if is_music else kept[name]).append(segment)
    utterances = [
        Spoken(name, start, end, _syllables(levels[name][1], start, end))
        for name, segments in kept.items()
        for start, end in segments
    ]
    utterances.sort(key=lambda u: (u.start, u.speaker))
    holds, dead_air = _silences(levels, kept, music, frames)
    return Voice(utterances, _talk_overs(kept), holds, dead_air)


def _is_music(samples: Samples, segment: Segment) -> bool:
    start, end = segment
    if end - start < MUSIC_CHECK_S:
        return False
    clip = samples[int(start * VAD_RATE) : int(end * VAD_RATE)]
    return features.narrow_peaks_db(clip) > MUSIC_PEAKS_DB


def _syllables(band_db: features.Floats, start: float, end: float) -> int:
    return features.count_syllables(band_db[_frame(start) : _frame(end)])


def _talk_overs(speech: Mapping[str, list[Segment]]) -> list[Segment]:
    if set(speech) != {"staff", "customer"}:
        return []
    found: list[Segment] = []
    for a_start, a_end in speech["staff"]:
        for b_start, b_end in speech["customer"]:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if end - start >= TALK_OVER_S:
                found.append((start, end))
    return sorted(found)


def _silences(
    levels: Mapping[str, tuple[features.Floats, features.Floats]],
    speech: Mapping[str, list[Segment]],
    music: list[Segment],
    frames: int,
) -> tuple[list[Segment], list[Segment]]:
    """Stretches between the first and last words with nobody speaking: (holds, dead air)."""
    speaking = np.zeros(frames, dtype=np.bool_)
    for segments in speech.values():
        for start, end in segments:
            speaking[_frame(start) : _frame(end)] = True
    if not speaking.any():
        return [], []
    first, last = np.flatnonzero(speaking)[[0, -1]]
    present = _steady(_audio_present(levels, speech, frames))
    for start, end in music:
        present[_frame(start) : _frame(end)] = True
    holds: list[Segment] = []
    dead_air: list[Segment] = []
    minimum = _frame(QUIET_GAP_S)
    quiet = ~speaking
    quiet[:first] = False
    quiet[last + 1 :] = False
    for a, b in runs(quiet):
        if b - a < minimum:
            continue
        for kind, out in ((True, holds), (False, dead_air)):
            for c, d in runs(present[a:b] == kind):
                if d - c >= minimum:
                    out.append(((a + c) * FRAME_S, (a + d) * FRAME_S))
    return holds, dead_air


def _audio_present(
    levels: Mapping[str, tuple[features.Floats, features.Floats]],
    speech: Mapping[str, list[Segment]],
    frames: int,
) -> npt.NDArray[np.bool_]:
    """Frames where a side that can carry hold music is above its noise floor, on 1 s of power.

    Averaging the power keeps music, whose notes swell and fade, above a noisy
    line's floor all through; the side's own speech is left out of the average
    so that it does not spill into the silence beside it, and so is the digital
    silence before and after the side's line, which would drag the floor below
    the line's own noise. Digital silence between sounds is the line's floor: a
    clean digital line carries nothing but the words and the music.
    """
    present = np.zeros(frames, dtype=np.bool_)
    kernel = np.ones(_frame(PRESENCE_SMOOTH_S))
    for name, (level, _) in levels.items():
        if name not in HOLD_SIDES:
            continue
        quiet = _connected(level[:frames])
        for start, end in speech.get(name, []):
            quiet[_frame(start) : _frame(end)] = 0.0
        power = np.convolve(10 ** (level[:frames] / 10) * quiet, kernel, mode="same")
        count = np.convolve(quiet, kernel, mode="same")
        smooth = 10 * np.log10(np.maximum(power / np.maximum(count, 1.0), SILENT_POWER))
        floor = np.percentile(smooth[quiet > 0], FLOOR_PERCENTILE) if quiet.any() else 0.0
        present |= (smooth > floor + AUDIO_ABOVE_FLOOR_DB) & (quiet > 0)
    return present


def _connected(level: features.Floats) -> features.Floats:
    """1.0 from a side's first sound to its last, 0.0 in the digital silence either side."""
    live = np.flatnonzero(level > DIGITAL_SILENCE_DB)
    connected = np.zeros(len(level))
    if len(live):
        connected[live[0] : live[-1] + 1] = 1.0
    return connected


def _steady(present: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Only the stretches of audio long enough to be a hold."""
    steady = np.zeros_like(present)
    for a, b in runs(present):
        if b - a >= _frame(MIN_HOLD_S):
            steady[a:b] = True
    return steady


def _frame(seconds: float) -> int:
    return round(seconds / FRAME_S)
