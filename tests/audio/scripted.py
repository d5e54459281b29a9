"""Scripted calls with their truth: recordings as a PBX writes them.

`build(script, folder, ...)` renders a script (see script.py) to audio: the
staff and customer lines on their own channels, hold music, white noise at
a chosen SNR, at a chosen rate and encoding, as one two-channel file (left
staff, right customer by default), two leg files, or a mono mixdown. It
returns the truth and the call's human-transcript record: the true
utterances and times, and the events where a PBX would have sent them
(ringing, answer, hold and resume, hangup), with no `speech` (a person's
transcript).

The recording starts with the ringing, so its times and the record's are
the same clock.

The named calls (`enquiry_with_hold`, `complaint`, `outbound_call`,
`rule_breaker`) are in `SCENARIOS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tests.audio.calls import SCENARIOS, complaint, enquiry_with_hold, outbound_call, rule_breaker
from tests.audio.script import (
    Hold,
    Pause,
    Say,
    Script,
    Span,
    Speaker,
    Spoken,
    Truth,
    lay_out,
)
from tests.audio.sound import (
    RATE,
    SPEECH_RMS,
    Encoding,
    Music,
    Signal,
    clip,
    hold_music,
    noise_for,
    suffix,
    write,
)

__all__ = [
    "SCENARIOS",
    "Built",
    "Hold",
    "Pause",
    "Say",
    "Script",
    "Span",
    "Spoken",
    "Truth",
    "build",
    "complaint",
    "enquiry_with_hold",
    "human_record",
    "lay_out",
    "outbound_call",
    "render",
    "rule_breaker",
]

Layout = Literal["stereo", "legs", "mono"]
STARTED_AT = "2026-12-01T10:00:00+08:00"


@dataclass(frozen=True)
class Built:
    paths: tuple[Path, ...]  # one file, or the staff leg then the customer leg
    truth: Truth
    record: dict[str, Any]  # the human-transcript callsop.call/1 record
    rate: int
    encoding: Encoding
    layout: Layout
    staff_channel: Literal["left", "right"]


def build(
    script: Script,
    folder: Path,
    *,
    rate: int = 8000,
    encoding: Encoding = "ulaw",
    snr_db: float | None = 20.0,
    music: Music = "tonal",
    layout: Layout = "stereo",
    staff_channel: Literal["left", "right"] = "left",
    music_on: Speaker = "staff",
    seed: int = 0,
    name: str | None = None,
) -> Built:
    """Writes the call's recording into `folder`. `snr_db=None` is a clean
    line; `music` is the kind of every hold's music; `music_on` the channel
    that carries it (the PBX plays it to the customer from the staff side)."""
    truth = lay_out(script, music)
    staff, customer = render(truth, snr_db=snr_db, music_on=music_on, seed=seed)
    stem = name or script.id
    folder.mkdir(parents=True, exist_ok=True)
    ext = suffix(encoding)
    if layout == "stereo":
        pair = (staff, customer) if staff_channel == "left" else (customer, staff)
        paths: tuple[Path, ...] = (folder / f"{stem}{ext}",)
        write(paths[0], np.stack(pair, axis=1), rate, encoding)
    elif layout == "legs":
        paths = (folder / f"{stem}-staff{ext}", folder / f"{stem}-customer{ext}")
        write(paths[0], staff, rate, encoding)
        write(paths[1], customer, rate, encoding)
    else:
        paths = (folder / f"{stem}{ext}",)
        write(paths[0], 0.7 * (staff + customer), rate, encoding)
    record = human_record(script, truth)
    return Built(paths, truth, record, rate, encoding, layout, staff_channel)


def render(
    truth: Truth,
    *,
    snr_db: float | None = 20.0,
    music_on: Speaker = "staff",
    seed: int = 0,
) -> tuple[Signal, Signal]:
    """The staff and customer channels at 16 kHz."""
    n = round(truth.duration * RATE)
    channels: dict[Speaker, Signal] = {"staff": np.zeros(n), "customer": np.zeros(n)}
    for line in truth.utterances:
        audio = clip(line.clip).audio
        first = round(line.start * RATE)
        channels[line.speaker][first : first + len(audio)] += audio[: n - first]
    for index, hold in enumerate(truth.holds):
        kind: Music | None = (
            "tonal" if hold.kind == "tonal" else "hard" if hold.kind == "hard" else None
        )
        if kind is not None:
            first = round(hold.start * RATE)
            tune = hold_music(hold.seconds, kind, seed=seed + index)
            channels[music_on][first : first + len(tune)] += tune[: n - first]
    if snr_db is not None:
        for offset, signal in enumerate(channels.values()):
            signal += noise_for(signal, SPEECH_RMS**2, snr_db, seed * 2 + offset + 1)
    return channels["staff"], channels["customer"]


def human_record(script: Script, truth: Truth) -> dict[str, Any]:
    """The call as a person transcribed it, with the PBX's events."""
    events: list[dict[str, Any]] = []
    if script.direction == "outbound":
        events += [{"t": 0.0, "type": "dialing"}, {"t": 0.5, "type": "ringing"}]
    else:
        events.append({"t": 0.0, "type": "ringing"})
    events.append({"t": truth.answered, "type": "answered"})
    for hold in truth.pbx_holds:
        events += [{"t": hold.start, "type": "hold"}, {"t": hold.end, "type": "resume"}]
    events.append({"t": truth.duration, "type": "hangup", "by": script.hangup_by})
    utterances = [
        {"speaker": u.speaker, "start": u.start, "end": u.end, "text": u.text}
        for u in truth.utterances
    ]
    record: dict[str, Any] = {
        "schema": "callsop.call/1",
        "id": script.id,
        "direction": script.direction,
        "started_at": STARTED_AT,
        "events": events,
        "utterances": utterances,
    }
    record.update(script.fields)
    return record
