"""The HEP collector: a UDP service that hears the PBX's mirrored SIP
traffic and reports each call event the moment its message arrives.

It never stops for bad input: garbage datagrams, truncated HEP, payloads
that are not SIP and unknown methods are counted and dropped.
"""

from __future__ import annotations

import asyncio
import hmac
from collections import Counter
from collections.abc import Callable

from callsop.telephony import hep, sip
from callsop.telephony.dialogs import CallEvent, DialogTracker

SWEEP_EVERY_S = 10.0  # capture-time seconds between sweeps of finished dialogs

EventSink = Callable[[CallEvent], None]


class Collector(asyncio.DatagramProtocol):
    def __init__(self, on_event: EventSink, *, auth_key: bytes | None = None) -> None:
        """With `auth_key`, only packets carrying that HEP password count
        (Kamailio's siptrace `hep_auth_key`, heplify's -hp)."""
        self.on_event = on_event
        self.auth_key = auth_key
        self.tracker = DialogTracker()
        self.counts: Counter[str] = Counter()
        self._swept_at = 0.0

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        self.feed(data)

    def feed(self, data: bytes) -> None:
        """One datagram: its events go to `on_event`; anything wrong is counted."""
        self.counts["datagrams"] += 1
        try:
            packet = hep.decode(data)
        except hep.HepError:
            self.counts["not HEP"] += 1
            return
        if self.auth_key is not None and not hmac.compare_digest(
            packet.auth_key or b"", self.auth_key
        ):
            self.counts["wrong password"] += 1
            return
        if packet.protocol_type != hep.PROTOCOL_SIP:
            self.counts["not SIP"] += 1
            return
        try:
            message = sip.parse(packet.payload)
        except sip.SipError:
            self.counts["bad SIP"] += 1
            return
        if packet.captured_at - self._swept_at > SWEEP_EVERY_S:
            self._swept_at = packet.captured_at
            self.tracker.forget_before(packet.captured_at)
        events = self.tracker.feed(
            message, packet.captured_at, source=packet.source, destination=packet.destination
        )
        for event in events:
            self.counts["events"] += 1
            self.on_event(event)


async def serve(
    collector: Collector, host: str, port: int, *, ready: Callable[[str, int], None] | None = None
) -> None:
    """Feeds `collector` what arrives on host:port until cancelled; `ready`
    is told the address it bound (port 0 picks a free one)."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: collector, local_addr=(host, port))
    if ready is not None:
        bound = transport.get_extra_info("sockname")
        ready(bound[0], bound[1])
    try:
        await asyncio.Event().wait()
    finally:
        transport.close()
