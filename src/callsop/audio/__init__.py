"""Call recordings heard: who spoke when, voice metrics and, optionally, a machine transcript.

A pure room: recordings in, exchange-format dicts out; no Django.

The names below load on first use, so that a command which only scores
(`callsop score`) does not pay for numpy and the audio decoders at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callsop.audio.decode import AudioError
    from callsop.audio.hearing import Heard, hear, playable
    from callsop.audio.recognise import Recogniser, RecogniserError

_WHERE = {
    "AudioError": "callsop.audio.decode",
    "Heard": "callsop.audio.hearing",
    "hear": "callsop.audio.hearing",
    "playable": "callsop.audio.hearing",
    "Recogniser": "callsop.audio.recognise",
    "RecogniserError": "callsop.audio.recognise",
}

__all__ = ["AudioError", "Heard", "Recogniser", "RecogniserError", "hear", "playable"]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(where), name)
    globals()[name] = value
    return value
