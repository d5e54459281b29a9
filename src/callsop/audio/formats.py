"""Opening a recording, and telling a file that ends early from one whose header lies.

Asterisk MixMonitor's two-channel output (its D option) has no header at all:
`.raw` and `.sln` are 8 kHz signed 16-bit little-endian, the two channels
interleaved; `.sln16` is the same at 16 kHz.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Final

import soundfile as sf

RAW_RATES: Final = {".raw": 8000, ".sln": 8000, ".sln16": 16000}
RAW_CHANNELS: Final = 2
RAW_FRAME_BYTES: Final = 2 * RAW_CHANNELS
# A length this large is a placeholder written before the length was known (a WAV to a pipe).
UNKNOWN_LENGTH: Final = 0x7FFF0000
MP3_READ_SHARE: Final = 0.97  # tags and padding aside, reading an MP3 whole reaches its end
# What libsndfile's log says about a compressed stream whose end is missing.
_STREAM_CUT_SIGNS: Final = ("lacks an end-of-stream", "ended unexpectedly")
_CHUNK_SIZE = re.compile(
    r"^\s*(?P<chunk>data|SSND)\s*: (?P<claimed>\d+) \(should be (?P<held>\d+)\)"
)


class Tracked(io.FileIO):
    """A file that remembers how far into it the decoder has read without a gap.

    A jump ahead (a look for tags at the end) does not count as reading that far.
    """

    furthest = 0

    def readinto(self, buffer: bytearray | memoryview) -> int | None:  # type: ignore[override]
        start = self.tell()
        count = super().readinto(buffer)
        if start <= self.furthest:
            self.furthest = max(self.furthest, self.tell())
        return count


def raw_rate(path: str | os.PathLike[str]) -> int | None:
    """The rate of a headerless MixMonitor file, or None for a file with a header."""
    return RAW_RATES.get(Path(path).suffix.lower())


def raw_size_problem(path: str | os.PathLike[str], size: int) -> str | None:
    if size % RAW_FRAME_BYTES == 0:
        return None
    return (
        f"{size} bytes is not a whole number of frames: a {Path(path).suffix} file is read as "
        "MixMonitor's D option writes it, two channels of signed 16-bit little-endian "
        f"samples ({RAW_FRAME_BYTES} bytes a frame)"
    )


def open_sound(path: str | os.PathLike[str], source: Tracked) -> sf.SoundFile:
    rate = raw_rate(path)
    if rate is None:
        return sf.SoundFile(source)
    return sf.SoundFile(
        source,
        samplerate=rate,
        channels=RAW_CHANNELS,
        format="RAW",
        subtype="PCM_16",
        endian="LITTLE",
    )


def ends_early(log: str) -> bool:
    """Whether libsndfile's log shows a file shorter than its header says its audio is.

    A RIFF size that is off, or a data size left as a placeholder, is harmless:
    libsndfile reads what the file holds. A data chunk that claims more bytes
    than the file has means the end is missing.
    """
    if any(sign in log for sign in _STREAM_CUT_SIGNS):
        return True
    for line in log.splitlines():
        match = _CHUNK_SIZE.match(line)
        if match is None:
            continue
        claimed, held = int(match["claimed"]), int(match["held"])
        if held < claimed < UNKNOWN_LENGTH:
            return True
    return False


def mp3_read_short(audio: sf.SoundFile, source: Tracked, size: int) -> str | None:
    """Why an MP3 read stopped short of its end (a header that gives too few frames), or None."""
    if audio.format != "MP3" or source.furthest >= size * MP3_READ_SHARE:
        return None
    length = audio.frames / audio.samplerate
    return (
        f"its header says {length:.1f} s but the file holds more audio that cannot be read "
        "(a wrong Xing/Info header or none); convert it to WAV or FLAC"
    )
