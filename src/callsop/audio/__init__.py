"""Call recordings heard: who spoke when, voice metrics and, optionally, a machine transcript.

A pure room: recordings in, exchange-format dicts out; no Django.
"""

from __future__ import annotations

from callsop.audio.decode import AudioError
from callsop.audio.hear import Heard, hear, playable
from callsop.audio.recognise import Recogniser, RecogniserError

__all__ = ["AudioError", "Heard", "Recogniser", "RecogniserError", "hear", "playable"]
