"""Which desk call a file of the PBX's recording folder belongs to.

The rules, in order:

1. **By the PBX's id in the file name.** The id is looked up among the
   desk's calls by the id the PBX gave them (`Call.external_id`: Asterisk's
   Linkedid from the Manager Interface, which is the Uniqueid of the call's
   first channel; the SIP Call-ID from HEP; a record's id for imports).
   Names understood:

   - Asterisk MixMonitor's default, `${UNIQUEID}.wav`: `1732700000.42.wav`;
   - FreePBX, `<kind>-<to>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>.wav`, for
     example `in-0227001234-0912345678-20261127-100004-1732672804.17.wav`
     (incoming: the club's number or extension, then the caller) and
     `out-0912345678-101-20261127-100004-1732672804.18.wav` (outgoing: the
     number dialled, then the extension);
   - FreeSWITCH, `<uuid>.wav`: `0d7e6c6a-1b6c-4a5e-9a51-1f0b8c1c2d3e.wav`;
   - any other name: its whole stem, taken as the id;
   - each of these with a leg's suffix (`-in`/`-out`, `-r`/`-t`, see
     `services.recording_legs`), which is not part of the id.

2. **Else by the caller's number and the time.** A FreePBX name carries the
   customer's number (the caller of an `in-` file, the number dialled of an
   `out-` one) and the moment the recording began, in the PBX's local time
   (the desk's CALLSOP_TIME_ZONE). The call is the finished call with that
   number (as `0912-345-678`, `+886912345678` and `0912345678` agree) whose
   answer (or, unanswered, start) is closest to that moment, within
   MATCH_WINDOW either side. When the other number of the name is a club's
   line or a clerk's extension, only that club's calls count.

A file whose call is still in progress waits until the call has ended. A
file that matches no call is left where it is and reported once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings

from callsop.desk.models import Call, ClubLine, Staff
from callsop.desk.services.recording_legs import base_stem
from callsop.engine.history import normalise_phone

MATCH_WINDOW = timedelta(minutes=3)

_FREEPBX = re.compile(
    r"^(?P<kind>[a-z0-9]+)-(?P<to>[^-]*)-(?P<from>[^-]*)-(?P<date>\d{8})-(?P<time>\d{6})-(?P<uid>[^-]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Named:
    """What a recording's file name says."""

    pbx_id: str
    number: str | None = None  # the customer's
    other: str | None = None  # the club's line or extension
    began: datetime | None = None


def read_name(path: Path) -> Named:
    stem = base_stem(path)
    match = _FREEPBX.match(stem)
    if match is not None:
        incoming = match["kind"].lower() != "out"
        number = match["from"] if incoming else match["to"]
        other = match["to"] if incoming else match["from"]
        try:
            local = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
            began = local.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
        except ValueError:
            began = None
        return Named(match["uid"], number or None, other or None, began)
    return Named(stem)


@dataclass(frozen=True)
class Found:
    call: Call | None
    waiting: bool = False  # the call is still in progress
    how: str = ""  # "id" or "number and time"


def match_file(path: Path) -> Found:
    named = read_name(path)
    by_id = list(
        Call.objects.select_related("club", "clerk").filter(external_id__iexact=named.pbx_id)[:2]
    )
    if len(by_id) == 1:
        call = by_id[0]
        return Found(call, waiting=call.state != Call.State.ENDED, how="id")
    if named.number and named.began:
        return _by_number(named)
    return Found(None)


def _club_of(other: str | None) -> int | None:
    key = normalise_phone(other)
    if not key:
        return None
    line = ClubLine.objects.filter(number=key).first()
    if line is not None:
        return line.club_id
    staff = list(
        Staff.objects.filter(extension=other, club__isnull=False).values_list("club_id", flat=True)
    )
    return staff[0] if len(set(staff)) == 1 else None


def _by_number(named: Named) -> Found:
    assert named.began is not None
    key = normalise_phone(named.number)
    if not key:
        return Found(None)
    began = named.began
    calls = Call.objects.select_related("club", "clerk").filter(
        phone_key=key,
        started_at__gte=began - timedelta(hours=2),
        started_at__lte=began + MATCH_WINDOW,
    )
    club_id = _club_of(named.other)
    if club_id is not None:
        calls = calls.filter(club_id=club_id)
    best: Call | None = None
    best_gap = MATCH_WINDOW
    for call in calls:
        gap = abs((call.answered_at or call.started_at) - began)
        if gap <= best_gap:
            best, best_gap = call, gap
    if best is None:
        return Found(None)
    return Found(best, waiting=best.state != Call.State.ENDED, how="number and time")
