"""Recordings written one file per direction, and which file is the staff's.

Asterisk's MixMonitor with its r()/t() options (and the older Monitor)
writes `<name>-in.wav`/`<name>-out.wav` or `<name>-r.wav`/`<name>-t.wav`;
FreeSWITCH with RECORD_STEREO off and RECORD_READ_ONLY/RECORD_WRITE_ONLY,
`<name>-read.wav`/`<name>-write.wav` as the dialplan names them. Both
record one channel of the call: "in" (r, rx, read) is the audio that
channel's far end sends the PBX, "out" (t, tx, write) what the PBX sends
it.

Which of the two is the clerk depends on whose channel was recorded, so
CALLSOP_RECORDING_STAFF_LEG says it: `in` or `out`, or `auto` (the
default), the leg the club's extension sends as FreePBX and FreeSWITCH's
usual dialplans record: they start the recording on the call's first
channel. For an incoming call that is the caller's (trunk) channel, so the
clerk's voice is what the PBX sends the caller: "out"/"t". For an
outgoing call it is the clerk's own extension, whose voice the PBX
receives from it: "in"/"r". A PBX that records the clerk's channel on
incoming calls too sets `in`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from django.conf import settings

from callsop.desk.models import Call

Direction = Literal["in", "out"]

_LEG = re.compile(r"^(?P<base>.+?)[-_](?P<leg>in|out|r|t|rx|tx|read|write)$", re.IGNORECASE)
_DIRECTION: dict[str, Direction] = {
    "in": "in",
    "r": "in",
    "rx": "in",
    "read": "in",
    "out": "out",
    "t": "out",
    "tx": "out",
    "write": "out",
}


@dataclass(frozen=True)
class Leg:
    base: str  # the name's stem without the leg's suffix
    direction: Direction


def leg_of(path: Path) -> Leg | None:
    """The leg a file's name says it is; None for a file of the whole call."""
    match = _LEG.match(path.stem)
    if match is None:
        return None
    return Leg(match["base"], _DIRECTION[match["leg"].lower()])


def base_stem(path: Path) -> str:
    leg = leg_of(path)
    return leg.base if leg is not None else path.stem


def staff_direction(call: Call) -> Direction:
    """The staff's leg of `call`, by CALLSOP_RECORDING_STAFF_LEG (see above)."""
    chosen = str(settings.CALLSOP_RECORDING_STAFF_LEG)
    if chosen in ("in", "out"):
        return "in" if chosen == "in" else "out"
    return "in" if call.direction == "outbound" else "out"


def staff_first(call: Call, legs: dict[Direction, Path]) -> list[Path]:
    """The two legs as the desk keeps them: the staff's, then the customer's."""
    staff = staff_direction(call)
    customer: Direction = "out" if staff == "in" else "in"
    return [legs[staff], legs[customer]]
