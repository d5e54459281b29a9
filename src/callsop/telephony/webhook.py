"""Call events pushed by PBXs and cloud phone services: a JSON webhook.

A push is trusted only when it is signed with the club's shared secret:

    X-Callsop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

and only within a replay window (5 minutes either side of now), so a push
someone captured cannot be sent again later. The body is one event or
{"events": [...]}, in the collector's own shape; a bad one is refused with
the field that is wrong. Keeping the raw payload is the receiver's job.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Literal

import msgspec

from callsop.telephony.dialogs import CallEvent, Kind, Side

HEADER = "X-Callsop-Signature"
REPLAY_WINDOW_S = 300.0


class WebhookError(ValueError):
    """A push refused: `status` is the HTTP status to answer with."""

    def __init__(self, status: Literal[400, 401], message: str) -> None:
        super().__init__(message)
        self.status = status


class _Pushed(msgspec.Struct, frozen=True):
    call_id: str
    kind: Kind
    at: float
    caller: str | None = None
    callee: str | None = None
    by: Side | None = None
    cause: str | None = None
    target: str | None = None


class _Batch(msgspec.Struct, frozen=True):
    events: list[_Pushed]


_STAMP = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"[0-9a-f]{64}")


def _digest(secret: bytes, stamp: str, body: bytes) -> bytes:
    return hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest().encode()


def sign(body: bytes, secret: bytes, at: float) -> str:
    """The signature header's value for `body` sent at `at`."""
    stamp = str(int(at))
    return f"t={stamp},v1={_digest(secret, stamp, body).decode()}"


class Replays:
    """Signatures already accepted, kept for the replay window: a captured
    push sent again inside the window is refused too."""

    def __init__(self) -> None:
        self._seen: dict[bytes, float] = {}

    def first_time(self, signature: bytes, stamp: int, now: float) -> bool:
        for old in [s for s, t in self._seen.items() if t < now - 2 * REPLAY_WINDOW_S]:
            del self._seen[old]
        if signature in self._seen:
            return False
        self._seen[signature] = stamp
        return True


def verify(
    body: bytes, signature: str | None, secret: bytes, *, now: float, replays: Replays | None = None
) -> None:
    """Raises WebhookError (401) unless `signature` signs `body` recently
    (and, given `replays`, for the first time). Several v1 values may be
    given while a club's secret is being changed."""
    if not signature:
        raise WebhookError(401, f"no {HEADER} header")
    parts = [p.strip().partition("=") for p in signature.split(",")]
    stamps = [v for k, _, v in parts if k == "t"]
    given = [v for k, _, v in parts if k == "v1" and _HEX.fullmatch(v)]
    if len(stamps) != 1 or not _STAMP.fullmatch(stamps[0]) or not given:
        raise WebhookError(401, f"{HEADER} must read t=<seconds>,v1=<64 hex digits>")
    stamp = stamps[0]
    if abs(now - int(stamp)) > REPLAY_WINDOW_S:
        raise WebhookError(401, f"signed at {stamp}, outside the {REPLAY_WINDOW_S:g} s window")
    expected = _digest(secret, stamp, body)
    if not any(hmac.compare_digest(expected, v.encode()) for v in given):
        raise WebhookError(401, "the signature does not match the body")
    if replays is not None and not replays.first_time(expected, int(stamp), now):
        raise WebhookError(401, "this push was accepted before: a replay")


def events_from(body: bytes) -> list[CallEvent]:
    """The call events of a verified body, or WebhookError (400) naming the field."""
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise WebhookError(400, f"not JSON: {exc}") from exc
    except RecursionError:
        raise WebhookError(400, "not JSON this program will read: nested too deep") from None
    try:
        if isinstance(value, dict) and "events" in value:
            pushed = msgspec.convert(value, _Batch).events
        else:
            pushed = [msgspec.convert(value, _Pushed)]
    except msgspec.ValidationError as exc:
        raise WebhookError(400, f"bad event: {exc}") from exc
    return [CallEvent(**msgspec.structs.asdict(p)) for p in pushed]
