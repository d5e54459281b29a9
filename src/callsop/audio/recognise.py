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
