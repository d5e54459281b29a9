"""Asterisk's Manager Interface (AMI) as call events.

`AmiTracker` is pure: AMI event messages in (header name to value, any
case), `CallEvent`s out, the same model the SIP collector produces. A call
is Asterisk's Linkedid, shared by every channel of it; its call_id is the
Linkedid.

How Asterisk 22 really reports a call (tests/telephony/asterisk holds the
recordings these rules were read from):

- The channel that starts the call (Uniqueid = Linkedid) is the caller's;
  a channel dialled (DialBegin) from one side is on the other side. A
  `Local/…;2` channel dials on behalf of whoever it stands for: what it
  dials is on the side of its `;1` half, or else of the party whose number
  it carries (an attended transfer's consultation).
- An AMI Originate first dials the desk's own phone: that DialBegin has no
  caller channel, and the phone rings and answers before anyone calls the
  customer. Such a call is reported from the moment the desk's channel
  dials the customer: the desk is its caller, the customer its callee, and
  the desk phone's own ringing is not the call's.
- BlindTransfer and AttendedTransfer carry no Linkedid (TransfererLinkedid,
  OrigTransfererLinkedid…). The transferer leaving is not the end of the
  call: the call ends when the customer's channel goes (the channel that
  started it, or after a transfer away from it, the transferee).
- Who hung up is the first HangupRequest or SoftHangupRequest on a party
  of the call since its last transfer; a line drop is a network Q.850
  cause (44 for Asterisk's RTP timeout) on the first channel to go.

With `timestampevents = yes` in manager.conf each event carries its time;
otherwise the receive time is used.

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

from callsop.telephony.dialogs import CallEvent, Kind, Side

# Q.850 causes that mean the network lost the call rather than a person ending
# it: 27 destination out of order, 38 network out of order, 41 temporary
# failure, 42 congestion, 44 channel unavailable (Asterisk's RTP timeout),
# 47 resource unavailable, 102 recovery on timer expiry.
NETWORK_CAUSES = frozenset({27, 38, 41, 42, 44, 47, 102})
FAILED_DIALS = {"NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL"}
IDLE_S = 4 * 3600.0  # a call silent this long lost its hang-up (a dropped AMI session)
_SWEEP_EVERY = 1000  # events between sweeps of idle calls (at least as many as calls kept)
# Numbers kept per call: a real call has a few channels; a flood of them
# must not make every DialBegin of a Local channel search them all.
_NUMBERS_KEPT = 256


def extension_of(channel: str) -> str | None:
    """PJSIP/201-0000002a is extension 201; a trunk (PJSIP/trunk-hinet-…),
    a Local channel or an odd name is no extension."""
    tech, _, rest = channel.partition("/")
    if not rest or tech.lower() == "local":
        return None
    name = rest.rsplit("-", 1)[0]
    return name if name.isdigit() else None


def _is_local(channel: str) -> bool:
    return channel.lower().startswith("local/")


def _other(side: Side) -> Side:
    return "callee" if side == "caller" else "caller"


def _number(value: str | None) -> str | None:
    """A caller-id number, or None for Asterisk's `<unknown>` and blanks."""
    if not value or value.startswith("<"):
        return None
    return value


@dataclass
class _Call:
    origin: str  # the channel that started the call
    caller: str | None
    callee: str | None
    last_at: float
    reported: bool = True  # an Originate's call is reported once it dials the customer
    originated: bool = False  # Originate rang this call's first channel (a desk phone)
    began_at: float = 0.0
    anchor: str = ""  # the customer's channel: the call ends when it goes
    sides: dict[str, Side] = field(default_factory=dict)  # channel name -> side
    numbers: dict[str, str] = field(default_factory=dict)  # channel name -> caller-id number
    ringing: bool = False
    answered: bool = False
    holding: set[Side] = field(default_factory=set)
    hung_up_by: Side | None = None
    first_cause: int | None = None  # of the first party to go since the last transfer
    transferers: set[str] = field(default_factory=set)
    dial_failed: str | None = None

    def side_of_number(self, number: str | None) -> Side | None:
        for channel, known in self.numbers.items():
            if number and known == number and channel in self.sides:
                return self.sides[channel]
        return None


