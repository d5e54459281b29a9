"""A recording heard: who spoke when (and, with a recogniser, what), holds and dead air."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import soundfile as sf

from callsop.audio import vad, voice
from callsop.audio.decode import Recording, Samples, StaffChannel, read_recording, resample
from callsop.audio.recognise import RECOGNISER_RATE, Recogniser

MARGIN_S: Final = 0.2  # the recogniser hears a little either side of the VAD's edges
PLAYABLE_RATE: Final = 16000  # telephone audio loses nothing; browsers play it everywhere
PLAYABLE_BLOCK_S: Final = 10
# Shares of the progress bar: decoding and voice activity, then recognition per utterance.
DECODED: Final = 0.1
VOICED: Final = 0.3

Progress = Callable[[float], None]
Segment = tuple[float, float]


@dataclass(frozen=True)
class Heard:
    """A recording's speech in the exchange format's shapes (call-record.md)."""

    utterances: list[dict[str, Any]]
    events: list[dict[str, Any]]
    speech: dict[str, Any]
    duration: float
    tracks: int
    dead_air: list[Segment] = field(default_factory=list)
    talk_overs: list[Segment] = field(default_factory=list)

    def record(
        self,
        *,
        id: str,
        started_at: datetime | str,
        direction: Literal["inbound", "outbound"],
        club: str | None = None,
        customer_phone: str | None = None,
    ) -> dict[str, Any]:
        """A full `callsop.call/1` record of the heard call."""
        when = started_at.isoformat() if isinstance(started_at, datetime) else started_at
        record: dict[str, Any] = {"schema": "callsop.call/1", "id": id, "started_at": when}
        record["direction"] = direction
        if club is not None:
            record["club"] = club
        if customer_phone:
            record["customer"] = {"phone": customer_phone}
        record["events"] = [dict(e) for e in self.events]
        record["utterances"] = [dict(u) for u in self.utterances]
        record["speech"] = dict(self.speech)
        return record


def hear(
    paths: Sequence[str | os.PathLike[str]],
    *,
    staff_channel: Literal["left", "right"] = "left",
    recogniser: Recogniser | None = None,
    name: str | None = None,
    on_progress: Progress | None = None,
) -> Heard:
    """Hear one call: one file (two channels or mono) or two files (staff leg, customer leg)."""
    report = _Reporter(on_progress)
    rate = RECOGNISER_RATE if recogniser is not None else vad.VAD_RATE
    recording = read_recording(paths, rate=rate, staff_channel=staff_channel)
    report(DECODED)
    tracks8 = {k: resample(v, rate, vad.VAD_RATE) for k, v in recording.tracks.items()}
    speech = _in_parallel(vad.detect, tracks8)
    heard = voice.analyse(tracks8, speech)
    report(VOICED if recogniser is not None else 1.0)
    texts = [""] * len(heard.utterances)
    if recogniser is not None:
        texts = _recognise(recogniser, recording, heard.utterances, report)
    utterances = [
        {
            "speaker": u.speaker,
            "start": _round(u.start),
            "end": _round(u.end),
            "text": text,
            "syllables": u.syllables,
            "source": "audio",
        }
        for u, text in zip(heard.utterances, texts, strict=True)
    ]
    events = [
        {"t": _round(t), "type": kind, "source": "audio"}
        for start, end in heard.holds
        for t, kind in ((start, "hold"), (end, "resume"))
    ]
    source: dict[str, Any] = {"source": "voice-only"}
    if recogniser is not None:
        source = {"source": "machine", "engine": recogniser.name}
    source["recording"] = name if name is not None else " + ".join(recording.names)
    report(1.0)
    return Heard(
        utterances=utterances,
        events=events,
        speech=source,
        duration=_round(recording.duration),
        tracks=len(recording.tracks),
        dead_air=[(_round(a), _round(b)) for a, b in heard.dead_air],
        talk_overs=[(_round(a), _round(b)) for a, b in heard.talk_overs],
    )


def _recognise(
    recogniser: Recogniser, recording: Recording, spoken: list[voice.Spoken], report: _Reporter
) -> list[str]:
    """Each utterance's text; one thread per channel, so the two channels decode in parallel."""
    texts = [""] * len(spoken)
    done = [0]
    lock = threading.Lock()

    def channel(speaker: str) -> None:
        samples = recording.tracks[speaker]
        for i, u in enumerate(spoken):
            if u.speaker != speaker:
                continue
            first = max(0, int((u.start - MARGIN_S) * recording.rate))
            clip = np.ascontiguousarray(samples[first : int((u.end + MARGIN_S) * recording.rate)])
            texts[i] = recogniser.transcribe(clip)
            with lock:
                done[0] += 1
                report(VOICED + (1 - VOICED) * done[0] / len(spoken))

    _in_parallel(channel, {k: k for k in recording.tracks})
    return texts


def _in_parallel(work: Callable[[Any], Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    with ThreadPoolExecutor(max_workers=len(inputs)) as pool:
        futures = {key: pool.submit(work, value) for key, value in inputs.items()}
        return {key: future.result() for key, future in futures.items()}


class _Reporter:
    def __init__(self, on_progress: Progress | None) -> None:
        self._on_progress = on_progress
        self._lock = threading.Lock()

    def __call__(self, fraction: float) -> None:
        if self._on_progress is not None:
            with self._lock:
                self._on_progress(min(1.0, fraction))


def _round(seconds: float) -> float:
    return round(float(seconds), 2)


def playable(
    paths: Sequence[str | os.PathLike[str]],
    out: Path,
    *,
    staff_channel: StaffChannel = "left",
) -> None:
    """A copy any browser plays (OGG Vorbis): staff left, customer right; mono stays mono.

    Written beside `out` first and moved into place, so a failure leaves no half file;
    and block by block: libsndfile 1.2.2's Vorbis encoder crashes the process (a
    segmentation fault) when handed about three minutes of two-channel audio at once.
    """
    recording = read_recording(paths, rate=PLAYABLE_RATE, staff_channel=staff_channel)
    tracks: list[Samples] = (
        [recording.tracks["staff"], recording.tracks["customer"]]
        if "staff" in recording.tracks
        else [recording.tracks["other"]]
    )
    audio = np.stack(tracks, axis=1)
    block = PLAYABLE_BLOCK_S * PLAYABLE_RATE
    partial = out.with_name(f".{out.name}.partial")
    try:
        with sf.SoundFile(
            partial, "w", PLAYABLE_RATE, len(tracks), format="OGG", subtype="VORBIS"
        ) as sink:
            for start in range(0, len(audio), block):
                sink.write(audio[start : start + block])
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
