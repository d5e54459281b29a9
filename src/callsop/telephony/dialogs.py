"""From SIP traffic to call events.

INVITE offers a call; 180/183 ring; 2xx to the INVITE answers; a re-INVITE
accepted with 2xx holds (its SDP sendonly or inactive) or resumes (back to
sendrecv), each side's hold counted on its own; REFER transfers; BYE hangs
up, on the side whose From tag sent it (a Q.850 cause other than a normal
clearing means the line dropped); a CANCEL settled by 487 gives up before
the answer; a final 4xx-6xx to the INVITE fails it. Challenges (401, 407),
redirects (3xx) and glare (491) are not an end: the caller tries again.

A proxy's in and out copies and retransmissions repeat a message: the
tracker counts each (sender's tag, CSeq, method or status) of a dialog
once. A re-INVITE older than one already seen from the same side changes
nothing, and a dialog reports nothing after its end.

The tracker holds at most `max_dialogs` dialogs, so no stream of INVITEs
can grow it without bound: when full, a new dialog pushes out the least
recently seen ended one (kept only for late copies), else the least
recently seen call never answered, else the least recently seen answered
call. Each message files its dialog at the end of its standing's queue, so
finding the one to push out costs O(1).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

from callsop.telephony.sip import SipMessage

Kind = Literal[
    "offered", "ringing", "answered", "hold", "resume", "transfer", "hangup", "cancelled", "failed"
]
Side = Literal["caller", "callee"]

# Q.850 causes of an ordinary end of call; any other on a BYE is a dropped line.
NORMAL_CAUSES = frozenset({16, 17, 31})
# Final responses after which the caller tries again in the same call.
NOT_AN_END = frozenset({401, 407, 491})
LINGER_S = 32.0  # an ended dialog is kept this long for late copies (Timer F)
UNANSWERED_IDLE_S = 180.0  # Timer C: a call never answered and silent this long is gone
ANSWERED_IDLE_S = 4 * 3600.0  # an answered call silent this long lost its BYE
# A chain's busiest moment, with room: 50 new calls a second through a
# back-to-back PBX (two dialogs each), three minutes' talk and a minute and
# a half's linger after the end (the collector's sweep) keep some 27,000.
MAX_DIALOGS = 50_000
ENDED, UNANSWERED, ANSWERED = 0, 1, 2  # standings, in the order they are pushed out
_TRACKED = frozenset({"INVITE", "BYE", "CANCEL", "REFER"})


@dataclass(frozen=True, slots=True)
class CallEvent:
    call_id: str
    kind: Kind
    at: float  # epoch seconds the message was captured
    caller: str | None  # the INVITE's From user
    callee: str | None  # the INVITE's To user
    by: Side | None = None  # who hung up, held or transferred
    cause: str | None = None  # hang-up: "network" for a dropped line; failed: the status
    target: str | None = (
        None  # transfer: the Refer-To user; answered: the phone that answered, when not the callee
    )


@dataclass(slots=True)
class _Dialog:
    caller_tag: str | None
    caller: str | None
    callee: str | None
    caller_address: str | None  # where the caller's INVITE came from, when known
    last_seen: float
    ringing: bool = False
    answered: bool = False
    cancel_at: float | None = None
    ended_at: float | None = None
    holding: set[Side] = field(default_factory=set)
    newest: dict[str | None, int] = field(default_factory=dict)  # re-INVITE CSeq by sender tag
    # Re-INVITEs not yet accepted: (sender's tag, CSeq) -> (side, SDP direction, when sent)
    pending: dict[tuple[str | None, int], tuple[Side, str | None, float]] = field(
        default_factory=dict
    )
    seen: set[tuple[str | None, int, str, str]] = field(default_factory=set)
    filed: int = -1  # the standing whose queue holds it; -1 before it is filed

    @property
    def standing(self) -> int:
        if self.ended_at is not None:
            return ENDED
        return ANSWERED if self.answered else UNANSWERED


class DialogTracker:
    """Follows every dialog it is shown and says what happened in each;
    `evicted` counts the dialogs pushed out to make room."""

    def __init__(self, *, max_dialogs: int = MAX_DIALOGS) -> None:
        if max_dialogs < 1:
            raise ValueError(f"max_dialogs must be at least 1, not {max_dialogs}")
        self.max_dialogs = max_dialogs
        self.evicted = 0
        self._dialogs: dict[str, _Dialog] = {}
        # Call-IDs by standing, least recently seen first.
        self._queues: tuple[OrderedDict[str, None], ...] = tuple(
            OrderedDict() for _ in (ENDED, UNANSWERED, ANSWERED)
        )

    def __len__(self) -> int:
        return len(self._dialogs)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._dialogs

    def feed(
        self,
        message: SipMessage,
        at: float,
        *,
        source: str | None = None,
        destination: str | None = None,
    ) -> list[CallEvent]:
        """The events `message` causes. With the addresses of the capture
        (`source`, `destination`), a forked branch's failure counts only
        once the proxy passes it on to the caller."""
        number, cseq_method = message.cseq
        if cseq_method not in _TRACKED:
            return []  # OPTIONS, INFO, NOTIFY, REGISTER, ACK: nothing to tell
        dialog = self._dialogs.get(message.call_id)
        if dialog is None:
            if message.method != "INVITE" or message.to_tag is not None:
                return []  # a dialog begun before we listened
            dialog = _Dialog(message.from_tag, message.from_user, message.to_user, source, at)
            self._admit(message.call_id, dialog)
            return [self._event(message, dialog, "offered", at)]
        dialog.last_seen = at
        events = self._follow(message, dialog, number, cseq_method, at, destination)
        self._file(message.call_id, dialog)
        return events

    def _follow(
        self,
        message: SipMessage,
        dialog: _Dialog,
        number: int,
        cseq_method: str,
        at: float,
        destination: str | None,
    ) -> list[CallEvent]:
        if dialog.caller_tag is None and message.from_tag is not None:
            # A dialog resumed from stored events: the caller's tag is learnt
            # from the first message, whose From is the caller or the callee.
            mine = message.from_user == dialog.caller
            dialog.caller_tag = message.from_tag if mine else message.to_tag
        key = (message.from_tag, number, cseq_method, message.method or str(message.status))
        if key in dialog.seen or dialog.ended_at is not None:
            return []  # a copy, or a late or retried request (a BYE sent again) once it ended
        dialog.seen.add(key)
        side: Side = "caller" if message.from_tag == dialog.caller_tag else "callee"
        if message.method is not None:
            return self._request(message, dialog, side, number, at)
        toward_caller = (
            None
            if destination is None or dialog.caller_address is None
            else (destination == dialog.caller_address)
        )
        return self._response(message, dialog, number, cseq_method, at, toward_caller)

    def resume(self, history: list[CallEvent]) -> None:
        """Takes up a dialog from the events it already gave (stored before a
        restart), so its hold, transfer and hang-up are still recognised and
        what was said before is not said again."""
        if not history:
            return
        first = history[0]
        dialog = _Dialog(None, first.caller, first.callee, None, history[-1].at)
        for event in history:
            if event.kind == "ringing":
                dialog.ringing = True
            elif event.kind == "answered":
                dialog.answered = dialog.ringing = True
            elif event.kind == "hold" and event.by is not None:
                dialog.holding.add(event.by)
            elif event.kind == "resume" and event.by is not None:
                dialog.holding.discard(event.by)
            elif event.kind in ("hangup", "cancelled", "failed"):
                return  # over: nothing to take up
        if first.call_id in self._dialogs:
            self._drop(first.call_id)
        self._admit(first.call_id, dialog)

    def _admit(self, call_id: str, dialog: _Dialog) -> None:
        """Files a new dialog, pushing out the idlest one when full."""
        while len(self._dialogs) >= self.max_dialogs:
            queue = next(q for q in self._queues if q)
            evicted, _ = queue.popitem(last=False)
            del self._dialogs[evicted]
            self.evicted += 1
        self._dialogs[call_id] = dialog
        self._file(call_id, dialog)

    def _file(self, call_id: str, dialog: _Dialog) -> None:
        """Puts a dialog just heard at the end of its standing's queue."""
        standing = dialog.standing
        if standing == dialog.filed:
            self._queues[standing].move_to_end(call_id)
            return
        if dialog.filed >= 0:
            del self._queues[dialog.filed][call_id]
        self._queues[standing][call_id] = None
        dialog.filed = standing

    def _drop(self, call_id: str) -> None:
        dialog = self._dialogs.pop(call_id)
        del self._queues[dialog.filed][call_id]

    def _event(
        self, message: SipMessage, dialog: _Dialog, kind: Kind, at: float, **extra: str | None
    ) -> CallEvent:
        if kind in ("hangup", "cancelled", "failed"):
            dialog.ended_at = at
        return CallEvent(message.call_id, kind, at, dialog.caller, dialog.callee, **extra)  # type: ignore[arg-type]

    def _request(
        self, message: SipMessage, dialog: _Dialog, side: Side, number: int, at: float
    ) -> list[CallEvent]:
        if message.method == "INVITE":
            if message.to_tag is not None:  # a re-INVITE: judged when it is accepted
                if number <= dialog.newest.get(message.from_tag, -1):
                    return []  # older than one already seen from this side
                dialog.newest[message.from_tag] = number
                dialog.pending[(message.from_tag, number)] = (side, message.sdp_direction, at)
            return []  # an INVITE sent again after a challenge is the same offer
        if message.method == "BYE":
            cause = message.q850_cause
            dropped = cause is not None and cause not in NORMAL_CAUSES
            return [
                self._event(
                    message, dialog, "hangup", at, by=side, cause="network" if dropped else None
                )
            ]
        if message.method == "CANCEL" and not dialog.answered:
            dialog.cancel_at = at  # settled by the INVITE's final response
        if message.method == "REFER":
            return [
                self._event(message, dialog, "transfer", at, by=side, target=message.refer_to_user)
            ]
        return []

    def _response(
        self,
        message: SipMessage,
        dialog: _Dialog,
        number: int,
        cseq_method: str,
        at: float,
        toward_caller: bool | None,
    ) -> list[CallEvent]:
        status = message.status or 0
        if cseq_method != "INVITE":
            return []
        held = dialog.pending.pop((message.from_tag, number), None) if status >= 200 else None
        if held is None and (message.from_tag, number) in dialog.pending:
            return []  # a provisional answer to a re-INVITE
        if held is not None:
            return self._hold(message, dialog, held) if 200 <= status < 300 else []
        if dialog.answered:
            return []  # 200 retransmissions, or a forked branch answering too late
        if status in (180, 183) and not dialog.ringing:
            dialog.ringing = True
            return [self._event(message, dialog, "ringing", at)]
        if 200 <= status < 300:
            dialog.answered = True
            dialog.cancel_at = None  # the answer crossed the CANCEL: the call goes on
            answered_at = message.contact_user
            if answered_at == dialog.callee:
                answered_at = None  # says no more than the callee already does
            return [self._event(message, dialog, "answered", at, target=answered_at)]
        if status == 487 and dialog.cancel_at is not None:
            return [self._event(message, dialog, "cancelled", dialog.cancel_at, by="caller")]
        if status >= 400 and status not in NOT_AN_END and toward_caller is not False:
            return [self._event(message, dialog, "failed", at, cause=str(status))]
        return []  # 1xx, 3xx, a challenge, or a forked branch's failure kept from the caller

    def _hold(
        self, message: SipMessage, dialog: _Dialog, held: tuple[Side, str | None, float]
    ) -> list[CallEvent]:
        """A re-INVITE accepted: its time is when the clerk pressed hold."""
        side, direction, at = held
        if direction in ("sendonly", "inactive") and side not in dialog.holding:
            dialog.holding.add(side)
            if len(dialog.holding) == 1:
                return [self._event(message, dialog, "hold", at, by=side)]
        elif direction == "sendrecv" and side in dialog.holding:
            dialog.holding.discard(side)
            if not dialog.holding:
                return [self._event(message, dialog, "resume", at, by=side)]
        return []  # a refresh, the held side's own re-INVITE, or a delayed offer

    def forget_before(self, at: float) -> int:
        """Drops dialogs that ended more than LINGER_S before `at`, calls
        never answered and silent since Timer C, and answered calls silent
        for hours (their BYE was lost); how many."""
        old = [
            key
            for key, d in self._dialogs.items()
            if (d.ended_at is not None and d.ended_at < at - LINGER_S)
            or (not d.answered and d.last_seen < at - UNANSWERED_IDLE_S)
            or d.last_seen < at - ANSWERED_IDLE_S
        ]
        for key in old:
            self._drop(key)
        return len(old)
