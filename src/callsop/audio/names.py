"""What a PBX's recording file name says about its call (FreePBX / Asterisk MixMonitor).

FreePBX names each MixMonitor file `in-<to>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>`
for incoming calls (`q-…` through a queue) and `out-<to>-<from>-…` for outgoing
ones, in the PBX's local time; the customer is the far end of the call.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE: Final = "Asia/Taipei"
_MIXMONITOR = re.compile(
    r"^(?P<kind>in|q|out)-(?P<to>[^-]+)-(?P<from>[^-]+)-(?P<date>\d{8})-(?P<time>\d{6})-"
)


@dataclass(frozen=True)
class CallName:
    direction: Literal["inbound", "outbound"]
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
    if match is None:
        return None
    try:
        local = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    inbound = match["kind"] in ("in", "q")
    phone = match["from"] if inbound else match["to"]
    return CallName(
        direction="inbound" if inbound else "outbound",
        started_at=local.replace(tzinfo=zone),
        customer_phone=phone if any(c.isdigit() for c in phone) else None,
    )