class AmiTracker:
    def __init__(self) -> None:
        self._calls: dict[str, _Call] = {}
        self._fed = 0
        self._next_sweep = _SWEEP_EVERY

    def __len__(self) -> int:
        return len(self._calls)

    def feed(self, message: Mapping[str, str], received_at: float) -> list[CallEvent]:
        headers = {k.lower(): v for k, v in message.items()}
        handler = _HANDLERS.get(headers.get("event", "").lower())
        if handler is None:
            return []
        call_id = (
            headers.get("linkedid")
            or headers.get("transfererlinkedid")
            or headers.get("origtransfererlinkedid")
            or headers.get("transfereelinkedid")
            or headers.get("destlinkedid")
            or ""
        )
        if not call_id:
            return []
        stamp = headers.get("timestamp", "")
        try:
            at = float(stamp) if stamp else received_at
        except ValueError:
            at = received_at
        self._fed += 1
        if self._fed >= self._next_sweep:  # a sweep costs a step per call: spread it
            self._forget_idle(at)
            self._next_sweep = self._fed + max(_SWEEP_EVERY, len(self._calls))
        call = self._calls.get(call_id)
        if call is not None:
            call.last_at = max(call.last_at, at)
        return handler(self, call_id, headers, at)

    def _forget_idle(self, at: float) -> None:
        for key in [k for k, c in self._calls.items() if c.last_at < at - IDLE_S]:
            del self._calls[key]

    # One method per AMI event; each returns the call events it settles.

    def _newchannel(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        channel = h.get("channel", "")
        call = self._calls.get(call_id)
        if call is not None:
            number = _number(h.get("calleridnum"))
            if number and (channel in call.numbers or len(call.numbers) < _NUMBERS_KEPT):
                call.numbers[channel] = number
            return []
        if h.get("uniqueid") != call_id:
            return []  # only the channel that starts the call starts it
        # A phone's or a trunk's call arrives ringing (state 4). An Originate's
        # channel is made Down, then rung by a DialBegin with no caller: until
        # that shows, a Down channel's call is not yet said.
        down = h.get("channelstatedesc", "").lower() == "down"
        exten = h.get("exten") or None
        call = _Call(
            origin=channel,
            caller=extension_of(channel) or _number(h.get("calleridnum")),
            callee=None if exten == "s" else exten,
            last_at=at,
            reported=not down,
            anchor=channel,
            began_at=at,
        )
        call.sides[channel] = "caller"
        if number := _number(h.get("calleridnum")):
            call.numbers[channel] = number
        self._calls[call_id] = call
        return [self._event(call_id, call, "offered", at)] if call.reported else []

    def _dial_begin(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        dialler, dest = h.get("channel", ""), h.get("destchannel", "")
        if call is None or not dest:
            return []
        if not dialler:  # no caller channel: Originate ringing the desk's own phone
            call.originated |= dest == call.origin
            return []
        side = self._side_dialled(call, dialler, h)
        if side is not None:
            call.sides.setdefault(dest, side)
        number = _number(h.get("destcalleridnum"))
        if number and len(call.numbers) < _NUMBERS_KEPT:
            call.numbers.setdefault(dest, number)
        if call.reported or dialler != call.origin:
            return []
        call.reported = True
        if not call.originated:  # a call that began Down, as any other
            return [self._event(call_id, call, "offered", call.began_at)]
        # The originated desk channel dials the customer: the call begins.
        exten = h.get("exten")
        call.callee = (exten if exten not in (None, "", "s") else None) or h.get("dialstring")
        call.anchor = dest
        return [self._event(call_id, call, "offered", at)]

    @staticmethod
    def _side_dialled(call: _Call, dialler: str, h: dict[str, str]) -> Side | None:
        if _is_local(dialler):
            half = dialler[:-1] + "1" if dialler.endswith(";2") else dialler
            side = call.sides.get(half)
            return side if side is not None else call.side_of_number(_number(h.get("calleridnum")))
        side = call.sides.get(dialler)
        return _other(side) if side is not None else None

    def _newstate(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        channel = h.get("channel", "")
        if call is None or not call.reported or _is_local(channel):
            return []
        if call.sides.get(channel) != "callee" or channel == call.origin:
            return []
        state = h.get("channelstatedesc", "").lower()
        if state == "ringing" and not call.ringing and not call.answered:
            call.ringing = True
            return [self._event(call_id, call, "ringing", at)]
        if state == "up" and not call.answered:
            return self._answered(call_id, call, channel, at)
        return []

    def _answered(self, call_id: str, call: _Call, channel: str, at: float) -> list[CallEvent]:
        call.answered = True
        target = extension_of(channel)
        if target == call.callee:
            target = None
        return [self._event(call_id, call, "answered", at, target=target)]

    def _dial_end(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        dest = h.get("destchannel", "")
        if call is None or not call.reported or not h.get("channel"):
            return []
        if call.sides.get(dest) != "callee" or _is_local(dest):
            return []
        status = h.get("dialstatus", "").upper()
        if status == "ANSWER" and not call.answered:
            return self._answered(call_id, call, dest, at)
        if status in FAILED_DIALS and not call.answered:
            call.dial_failed = status
        return []

    def _agent_connect(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        """app_queue: a member took the queue's call."""
        call = self._calls.get(call_id)
        if call is None or not call.reported or call.answered:
            return []
        member = h.get("interface") or h.get("destchannel") or ""
        return self._answered(call_id, call, member, at)

    def _hold(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        return self._hold_change(call_id, h, at, holding=True)

    def _unhold(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        return self._hold_change(call_id, h, at, holding=False)

    def _hold_change(
        self, call_id: str, h: dict[str, str], at: float, *, holding: bool
    ) -> list[CallEvent]:
        call = self._calls.get(call_id)
        side = call.sides.get(h.get("channel", "")) if call else None
        if call is None or side is None or not call.reported or not call.answered:
            return []
        if holding == (side in call.holding):
            return []  # a repeat, or an Unhold with no Hold (before a blind transfer)
        if holding:
            call.holding.add(side)
        else:
            call.holding.discard(side)
        return [self._event(call_id, call, "hold" if holding else "resume", at, by=side)]

    def _transfer(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        if call is None or not call.reported or h.get("result", "Success").lower() != "success":
            return []
        transferer = h.get("transfererchannel") or h.get("origtransfererchannel") or ""
        transferee = h.get("transfereechannel", "")
        call.transferers |= {transferer, h.get("secondtransfererchannel", "")} - {""}
        if transferer == call.anchor and transferee:
            call.anchor = transferee  # the desk that dialled out handed its customer on
        call.hung_up_by = None
        call.first_cause = None
        call.holding.clear()  # the transfer takes the customer off hold
        target = (
            h.get("extension")
            or extension_of(h.get("transfertargetchannel", ""))
            or _number(h.get("secondtransfererconnectedlinenum"))
        )
        by = call.sides.get(transferer)
        return [self._event(call_id, call, "transfer", at, by=by, target=target)]

    def _hangup_request(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        channel = h.get("channel", "")
        if call is not None and call.hung_up_by is None and channel not in call.transferers:
            call.hung_up_by = call.sides.get(channel)
        return []

    def _hangup(self, call_id: str, h: dict[str, str], at: float) -> list[CallEvent]:
        call = self._calls.get(call_id)
        channel = h.get("channel", "")
        if call is None or channel not in call.sides or channel in call.transferers:
            return []
        try:
            cause = int(h.get("cause", "0") or 0)
        except ValueError:
            cause = 0
        if call.first_cause is None and not _is_local(channel):
            call.first_cause = cause
        if channel != call.anchor:
            return []  # a desk that was rung and not answered, or left: the call goes on
        del self._calls[call_id]
        if not call.reported:
            return []  # an Originate whose desk phone never dialled out
        by = call.hung_up_by or call.sides[channel]
        if not call.answered:
            if by == "caller" and not call.dial_failed:
                return [self._event(call_id, call, "cancelled", at, by=by)]
            return [self._event(call_id, call, "failed", at, cause=call.dial_failed or str(cause))]
        if call.first_cause in NETWORK_CAUSES or cause in NETWORK_CAUSES:
            return [self._event(call_id, call, "hangup", at, cause="network")]  # no one hung up
        return [self._event(call_id, call, "hangup", at, by=by)]

    def _event(
        self,
        call_id: str,
        call: _Call,
        kind: Kind,
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
    "agentconnect": AmiTracker._agent_connect,
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
