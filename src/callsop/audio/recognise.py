"""The recogniser interface: one utterance of audio in, its words out.

A recogniser only supplies text: the times come from voice activity and the
speaker from the channel, so a better model drops in behind this interface.
"""

from __future__ import annotations

from typing import Final, Protocol

from callsop.audio.decode import Samples

RECOGNISER_RATE: Final = 16000


class Recogniser(Protocol):
    name: str

    def transcribe(self, samples: Samples) -> str:
        """The words of one utterance (16 kHz mono float32), in Traditional script."""
        ...


class RecogniserError(RuntimeError):
    """The recogniser cannot run here: not installed, or its model is not the pinned one."""


_LOADED: dict[str, Recogniser] = {}


def recogniser(name: str) -> Recogniser | None:
    """The recogniser `name` stands for ("none": voice alone), one per process,
    made on first use so its model loads once."""
    if name == "none":
        return None
    if name not in _LOADED:
        if name != "whisper-base":
            raise RecogniserError(f"unknown recogniser {name!r}: expected none or whisper-base")
        from callsop.audio.whisper import WhisperBase

        _LOADED[name] = WhisperBase()
    return _LOADED[name]
