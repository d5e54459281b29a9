"""Per-frame levels on the 10 ms grid, and the narrow-peak measure that tells tonal music."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from callsop.audio.decode import Samples
from callsop.audio.vad import FRAME_S, VAD_RATE

Floats = npt.NDArray[np.float64]

WINDOW: Final = 256  # 32 ms at 8 kHz, Silero's own window
HOP: Final = int(FRAME_S * VAD_RATE)
CHUNK_FRAMES: Final = 6000  # one minute of frames at a time keeps an hour-long call small
SYLLABLE_BAND_HZ: Final = (300.0, 1200.0)  # where vowel energy, one per syllable, sits
LEVEL_BAND_HZ: Final = (100.0, 3800.0)  # the telephone band, without hum and the edge
SILENCE_DB: Final = -120.0  # digital silence reads as this, not minus infinity

PEAK_FFT: Final = 1024  # 7.8 Hz bins: narrow enough to resolve a held note
PEAK_MEDIAN_HZ: Final = 150.0  # the running median that stands for the spectrum's shape
PEAK_PERCENTILE: Final = 99.5

SMOOTH_FRAMES: Final = 5  # 50 ms: smooths pitch ripple, keeps syllables apart
NUCLEUS_RANGE_DB: Final = 25.0  # peaks this far below the utterance's loudest are noise
NUCLEUS_DIP_DB: Final = 2.0  # the level falls this much between two syllables
MIN_NUCLEUS_FRAMES: Final = 8  # 80 ms: nobody says more than ~12 syllables a second


def frame_levels(samples: Samples) -> tuple[Floats, Floats]:
    """(telephone-band level, 300–1200 Hz level) in dB for each 10 ms frame of 8 kHz audio."""
    frames = round(len(samples) / VAD_RATE / FRAME_S)
    freqs = np.fft.rfftfreq(WINDOW, 1 / VAD_RATE)
    level_bins = (freqs >= LEVEL_BAND_HZ[0]) & (freqs <= LEVEL_BAND_HZ[1])
    band_bins = (freqs >= SYLLABLE_BAND_HZ[0]) & (freqs <= SYLLABLE_BAND_HZ[1])
    taper = np.hanning(WINDOW).astype(np.float32)
    level = np.empty(frames)
    band = np.empty(frames)
    for first in range(0, frames, CHUNK_FRAMES):
        count = min(CHUNK_FRAMES, frames - first)
        # Frame i is centred on sample i × HOP; the chunk's edges are padded with silence.
        lo = first * HOP - WINDOW // 2
        piece = samples[max(lo, 0) : lo + count * HOP + WINDOW]
        piece = np.pad(piece, (max(-lo, 0), count * HOP + WINDOW - len(piece) - max(-lo, 0)))
        index = (np.arange(count) * HOP)[:, None] + np.arange(WINDOW)[None, :]
        power = np.abs(np.fft.rfft(piece[index] * taper, axis=1)) ** 2
        level[first : first + count] = power[:, level_bins].mean(axis=1)
        band[first : first + count] = power[:, band_bins].mean(axis=1)
    return _db(level), _db(band)


def _db(power: Floats) -> Floats:
    with np.errstate(divide="ignore"):
        db: Floats = np.maximum(10 * np.log10(power / WINDOW), SILENCE_DB)
    return db


def narrow_peaks_db(samples: Samples) -> float:
    """How far the long-term spectrum's sharpest peaks stand above its running median.

    Held notes of music make narrow peaks (20–37 dB on the tests of AUDIO.md
    §8); speech, whose pitch wanders, stays under about 12 dB.
    """
    if len(samples) < PEAK_FFT:
        return 0.0
    count = len(samples) // PEAK_FFT
    blocks = samples[: count * PEAK_FFT].reshape(count, PEAK_FFT) * np.hanning(PEAK_FFT)
    spectrum = _db((np.abs(np.fft.rfft(blocks, axis=1)) ** 2).mean(axis=0))
    width = int(PEAK_MEDIAN_HZ / (VAD_RATE / PEAK_FFT)) | 1
    edge = np.pad(spectrum, width // 2, mode="edge")
    median = np.median(np.lib.stride_tricks.sliding_window_view(edge, width), axis=1)
    freqs = np.fft.rfftfreq(PEAK_FFT, 1 / VAD_RATE)
    inside = (freqs >= LEVEL_BAND_HZ[0]) & (freqs <= LEVEL_BAND_HZ[1])
    return float(np.percentile((spectrum - median)[inside], PEAK_PERCENTILE))


def count_syllables(band_db: Floats) -> int:
    """Syllable nuclei: peaks of the smoothed 300–1200 Hz level with a dip between them."""
    if len(band_db) < 3:
        return 0
    smooth = np.convolve(band_db, np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES, mode="same")
    floor = smooth.max() - NUCLEUS_RANGE_DB
    count, last = 0, -1
    for i in range(1, len(smooth) - 1):
        if not (smooth[i] >= smooth[i - 1] and smooth[i] > smooth[i + 1] and smooth[i] > floor):
            continue
        if last < 0:
            count, last = 1, i
            continue
        dip = smooth[last : i + 1].min()
        if min(smooth[last], smooth[i]) - dip >= NUCLEUS_DIP_DB and i - last >= MIN_NUCLEUS_FRAMES:
            count, last = count + 1, i
        elif smooth[i] > smooth[last]:
            last = i
    return count
