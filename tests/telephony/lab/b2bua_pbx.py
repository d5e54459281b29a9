"""The club's back-to-back PBX in the SIP lab: Sippy's `b2bua` with every
option it is given, and one difference, how it takes a desk's REFER.

Sippy on its own passes a REFER on to the caller, who dials the target
afresh (what a session border controller does). A club's PBX (Asterisk,
FreeSWITCH, 3CX) does a blind transfer itself: it answers the REFER, rings
the target from its own address with the caller's number in From, puts the
caller through to whoever answers (a re-INVITE with the new party's SDP)
and keeps the caller's leg, so the caller never sees a new call. This
controller does the same; its transferer's leg is ended by the PBX's BYE.

Run as `python b2bua_pbx.py <b2bua options>`, the same options as Sippy's
`b2bua` (a static route is needed: `-s host:port`).
"""

from __future__ import annotations

from typing import Any

from sippy import b2bua
from sippy.B2B.States import CCStateConnected
from sippy.CCEvents import CCEventConnect, CCEventDisconnect, CCEventRing, CCEventUpdate

LEG_OF_TRANSFER = 2  # the route number Sippy puts in the new leg's Call-ID (-b2b_2)


class TransferringCallController(b2bua.CallController):
    transferring = False

    def recvEvent(self, event: Any, ua: Any) -> None:
        if ua is not self.uaA and ua is not self.uaO:
            return  # the transferer's leg, ended: nothing of it reaches the caller
        if ua is self.uaO and self._is_refer(event):
            self._transfer(event.getData())
            return
        if self.transferring and self._settles_transfer(event, ua):
            return
        super().recvEvent(event, ua)

    def _is_refer(self, event: Any) -> bool:
        """Sippy's UA reports a REFER it accepted as a disconnect carrying
        the Refer-To address."""
        return (
            isinstance(event, CCEventDisconnect)
            and event.getData() is not None
            and self.state is CCStateConnected
        )

    def _transfer(self, refer_to: Any) -> None:
        target = refer_to.getUrl().username
        route = self.global_config["_static_routes"][""].getCopy()
        route.customize(LEG_OF_TRANSFER, target, self.cli, None, self.pass_headers, None)
        self.transferring = True
        self.placeOriginate(route)  # the new leg becomes self.uaO

    def _settles_transfer(self, event: Any, ua: Any) -> bool:
        """The target ringing, then answering (its SDP goes to the caller in
        a re-INVITE), and the caller's answer to that re-INVITE stay
        between the PBX and the phones; anything else (a failure, a hang-up)
        goes on as in any call."""
        if ua is self.uaO and isinstance(event, CCEventRing):
            return True
        if ua is self.uaO and isinstance(event, CCEventConnect):
            _code, _reason, body = event.getData()
            self.uaA.recvEvent(CCEventUpdate(body, rtime=event.rtime, origin=event.origin))
            return True
        if ua is self.uaA and isinstance(event, CCEventConnect):
            self.transferring = False
            return True
        return False


if __name__ == "__main__":
    b2bua.CallController = TransferringCallController
    b2bua.main_func()
