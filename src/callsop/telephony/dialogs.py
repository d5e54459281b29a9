"""From SIP traffic to call events.

INVITE offers a call; 180/183 ring; 200 to the INVITE answers; a re-INVITE
with a sendonly or inactive SDP holds and one back to sendrecv resumes;
REFER transfers; BYE hangs up, on the side whose From tag sent it; CANCEL
gives up before the answer; a final 4xx-6xx to the INVITE fails it.

A proxy's in and out copies and retransmissions repeat a message: the
tracker counts each (sender's tag, CSeq, method or status) of a dialog
once, so the same message seen twice yields its event once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from callsop.telephony.sip import SipMessage

Kind = Literal[
    "offered", "ringing", "answered", "hold", "resume", "transfer", "hangup", "cancelled", "failed"
]
Side = Literal["caller", "callee"]

# Q.850 causes of an ordinary end of call; any other on a BYE is a dropped line.
NORMAL_CAUSES = frozenset({16, 17, 31})
# After its end a dialog is remembered this long, for late retransmissions
# (RFC 3261 Timer F: 64 × T1).
LINGER_S = 32.0


@dataclass(frozen=True, slots=True)
class CallEvent:
    call_id: str
    kind: Kind
    at: float  # epoch seconds the message was captured
    caller: str | None  # the INVITE's From user
    callee: str | None  # the INVITE's To user
    by: Side | None = None  # who hung up, held or transferred
    cause: str | None = None  # hang-up: "network" for a dropped line; failed: the status
    target: str | None = None  # transfer: the Refer-To user


@dataclass(slots=True)
class _Dialog:
    caller_tag: str | None
    caller: str | None
    callee: str | None
    answered: bool = False
    on_hold: bool = False
    ended_at: float | None = None
    seen: set[tuple[str | None, int, str, str]] = field(default_factory=set)


class DialogTracker:
    """Follows every dialog it is shown and says what happened in each."""

    def __init__(self) -> None:
        self._dialogs: dict[str, _Dialog] = {}

    def __len__(self) -> int:
        return len(self._dialogs)

    def feed(self, message: SipMessage, at: float) -> list[CallEvent]:
        number, cseq_method = message.cseq
        what = message.method or str(message.status)
        dialog = self._dialogs.get(message.call_id)
        if dialog is None:
            if message.method != "INVITE" or message.to_tag is not None:
                return []  # OPTIONS keep-alives, REGISTER, a dialog begun before we listened
            dialog = self._dialogs[message.call_id] = _Dialog(
                message.from_tag, message.from_user, message.to_user
            )
        key = (message.from_tag, number, cseq_method, what)  # each side counts its own CSeq
        if key in dialog.seen or dialog.ended_at is not None:
            return []  # a copy, or a late or retried request (a BYE sent again) once it ended
        dialog.seen.add(key)
        happened = _what_happened(dialog, message, cseq_method)
        if happened is None:
            return []
        kind, by, cause, target = happened
        if kind in ("hangup", "cancelled", "failed"):
            dialog.ended_at = at
        return [
            CallEvent(message.call_id, kind, at, dialog.caller, dialog.callee, by, cause, target)
        ]

    def forget_before(self, at: float) -> int:
        """Drops dialogs that ended more than LINGER_S before `at`; how many."""
        old = [
            k
            for k, d in self._dialogs.items()
            if d.ended_at is not None and d.ended_at < at - LINGER_S
        ]
        for key in old:
            del self._dialogs[key]
        return len(old)


Happened = tuple[Kind, Side | None, str | None, str | None]  # kind, by, cause, target


def _what_happened(dialog: _Dialog, message: SipMessage, cseq_method: str) -> Happened | None:
    side: Side = "caller" if message.from_tag == dialog.caller_tag else "callee"
    status = message.status
    if message.method == "INVITE":
        if message.to_tag is None:
            return "offered", None, None, None
        direction = message.sdp_direction
        if direction in ("sendonly", "inactive") and not dialog.on_hold:
            dialog.on_hold = True
            return "hold", side, None, None
        if direction in ("sendrecv", "recvonly") and dialog.on_hold:
            dialog.on_hold = False
            return "resume", side, None, None
        return None
    if message.method == "BYE":
        cause = message.q850_cause
        dropped = cause is not None and cause not in NORMAL_CAUSES
        return "hangup", side, "network" if dropped else None, None
    if message.method == "CANCEL":
        return "cancelled", "caller", None, None
    if message.method == "REFER":
        return "transfer", side, None, message.refer_to_user
    if status is None or cseq_method != "INVITE" or dialog.answered:
        return None
    if status in (180, 183):
        return "ringing", None, None, None
    if 200 <= status < 300:
        dialog.answered = True
        return "answered", None, None, None
    if status >= 400 and status != 487:  # 487 answers a CANCEL already told
        return "failed", None, str(status), None
    return None
