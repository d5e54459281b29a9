"""What a PBX's recording file name says about its call (FreePBX / Asterisk MixMonitor).

FreePBX names each MixMonitor file `<kind>-<to>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>`
in the PBX's local time. `in-` (and `q-` through a queue, `rg-` through a ring
group, whose `<to>` is the queue or group) are incoming calls, `out-` outgoing
ones; `exten-`, `external-`, `internal-`, `ondemand-` and `force-` name the
recording's trigger, not the direction. Either number may be empty (a caller
who withholds it). The uniqueid is `<epoch seconds>.<sequence>`: when it agrees
with the name's date, it gives the start whatever the PBX's time zone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE: Final = "Asia/Taipei"
INBOUND: Final = frozenset({"in", "q", "rg"})
OUTBOUND: Final = frozenset({"out"})
UNDIRECTED: Final = frozenset({"exten", "external", "internal", "ondemand", "force"})
# Local time is UTC−12 to UTC+14; an epoch further from the name's time is no epoch.
MOST_OFFSET: Final = timedelta(hours=15)
_MIXMONITOR = re.compile(
    r"^(?P<kind>[a-z]+)-(?P<to>[^-]*)-(?P<from>[^-]*)-(?P<date>\d{8})-(?P<time>\d{6})"
    r"(?:-(?:[^-]+-)?(?P<epoch>\d{9,11})\.\d+)?"
)


@dataclass(frozen=True)
class CallName:
    direction: Literal["inbound", "outbound"] | None  # None: the name does not say
    started_at: datetime
    customer_phone: str | None


def time_zone() -> ZoneInfo:
    name = os.environ.get("CALLSOP_TIME_ZONE") or DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"CALLSOP_TIME_ZONE: unknown time zone {name!r}") from None


def parse_name(path: str | os.PathLike[str], zone: ZoneInfo) -> CallName | None:
    """The call a MixMonitor file name describes, or None for any other name."""
    match = _MIXMONITOR.match(Path(path).name)
    if match is None or match["kind"] not in INBOUND | OUTBOUND | UNDIRECTED:
        return None
    try:
        local = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    kind = match["kind"]
    direction: Literal["inbound", "outbound"] | None = None
    if kind in INBOUND:
        direction = "inbound"
    elif kind in OUTBOUND:
        direction = "outbound"
    phone = match["to"] if direction == "outbound" else match["from"]
    return CallName(
        direction=direction,
        started_at=_started_at(local, match["epoch"], zone),
        customer_phone=phone if any(c.isdigit() for c in phone) else None,
    )


def _started_at(local: datetime, epoch: str | None, zone: ZoneInfo) -> datetime:
    if epoch is not None:
        instant = datetime.fromtimestamp(int(epoch), UTC)
        if abs(local - instant.replace(tzinfo=None)) <= MOST_OFFSET:
            return instant.astimezone(zone)
    return local.replace(tzinfo=zone)
