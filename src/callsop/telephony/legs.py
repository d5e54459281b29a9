"""One call per customer call, however many SIP dialogs the PBX makes of it.

A proxy (Kamailio, OpenSIPS) keeps one dialog end to end. A back-to-back
PBX (Asterisk, FreePBX, FreeSWITCH, 3CX) makes one dialog per leg, each
with its own Call-ID: customer to PBX, PBX to the desk, PBX to the
colleague a call is transferred to. `CallJoiner` follows every dialog with
one `DialogTracker` and joins the legs of a customer call into one call,
reported under the call_id of its first leg.

How a leg is known (none of these PBXs puts a shared id in SIP or in its
HEP correlation chunk: Asterisk's `uuid_type = call-id` sends each leg's
own Call-ID):

- A *PBX* is an address named to the joiner (`pbx=`), or one learnt when
  an INVITE sent to it is followed by an INVITE from it with the same
  calling number (the PBX relaying a call).
- A new dialog whose INVITE comes from a PBX joins the live call through
  that PBX whose parties include its calling number (From, or the
  P-Asserted-Identity / Remote-Party-ID the PBX adds), the newest first:
  - with the caller's number, it is the PBX ringing the callee's side:
    a desk (several at once for a ring group), or the colleague a blind
    transfer goes to;
  - with the number of a desk already talking in the call, it is that
    desk consulting a colleague (attended transfer): when the desk's own
    leg ends while the consultation is answered, the call is transferred
    to the colleague, who now has the customer.
- A dialog the PBX starts toward a phone with the phone's own number as
  caller is an Originate (click-to-dial) ringing the desk's own phone: it
  is not a call; the next dialog the PBX starts from that number is, with
  the desk as its caller.

Within a call: ringing and the answer are the first of any leg's, and the
answer names the desk whose leg answered (`target`); holds are counted per
side across legs; a REFER on a leg is the transfer, and the transferer's
leg ending after it does not end the call; the call ends when its first
leg ends (when the first leg itself was transferred away, when its last
leg ends). A line dropped on a desk's leg makes the call's end a drop.
Event times never run backwards within a call (Asterisk stamps received
SIP to the millisecond, so a 180 can seem to precede its INVITE).

A hold or transfer the PBX makes inside itself (music on hold during an
AMI or feature-code attended transfer) shows in no SIP message: over HEP
such a call shows its transfer but no hold, so the hold rules are `na`
for it rather than wrong. AMI (`callsop telephony --ami`) reports both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

from callsop.telephony.dialogs import CallEvent, DialogTracker, Side
from callsop.telephony.sip import SipMessage

Role = Literal["first", "ring", "consult", "own-phone"]
RELAY_WINDOW_S = 5.0  # a PBX relays a call to the desk within this of receiving it
_SAME: dict[Side, Side] = {"caller": "caller", "callee": "callee"}
_SWAPPED: dict[Side, Side] = {"caller": "callee", "callee": "caller"}


def _started(call: _Call) -> float:
    return call.started_at


def _leading_number(user: str) -> str:
    digits = len(user) - len(user.lstrip("+0123456789"))
    return user[:digits] or user


@dataclass(slots=True)
class _Leg:
    call_id: str
    role: Role
    to_user: str | None
    sides: dict[Side, Side]  # this dialog's side -> the call's side
    consulting: str | None = None  # a consultation: the number of the desk consulting
    answered: bool = False
    ended: bool = False
    referred: bool = False


@dataclass(slots=True)
class _Call:
    key: str  # the first leg's Call-ID: the call's call_id
    caller: str | None
    callee: str | None
    # Where the first leg's INVITE went: with a proxy in front of the PBX,
    # each hop (the proxy, then the PBX it relays the INVITE to).
    pbx: set[str]
    started_at: float
    legs: dict[str, _Leg] = field(default_factory=dict)
    ringing: bool = False
    answered: bool = False
    holding: set[Side] = field(default_factory=set)
    transfer_pending: bool = False  # a REFER was accepted: the next leg is its target
    first_gone: bool = False  # the first leg was transferred away
    network: bool = False  # a desk's leg dropped
    ended: bool = False
    last_at: float = 0.0

    def desks(self) -> set[str]:
        return {leg.to_user for leg in self.legs.values() if leg.role == "ring" and leg.to_user}


@dataclass(slots=True)
class _OwnPhone:
    """An Originate ringing the desk's phone, waiting for the customer's leg."""

    call_id: str
    number: str
    pbx: str
    at: float


class CallJoiner:
    """The call events of every customer call, legs joined.

    Has DialogTracker's interface (`feed`, `forget_before`, `resume`,
    `len`), so the collector uses either."""

    def __init__(self, *, pbx: Iterable[str] = (), tracker: DialogTracker | None = None) -> None:
        self.tracker = tracker if tracker is not None else DialogTracker()
        self.pbx: set[str] = set(pbx)
        self._calls: dict[str, _Call] = {}
        self._leg_of: dict[str, str] = {}  # a leg's Call-ID -> its call's key
        self._own_phones: dict[str, _OwnPhone] = {}
        # (a PBX address the call goes through, or "" when not known; a number
        # in it, the caller's or a desk's) -> its calls' keys, oldest first.
        self._by_number: dict[tuple[str, str], dict[str, None]] = {}
        self.joined = 0  # legs joined to a call

    def __len__(self) -> int:
        return len(self.tracker)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self.tracker

    @property
    def evicted(self) -> int:
        return self.tracker.evicted

    def feed(
        self,
        message: SipMessage,
        at: float,
        *,
        source: str | None = None,
        destination: str | None = None,
    ) -> list[CallEvent]:
        self._note_hop(message, destination)
        if self._is_new(message) and not self._place(message, at, source, destination):
            self.tracker.feed(message, at, source=source, destination=destination)
            return []  # an Originate's own phone: followed, not reported
        events = self.tracker.feed(message, at, source=source, destination=destination)
        out: list[CallEvent] = []
        for event in events:
            out += self._lift(event)
        return out

    # Where a new dialog belongs.

    def _note_hop(self, message: SipMessage, destination: str | None) -> None:
        """A first leg's INVITE relayed on (a proxy handing it to the PBX):
        the PBX is where it went next."""
        if message.method != "INVITE" or message.to_tag is not None or destination is None:
            return
        call = self._calls.get(message.call_id)
        if call is not None and destination not in call.pbx:
            call.pbx.add(destination)
            for number in {call.caller, *call.desks()}:
                self._index_at(destination, number, call)

    def _is_new(self, message: SipMessage) -> bool:
        return (
            message.method == "INVITE"
            and message.to_tag is None
            and message.call_id not in self._leg_of
            and message.call_id not in self._own_phones
        )

    def _place(
        self, message: SipMessage, at: float, source: str | None, destination: str | None
    ) -> bool:
        """Registers a new dialog's leg; False for an Originate's own phone."""
        numbers = {n for n in (message.from_user, message.asserted_user) if n}
        from_pbx = source is not None and (source in self.pbx or self._relays(source, numbers, at))
        if from_pbx and source is not None:
            self.pbx.add(source)
            call = self._parent(source, numbers)
            if call is not None:
                self._join(call, message, numbers)
                return True
            own = self._own_phone_of(source, numbers)
            if own is not None:
                self._start(message, at, source)
                del self._own_phones[own.call_id]
                leg = _Leg(own.call_id, "own-phone", own.number, dict(_SWAPPED), answered=True)
                self._calls[message.call_id].legs[own.call_id] = leg
                self._leg_of[own.call_id] = message.call_id
                return True
            if message.from_user and message.from_user == message.to_user:
                self._own_phones[message.call_id] = _OwnPhone(
                    message.call_id, message.from_user, source, at
                )
                return False
        self._start(message, at, destination)
        return True

    def _newest(self, pbx: str, numbers: set[str]) -> Iterator[_Call]:
        """The live calls through `pbx` (or through no known PBX) that any of
        `numbers` is in, the newest first."""
        keys = [
            key
            for number in numbers
            for where in (pbx, "")
            for key in self._by_number.get((where, number), {})
        ]
        calls = (self._calls.get(key) for key in dict.fromkeys(keys))
        live = sorted((c for c in calls if c is not None and not c.ended), key=_started)
        return reversed(live)

    def _index(self, number: str | None, call: _Call) -> None:
        for where in call.pbx or {""}:
            self._index_at(where, number, call)

    def _index_at(self, where: str, number: str | None, call: _Call) -> None:
        if number:
            self._by_number.setdefault((where, number), {})[call.key] = None

    def _relays(self, source: str, numbers: set[str], at: float) -> bool:
        """Whether `source` is relaying a call it was just sent: a PBX."""
        for number in numbers:
            for key in reversed(self._by_number.get((source, number), {})):
                call = self._calls.get(key)
                if call is None or at - call.started_at > RELAY_WINDOW_S:
                    break  # the rest are older still
                if call.caller == number and not call.ended:
                    return True
        return False

    def _parent(self, pbx: str, numbers: set[str]) -> _Call | None:
        for call in self._newest(pbx, numbers):
            if call.caller in numbers or numbers & call.desks():
                return call
        return None

    def _own_phone_of(self, pbx: str, numbers: set[str]) -> _OwnPhone | None:
        mine = [o for o in self._own_phones.values() if o.pbx == pbx and o.number in numbers]
        return max(mine, key=lambda o: o.at) if mine else None

    def _start(self, message: SipMessage, at: float, pbx: str | None) -> None:
        """A new call, its first leg `message`'s dialog; `pbx` is where it
        goes through, when it goes through a PBX."""
        call = _Call(
            message.call_id, message.from_user, message.to_user, {pbx} if pbx else set(), at
        )
        call.legs[message.call_id] = _Leg(message.call_id, "first", message.to_user, dict(_SAME))
        self._calls[call.key] = call
        self._leg_of[call.key] = call.key
        self._index(call.caller, call)

    def _join(self, call: _Call, message: SipMessage, numbers: set[str]) -> None:
        if call.answered and not call.transfer_pending:
            # A desk in the call consulting a colleague, on the desk's side of the call.
            desk_side: Side = "caller" if call.caller in numbers else "callee"
            sides = dict(_SAME) if desk_side == "caller" else dict(_SWAPPED)
            desk = (
                call.caller if desk_side == "caller" else next(iter(numbers & call.desks()), None)
            )
            leg = _Leg(message.call_id, "consult", message.to_user, sides, consulting=desk)
        else:
            leg = _Leg(message.call_id, "ring", message.to_user, dict(_SAME))
            call.transfer_pending = False
            self._index(message.to_user, call)
        call.legs[message.call_id] = leg
        self._leg_of[message.call_id] = call.key
        self.joined += 1

    # From a leg's events to the call's.

    def _lift(self, event: CallEvent) -> list[CallEvent]:
        key = self._leg_of.get(event.call_id)
        call = self._calls.get(key) if key is not None else None
        if call is None or call.ended:
            return []
        leg = call.legs[event.call_id]
        kind = event.kind
        by = leg.sides[event.by] if event.by is not None else None
        if kind == "offered":
            return [self._say(call, event)] if leg.role == "first" else []
        if kind == "ringing":
            if leg.role in ("first", "ring") and not call.ringing and not call.answered:
                call.ringing = True
                return [self._say(call, event)]
            return []
        if kind == "answered":
            return self._answered(call, leg, event)
        if kind in ("hold", "resume"):
            if leg.role == "consult" or by is None:
                return []
            return self._hold(call, event, by, holding=kind == "hold")
        if kind == "transfer":
            if leg.role == "consult":
                return []
            leg.referred = True
            call.transfer_pending = True
            return [self._say(call, event, by=by)]
        return self._ended(call, leg, event, by)

    def _answered(self, call: _Call, leg: _Leg, event: CallEvent) -> list[CallEvent]:
        leg.answered = True
        if call.answered or leg.role not in ("first", "ring"):
            return []
        call.answered = True
        target = event.target if leg.role == "first" else leg.to_user
        if target is not None and _leading_number(target) == call.callee:
            target = None  # the callee's own phone (baresip's Contact: 0912345678-0x55…)
        return [self._say(call, replace(event, target=target))]

    def _hold(self, call: _Call, event: CallEvent, by: Side, *, holding: bool) -> list[CallEvent]:
        if holding == (by in call.holding):
            return []
        if holding:
            call.holding.add(by)
        else:
            call.holding.discard(by)
        return [self._say(call, event, by=by)]

    def _ended(self, call: _Call, leg: _Leg, event: CallEvent, by: Side | None) -> list[CallEvent]:
        leg.ended = True
        if event.cause == "network" and leg.role != "first":
            call.network = True
        consult = next(
            (c for c in call.legs.values() if c.role == "consult" and c.answered and not c.ended),
            None,
        )
        number = call.caller if leg.role == "first" else leg.to_user
        if consult is not None and leg.answered and number == consult.consulting:
            # The consulting desk hung up: the colleague has the customer.
            consult.role = "ring"
            leg.referred = True
            if leg.role == "first":
                call.first_gone = True
            call.holding.clear()
            transfer = replace(event, kind="transfer", cause=None, target=consult.to_user)
            return [self._say(call, transfer, by=by)]
        if leg.role == "first" and leg.referred:
            call.first_gone = True
        alone = not any(not other.ended for other in call.legs.values())
        if leg.role == "first" and (not call.first_gone or alone):
            return self._end(call, event, by)  # alone: a proxy's one dialog, transferred away
        if call.first_gone and leg.role == "ring" and leg.answered and not leg.referred:
            return self._end(call, event, by)  # after a transfer: either party going ends it
        return []  # a ring-group branch, a transferer, or a consultation given up

    def _end(self, call: _Call, event: CallEvent, by: Side | None) -> list[CallEvent]:
        call.ended = True
        if event.kind == "hangup" and (call.network or event.cause == "network"):
            return [self._say(call, replace(event, by=None, cause="network"))]  # no one hung up
        return [self._say(call, event, by=by)]

    def _say(self, call: _Call, event: CallEvent, *, by: Side | None = None) -> CallEvent:
        at = max(event.at, call.last_at)
        call.last_at = at
        return CallEvent(
            call.key,
            event.kind,
            at,
            call.caller,
            call.callee,
            by if by is not None else event.by,
            event.cause,
            event.target,
        )

    # Memory.

    def forget_before(self, at: float) -> int:
        """Sweeps the tracker, then forgets the calls and Originates whose
        dialogs it no longer follows; how many dialogs went."""
        gone = self.tracker.forget_before(at)
        for key, call in list(self._calls.items()):
            if not any(leg in self.tracker for leg in call.legs):
                for leg in call.legs.values():
                    self._leg_of.pop(leg.call_id, None)
                    for where in call.pbx or {""}:
                        for number in (call.caller, leg.to_user):
                            self._unindex((where, number or ""), key)
                del self._calls[key]
        for key in [k for k in self._own_phones if k not in self.tracker]:
            del self._own_phones[key]
        return gone

    def _unindex(self, at: tuple[str, str], key: str) -> None:
        keys = self._by_number.get(at)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del self._by_number[at]

    def resume(self, history: list[CallEvent]) -> None:
        """Takes up a call from its stored events (after a restart): its
        first leg is followed again; legs the PBX makes later join it."""
        if not history:
            return
        self.tracker.resume(history)
        first = history[0]
        if first.call_id in self._calls:
            return
        call = _Call(first.call_id, first.caller, first.callee, set(), first.at)
        call.legs[first.call_id] = _Leg(first.call_id, "first", first.callee, dict(_SAME))
        for event in history:
            call.ringing |= event.kind in ("ringing", "answered")
            call.answered |= event.kind == "answered"
            call.last_at = max(call.last_at, event.at)
        self._calls[call.key] = call
        self._leg_of[call.key] = call.key
        self._index(call.caller, call)
