"""Outgoing calls through the club's own SIP user agent (pjsua2).

`Dialer.place` dials a number through the PBX, gives up once it has rung
for the dial plan's time (10 rings), or talks for a while and hangs up, and
says how the attempt ended; `next_dial` then says whether to retry or
redial. Call objects are released before the endpoint goes (pjsua2 aborts
the process otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import pjsua2 as pj

from callsop.telephony import sip
from callsop.telephony.dialogs import NORMAL_CAUSES
from callsop.telephony.dialplan import Attempt, Outcome


class _Call(pj.Call):  # type: ignore[misc]
    def __init__(self, account: Any) -> None:
        super().__init__(account)
        self.ringing_at: float | None = None
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.status = 0
        self.dropped = False  # the far end's BYE gave an abnormal Q.850 cause

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        now = time.time()
        if info.state == pj.PJSIP_INV_STATE_EARLY and self.ringing_at is None:
            self.ringing_at = now
        elif info.state == pj.PJSIP_INV_STATE_CONFIRMED and self.answered_at is None:
            self.answered_at = now
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.ended_at = now
            self.status = info.lastStatusCode

    def onCallTsxState(self, prm: Any) -> None:
        event = prm.e
        if event.type != pj.PJSIP_EVENT_TSX_STATE:
            return
        state = event.body.tsxState
        if state.tsx.method != "BYE" or state.type != pj.PJSIP_EVENT_RX_MSG:
            return
        try:
            cause = sip.parse(state.src.rdata.wholeMsg.encode()).q850_cause
        except (sip.SipError, ValueError):
            return
        self.dropped = cause is not None and cause not in NORMAL_CAUSES


class Dialer:
    """One SIP identity (the desk's extension) dialling through `proxy`."""

    def __init__(self, *, proxy: str, extension: str, bind: str = "127.0.0.1") -> None:
        self.proxy = proxy
        self.endpoint = pj.Endpoint()
        self.endpoint.libCreate()
        config = pj.EpConfig()
        config.uaConfig.threadCnt = 0  # callbacks run in place(), on this thread
        config.uaConfig.mainThreadOnly = True
        config.logConfig.level = 0
        config.logConfig.consoleLevel = 0
        self.endpoint.libInit(config)
        transport = pj.TransportConfig()
        transport.boundAddress = bind
        transport.port = 0
        self.endpoint.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
        self.endpoint.audDevManager().setNullDev()  # a dialer needs no sound card
        self.endpoint.libStart()
        account = pj.AccountConfig()
        account.idUri = f"sip:{extension}@{bind}"
        self.account = pj.Account()
        self.account.create(account)

    def place(
        self,
        number: str,
        *,
        ring_for_s: float,
        talk_for_s: float = 0.5,
        timeout_s: float = 60.0,
        tries: int = 1,
        on_answered: Callable[[float], None] | None = None,
        keep_talking: Callable[[], bool] | None = None,
        on_ringing: Callable[[float], None] | None = None,
    ) -> Attempt:
        """With `keep_talking`, an answered call stays up until it says no
        (asked a few times a second; the desk's call ended, say) and
        `timeout_s` counts only until the answer; `on_ringing` and
        `on_answered` hear when the far end started ringing and picked up."""
        call = _Call(self.account)
        started = time.time()
        call.makeCall(f"sip:{number}@{self.proxy}", pj.CallOpParam(True))
        gave_up = hung_up = False
        try:
            told = rang = False
            asked_at = 0.0
            while call.ended_at is None:
                self.endpoint.libHandleEvents(10)
                now = time.time()
                if call.ringing_at is not None and not rang:
                    rang = True
                    if on_ringing is not None:
                        on_ringing(call.ringing_at)
                if call.answered_at is not None and not told:
                    told = True
                    if on_answered is not None:
                        on_answered(call.answered_at)
                if now - started > timeout_s and (keep_talking is None or call.answered_at is None):
                    raise TimeoutError(f"the call to {number} did not end in {timeout_s:g} s")
                if keep_talking is not None and call.answered_at is not None:
                    if not hung_up and now - asked_at > 0.2:
                        asked_at = now
                        if not keep_talking():
                            hung_up = True
                            call.hangup(pj.CallOpParam(True))
                    continue
                ringing = call.answered_at is None and call.ringing_at is not None
                if ringing and not gave_up and now - call.ringing_at >= ring_for_s:  # type: ignore[operator]
                    gave_up = True
                    call.hangup(pj.CallOpParam(True))
                if (
                    call.answered_at is not None
                    and not hung_up
                    and now - call.answered_at >= talk_for_s
                ):
                    hung_up = True
                    call.hangup(pj.CallOpParam(True))
            outcome = _outcome(call, gave_up)
            status = call.status if outcome in ("busy", "failed") else None
            return Attempt(number, started, call.ended_at, outcome, tries=tries, status=status)
        finally:
            del call

    def close(self) -> None:
        self.account.shutdown()
        del self.account
        self.endpoint.libDestroy()

    def __enter__(self) -> Dialer:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def _outcome(call: _Call, gave_up: bool) -> Outcome:
    if call.answered_at is not None:
        return "dropped" if call.dropped else "answered"
    if gave_up:
        return "no-answer"
    return "busy" if call.status in (486, 600) else "failed"
