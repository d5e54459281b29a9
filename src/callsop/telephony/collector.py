"""The HEP collector: a UDP service that hears the PBX's mirrored SIP
traffic and reports each call event the moment its message arrives.

It never stops for bad input: garbage datagrams, truncated HEP, payloads
that are not SIP and unknown methods are counted and dropped. Nor can one
sender derail the calls of the others:

- A capture time more than MAX_SKEW_S from this machine's clock (a PBX
  kept by NTP is within milliseconds) is not believed: the message counts
  at its arrival instead ("time out of range"), and a warning is logged
  once a minute per sender. Sweeps of finished dialogs run on this clock,
  so no timestamp can bring them forward or put them off.
- The dialog table is bounded (`DialogTracker`'s max_dialogs); the dialogs
  it pushes out are counted ("dialogs evicted").
- Each sender may start NEW_CALLS_PER_S new dialogs a second, in bursts of
  up to NEW_CALL_BURST; further INVITEs that would start one are counted
  and dropped ("new calls over the rate limit"). Messages of a dialog
  already tracked always pass. The sender is the IP address the HEP
  datagram came from (the PBX or capture agent), not an address written
  inside the packet, which a sender chooses freely.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import socket
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from callsop.telephony import hep, sip
from callsop.telephony.dialogs import CallEvent, DialogTracker
from callsop.telephony.sip import SipMessage

MAX_SKEW_S = 60.0  # the farthest a capture time may be from our clock and still count
SWEEP_EVERY_S = 10.0  # seconds of our clock between sweeps of finished dialogs
WARN_EVERY_S = 60.0  # one warning of a bad capture time per sender this often
# A chain's PBX may start 50 calls a second, two dialogs each across a
# B2BUA: the budget leaves it several times that, and bursts of hundreds.
NEW_CALLS_PER_S = 300.0
NEW_CALL_BURST = 1500
MAX_SENDERS = 1024
RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024  # senders whose budget and warnings are remembered

EventSink = Callable[[CallEvent], None]
Sender = str | None  # the IP a datagram came from; None when fed directly

_LOG = logging.getLogger(__name__)


class Tracker(Protocol):
    """What the collector feeds: a DialogTracker, or a tracker built on one."""

    @property
    def evicted(self) -> int: ...

    def feed(
        self, message: SipMessage, at: float, *, source: str | None, destination: str | None
    ) -> list[CallEvent]: ...

    def forget_before(self, at: float) -> int: ...

    def resume(self, history: list[CallEvent]) -> None: ...

    def __len__(self) -> int: ...

    def __contains__(self, call_id: object) -> bool: ...


@dataclass(slots=True)
class _Bucket:
    tokens: float
    filled_at: float


class NewCallBudget:
    """A token bucket per sender for the new dialogs it may start. The
    table keeps `max_senders`; the one heard least recently is forgotten
    (and starts again with a full bucket)."""

    def __init__(
        self,
        *,
        per_second: float = NEW_CALLS_PER_S,
        burst: int = NEW_CALL_BURST,
        max_senders: int = MAX_SENDERS,
    ) -> None:
        if per_second < 0 or burst < 1 or max_senders < 1:
            raise ValueError(
                f"a new-call budget needs per_second >= 0, burst >= 1 and max_senders >= 1, "
                f"not {per_second}, {burst} and {max_senders}"
            )
        self.per_second, self.burst, self.max_senders = per_second, burst, max_senders
        self._buckets: OrderedDict[Sender, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, sender: Sender, now: float) -> bool:
        """Whether `sender` may start one more dialog at `now`."""
        bucket = self._buckets.get(sender)
        if bucket is None:
            if len(self._buckets) >= self.max_senders:
                self._buckets.popitem(last=False)
            bucket = self._buckets[sender] = _Bucket(self.burst, now)
        else:
            self._buckets.move_to_end(sender)
            # A clock set back adds nothing.
            refill = max(0.0, now - bucket.filled_at) * self.per_second
            bucket.tokens = min(self.burst, bucket.tokens + refill)
            bucket.filled_at = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True


class Collector(asyncio.DatagramProtocol):
    def __init__(
        self,
        on_event: EventSink,
        *,
        auth_key: bytes | None = None,
        clock: Callable[[], float] = time.time,
        tracker: Tracker | None = None,
        budget: NewCallBudget | None = None,
    ) -> None:
        """With `auth_key`, only packets carrying that HEP password count
        (Kamailio's siptrace `hep_auth_key`, heplify's -hp). `clock` is
        this machine's time, in epoch seconds."""
        self.on_event = on_event
        self.auth_key = auth_key
        self.clock = clock
        self.tracker: Tracker = tracker if tracker is not None else DialogTracker()
        self.budget = budget if budget is not None else NewCallBudget()
        self.counts: Counter[str] = Counter()
        self._swept_at: float | None = None
        self._warned: OrderedDict[Sender, float] = OrderedDict()

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        self.feed(data, addr[0] if isinstance(addr[0], str) else None)

    def feed(self, data: bytes, sender: Sender = None) -> None:
        """One datagram from `sender`: its events go to `on_event`; anything
        wrong is counted."""
        self.counts["datagrams"] += 1
        now = self.clock()
        self._sweep(now)
        found = self._read(data)
        if found is None:
            return
        packet, message = found
        at = self._capture_time(packet, sender, now)
        if self._over_budget(message, sender, now):
            self.counts["new calls over the rate limit"] += 1
            return
        events = self.tracker.feed(
            message, at, source=packet.source, destination=packet.destination
        )
        if self.tracker.evicted:
            self.counts["dialogs evicted"] = self.tracker.evicted
        for event in events:
            self.counts["events"] += 1
            self.on_event(event)

    def _read(self, data: bytes) -> tuple[hep.HepPacket, SipMessage] | None:
        """The packet and its SIP message, or None (counted) for what is not."""
        try:
            packet = hep.decode(data)
        except hep.HepError:
            self.counts["not HEP"] += 1
            return None
        if self.auth_key is not None and not hmac.compare_digest(
            packet.auth_key or b"", self.auth_key
        ):
            self.counts["wrong password"] += 1
            return None
        if packet.protocol_type != hep.PROTOCOL_SIP:
            self.counts["not SIP"] += 1
            return None
        try:
            return packet, sip.parse(packet.payload)
        except sip.SipError:
            self.counts["bad SIP"] += 1
            return None

    def _sweep(self, now: float) -> None:
        if self._swept_at is not None and abs(now - self._swept_at) < SWEEP_EVERY_S:
            return
        self._swept_at = now
        # Dialog times are capture times, up to MAX_SKEW_S either side of our
        # clock: sweeping as of that long ago never forgets a dialog early.
        self.tracker.forget_before(now - MAX_SKEW_S)

    def _capture_time(self, packet: hep.HepPacket, sender: Sender, now: float) -> float:
        skew = packet.captured_at - now
        if abs(skew) <= MAX_SKEW_S:
            return packet.captured_at
        self.counts["time out of range"] += 1
        last = self._warned.get(sender)
        if last is None or not 0 <= now - last < WARN_EVERY_S:
            self._remember_warning(sender, now)
            _LOG.warning(
                "HEP from %s (SIP from %s) is stamped %+.0f s from this machine's clock, "
                "beyond %.0f s: counted at its arrival instead; is the PBX's clock kept by NTP?",
                sender or "a direct feed",
                packet.source,
                skew,
                MAX_SKEW_S,
            )
        return now

    def _remember_warning(self, sender: Sender, now: float) -> None:
        self._warned[sender] = now
        self._warned.move_to_end(sender)
        if len(self._warned) > MAX_SENDERS:
            self._warned.popitem(last=False)

    def _over_budget(self, message: SipMessage, sender: Sender, now: float) -> bool:
        """An INVITE that would start a dialog, from a sender out of budget."""
        if message.method != "INVITE" or message.to_tag is not None:
            return False
        if message.call_id in self.tracker:
            return False  # a copy or a retry of a dialog already followed
        return not self.budget.take(sender, now)


async def serve(
    collector: Collector, host: str, port: int, *, ready: Callable[[str, int], None] | None = None
) -> None:
    """Feeds `collector` what arrives on host:port until cancelled; `ready`
    is told the address it bound (port 0 picks a free one)."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: collector, local_addr=(host, port))
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # A chain's PBX sends bursts: the kernel's default buffer (about 200 KB)
        # drops datagrams at 20 calls a second. It caps what it grants.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    if ready is not None:
        bound = transport.get_extra_info("sockname")
        ready(bound[0], bound[1])
    try:
        await asyncio.Event().wait()
    finally:
        transport.close()
