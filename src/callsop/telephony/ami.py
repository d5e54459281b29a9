"""Asterisk's Manager Interface (AMI) as call events.

`AmiTracker` is pure: AMI event messages in (header name to value, any
case), `CallEvent`s out, the same model the SIP collector produces. A call
is Asterisk's Linkedid, shared by every channel of it. Which side a channel
is on follows from how it joined: the channel that started the call is the
caller's; a channel dialled from it (DialBegin) is the callee's.

Asterisk 12 and later name the events used here: Newchannel, DialBegin,
DialEnd, Newstate, Hold, Unhold, BlindTransfer, AttendedTransfer,
HangupRequest, SoftHangupRequest, Hangup. With `timestampevents = yes` in
manager.conf each event carries its time; otherwise the receive time is
used.

`listen` connects with panoramisk, which logs in and reconnects by itself
when the connection drops; every event it has taken goes to the sink before
the next is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from callsop.telephony.dialogs import CallEvent, Side

# Q.850 causes that mean the network lost the call rather than a person ending it.
NETWORK_CAUSES = frozenset({27, 38, 41, 42, 47, 102})
FAILED_DIALS = {"NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL"}


def extension_of(channel: str) -> str | None:
    """PJSIP/201-0000002a is extension 201; a trunk (PJSIP/trunk-hinet-…),
    a Local channel or an odd name is no extension."""
    tech, _, rest = channel.partition("/")
    if not rest or tech.lower() == "local":
        return None
    name = rest.rsplit("-", 1)[0]
    return name if name.isdigit() else None


@dataclass
class _Call:
    caller: str | None
    callee: str | None
    sides: dict[str, Side] = field(default_factory=dict)  # channel name -> side
    ringing: bool = False
    answered: bool = False
    holding: set[Side] = field(default_factory=set)
    hung_up_by: Side | None = None
    ended: bool = False
    dial_failed: str | None = None


class AmiTracker:
    def __init__(self) -> None:
        self._calls: dict[str, _Call] = {}

    def feed(self, message: Mapping[str, str], received_at: float) -> list[CallEvent]:
        headers = {k.lower(): v for k, v in message.items()}
        name = headers.get("event", "")
        handler = _HANDLERS.get(name.lower())
        if handler is None:
            return []
        call_id = headers.get("linkedid") or headers.get("destlinkedid") or ""
        if not call_id:
            return []
        stamp = headers.get("timestamp", "")
        try:
            at = float(stamp) if stamp else received_at
        except ValueError:
            at = received_at
        return handler(self, call_id, headers, at)

    # One method per AMI event; each returns the call events it settles.

    def _newchannel(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        if h.get("uniqueid") != call_id or call_id in self._calls:
            return []  # only the channel that starts the call starts it
        call = _Call(caller=h.get("calleridnum") or None, callee=h.get("exten") or None)
        call.sides[h.get("channel", "")] = "caller"
        self._calls[call_id] = call
        return [self._event(call_id, call, "offered", at)]

    def _dial_begin(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        dest = h.get("destchannel", "")
        if call is None or not dest:
            return []
        call.sides[dest] = "callee"
        return []

    def _newstate(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        channel = h.get("channel", "")
        if call is None or call.ended or call.sides.get(channel) != "callee":
            return []
        state = h.get("channelstatedesc", "").lower()
        if state == "ringing" and not call.ringing and not call.answered:
            call.ringing = True
            return [self._event(call_id, call, "ringing", at)]
        if state == "up" and not call.answered:
            call.answered = True
            call.callee = extension_of(channel) or call.callee
            return [self._event(call_id, call, "answered", at)]
        return []

    def _dial_end(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        if call is None or call.ended:
            return []
        status = h.get("dialstatus", "").upper()
        if status == "ANSWER" and not call.answered:
            call.answered = True
            call.callee = extension_of(h.get("destchannel", "")) or call.callee
            return [self._event(call_id, call, "answered", at)]
        if status in FAILED_DIALS and not call.answered:
            call.dial_failed = status
        return []

    def _hold(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        return self._hold_change(call_id, h, at, holding=True)

    def _unhold(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        return self._hold_change(call_id, h, at, holding=False)

    def _hold_change(
        self, call_id: str, h: dict[str, str], at: float, *, holding: bool
    ) -> list[CallEvent]:
        call = self._calls.get(call_id)
        side = call.sides.get(h.get("channel", "")) if call else None
        if call is None or side is None or call.ended or not call.answered:
            return []
        if holding == (side in call.holding):
            return []  # a repeat
        if holding:
            call.holding.add(side)
        else:
            call.holding.discard(side)
        return [self._event(call_id, call, "hold" if holding else "resume", at, by=side)]

    def _transfer(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        side = call.sides.get(h.get("transfererchannel", "")) if call else None
        if call is None or call.ended:
            return []
        target = h.get("extension") or extension_of(h.get("transfertargetchannel", ""))
        return [self._event(call_id, call, "transfer", at, by=side, target=target)]

    def _hangup_request(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        if call is not None and call.hung_up_by is None:
            call.hung_up_by = call.sides.get(h.get("channel", ""))
        return []

    def _hangup(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        if call is None or call.ended:
            return []
        channel = h.get("channel", "")
        side = call.sides.get(channel)
        if side is None:
            return []
        call.ended = True
        del self._calls[call_id]
        try:
            cause = int(h.get("cause", "0") or 0)
        except ValueError:
            cause = 0
        by = call.hung_up_by or side
        if not call.answered:
            if by == "caller" and not call.dial_failed:
                return [self._event(call_id, call, "cancelled", at, by=by)]
            return [self._event(call_id, call, "failed", at, cause=call.dial_failed or str(cause))]
        network = cause in NETWORK_CAUSES
        return [
            self._event(call_id, call, "hangup", at, by=by, cause="network" if network else None)
        ]

    def _event(
        self,
        call_id: str,
        call: _Call,
        kind: Any,
        at: float,
        *,
        by: Side | None = None,
        cause: str | None = None,
        target: str | None = None,
    ) -> CallEvent:
        return CallEvent(call_id, kind, at, call.caller, call.callee, by, cause, target)


_HANDLERS: dict[str, Callable[[AmiTracker, str, dict[str, str], float], list[CallEvent]]] = {
    "newchannel": AmiTracker._newchannel,
    "dialbegin": AmiTracker._dial_begin,
    "newstate": AmiTracker._newstate,
    "dialend": AmiTracker._dial_end,
    "hold": AmiTracker._hold,
    "unhold": AmiTracker._unhold,
    "blindtransfer": AmiTracker._transfer,
    "attendedtransfer": AmiTracker._transfer,
    "hanguprequest": AmiTracker._hangup_request,
    "softhanguprequest": AmiTracker._hangup_request,
    "hangup": AmiTracker._hangup,
}


async def listen(
    sink: Callable[[CallEvent], None],
    *,
    host: str,
    port: int,
    username: str,
    secret: str,
    stop: asyncio.Event,
    reconnect_after_s: int = 2,
) -> None:
    """Logs in to AMI and sends each call event to `sink` until `stop` is set.
    A dropped connection is reopened after `reconnect_after_s`."""
    from panoramisk import Manager

    tracker = AmiTracker()

    def on_event(_manager: Any, message: Any) -> None:
        for event in tracker.feed(dict(message), time.time()):
            sink(event)

    manager = Manager(
        host=host,
        port=port,
        username=username,
        secret=secret,
        loop=asyncio.get_running_loop(),
        reconnect_timeout=reconnect_after_s,
        ping_delay=3600,
        ping_interval=3600,
    )
    manager.register_event("*", on_event)
    with contextlib.suppress(OSError):  # not up yet: panoramisk keeps trying
        await manager.connect()
    try:
        await stop.wait()
    finally:
        manager.close()
