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


def sign(body: bytes, secret: bytes, at: float) -> str:
    """The signature header's value for `body` sent at `at`."""
    stamp = str(int(at))
    digest = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def verify(body: bytes, signature: str | None, secret: bytes, *, now: float) -> None:
    """Raises WebhookError (401) unless `signature` signs `body` recently."""
    if not signature:
        raise WebhookError(401, f"no {HEADER} header")
    parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or not given:
        raise WebhookError(401, f"{HEADER} must read t=<seconds>,v1=<hex>")
    if abs(now - int(stamp)) > REPLAY_WINDOW_S:
        raise WebhookError(401, f"signed at {stamp}, outside the {REPLAY_WINDOW_S:g} s window")
    expected = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise WebhookError(401, "the signature does not match the body")


def events_from(body: bytes) -> list[CallEvent]:
    """The call events of a verified body, or WebhookError (400) naming the field."""
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise WebhookError(400, f"not JSON: {exc}") from exc
    try:
        if isinstance(value, dict) and "events" in value:
            pushed = msgspec.convert(value, _Batch).events
        else:
            pushed = [msgspec.convert(value, _Pushed)]
    except msgspec.ValidationError as exc:
        raise WebhookError(400, f"bad event: {exc}") from exc
    return [CallEvent(**msgspec.structs.asdict(p)) for p in pushed]
