"""Outgoing calls through Asterisk's Manager Interface (AMI `Originate`).

`AmiDialer.place` has the same contract as the SIP user agent's
`Dialer.place`, but the PBX places the call: the clerk's own desk phone
(`PJSIP/<extension>`) rings first; once the clerk picks it up, Asterisk runs
the dialplan (context, the customer's number, priority 1), which dials the
customer. The ten-ring give-up counts from the customer's first ring, and is
an AMI `Hangup` of the originated channel; so is the end of the call when
the clerk ends it on the desk.

Each call has its own AMI session: log in, `Originate` with `Async` and a
`ChannelId` of ours, so that every event of the call is known by its
Linkedid (the originated channel's Uniqueid) from the first, follow those
events, log off. `OriginatedCall` is the pure part: AMI messages in, what
happened to the call out. A lost session is not followed blindly: the call
is hung up through a new session when that can be done, and the error says
what was known of the call.
"""

from __future__ import annotations

import select
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from callsop.telephony.dialplan import Attempt, Outcome

DESK_RING_S = 30.0  # how long the clerk's own phone rings before the Originate fails
HANGUP_WAIT_S = 5.0  # how long a hang-up may take to come back as events
LINGER_S = 1.0  # after the desk channel's Hangup, how long the customer's may take
CONNECT_TIMEOUT_S = 5.0
ASK_EVERY_S = 0.2  # how often an answered call asks whether to go on
# Q.850 causes of a line the network lost (44: Asterisk's RTP timeout), not one a person ended.
DROP_CAUSES = frozenset({27, 38, 41, 42, 44, 47, 102})
# Q.850 cause to the SIP status it is sent as (RFC 3398 §8.2.6.1), for `Attempt.status`.
SIP_STATUS = {1: 404, 3: 404, 17: 486, 18: 408, 19: 480, 21: 403, 22: 410, 28: 484, 34: 503}


class AmiError(Exception):
    """Asterisk refused, or the session was lost. `attempt` is the call as far
    as it was known when it could not be followed further, if it was placed."""

    def __init__(self, message: str, attempt: Attempt | None = None) -> None:
        super().__init__(message)
        self.attempt = attempt


class _Lost(Exception):
    pass


class _Link:
    """One AMI session over TCP: actions out, messages (header to value) in."""

    def __init__(self, host: str, port: int) -> None:
        self.address = f"{host}:{port}"
        try:
            self.sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        except OSError as exc:
            raise AmiError(f"cannot reach AMI at {self.address}: {exc.strerror or exc}") from None
        self.buffer = b""
        banner = self._line(time.monotonic() + CONNECT_TIMEOUT_S)
        if not banner.startswith("Asterisk Call Manager/"):
            self.close()
            said = f"it said {banner!r}" if banner else "it sent no banner"
            raise AmiError(f"{self.address} is not an Asterisk Manager Interface: {said}")

    def _fill(self, until: float) -> bool:
        """More bytes before the monotonic time `until`; False when none came."""
        wait = max(0.0, until - time.monotonic())
        try:
            ready, _, _ = select.select([self.sock], [], [], wait)
            if not ready:
                return False
            chunk = self.sock.recv(65536)
        except OSError as exc:
            raise _Lost(str(exc.strerror or exc)) from None
        if not chunk:
            raise _Lost("Asterisk closed the connection")
        self.buffer += chunk
        return True

    def _line(self, until: float) -> str:
        while b"\r\n" not in self.buffer:
            try:
                if not self._fill(until):
                    return ""
            except _Lost:
                return ""
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def send(self, action: str, **fields: str) -> None:
        lines = [f"Action: {action}", *(f"{k}: {v}" for k, v in fields.items())]
        try:
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        except OSError as exc:
            raise _Lost(str(exc.strerror or exc)) from None

    def next(self, until: float) -> dict[str, str] | None:
        """The next message, or None when none is whole by `until` (monotonic)."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill(until):
                return None
        block, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        message: dict[str, str] = {}
        for line in block.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(": ")
            if sep and name not in message:
                message[name] = value
        return message

    def reply(
        self, action_id: str, until: float, seen: Callable[[dict[str, str]], None]
    ) -> dict[str, str]:
        """The response to the action `action_id`; events on the way go to `seen`."""
        while (message := self.next(until)) is not None:
            if message.get("ActionID") == action_id and "Event" not in message:
                return message
            seen(message)
        raise _Lost(f"no answer from Asterisk in {CONNECT_TIMEOUT_S:g} s")

    def close(self) -> None:
        self.sock.close()


def _login(link: _Link, username: str, secret: str) -> None:
    until = time.monotonic() + CONNECT_TIMEOUT_S
    try:
        link.send(
            "Login", ActionID="callsop-login", Username=username, Secret=secret, Events="call"
        )
        reply = link.reply("callsop-login", until, lambda _: None)
    except _Lost as exc:
        link.close()
        raise AmiError(f"AMI log-in at {link.address} got no answer: {exc}") from None
    if reply.get("Response") != "Success":
        link.close()
        why = reply.get("Message") or reply.get("Response", "")
        raise AmiError(f"Asterisk at {link.address} refused the AMI log-in as {username!r}: {why}")


def _cause(message: Mapping[str, str]) -> int | None:
    try:
        return int(message.get("Cause", ""))
    except ValueError:
        return None


@dataclass
class OriginatedCall:
    """What the AMI events of one originated call say: `channel_id` is the
    Uniqueid we gave the desk phone's channel, and the Linkedid of every
    channel of the call. Times are the events' own (Asterisk's `Timestamp`)."""

    channel_id: str
    action_id: str
    desk_channel: str | None = None  # its name, once Asterisk has made it
    given_up: bool = False  # we hung up while the customer's phone rang
    customer_channels: set[str] = field(default_factory=set)
    dialled_at: float | None = None
    ringing_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None  # the desk channel's Hangup
    desk_failed: int | None = None  # OriginateResponse Failure's Reason
    dial_status: str | None = None
    customer_cause: int | None = None
    dropped: bool = False
    hung_up: set[str] = field(default_factory=set)

    def feed(self, message: Mapping[str, str], received_at: float) -> None:
        try:
            at = float(message.get("Timestamp", ""))
        except ValueError:
            at = received_at
        event = message.get("Event", "")
        if event == "OriginateResponse":
            if message.get("ActionID") == self.action_id and message.get("Response") != "Success":
                reason = message.get("Reason", "")
                self.desk_failed = int(reason) if reason.isdigit() else 0
                self.ended_at = at
            return
        if self.channel_id not in (message.get("Linkedid"), message.get("DestLinkedid")):
            return
        handler = _FEEDS.get(event)
        if handler is not None:
            handler(self, message, at)

    def _from_desk(self, message: Mapping[str, str]) -> bool:
        """A Dial* event of the desk channel dialling someone (not Originate's own dial)."""
        return message.get("Uniqueid") == self.channel_id and (
            message.get("DestUniqueid") != self.channel_id
        )

    def _newchannel(self, message: Mapping[str, str], at: float) -> None:
        if message.get("Uniqueid") == self.channel_id:
            self.desk_channel = message.get("Channel") or None
        else:
            self.customer_channels.add(message.get("Channel", ""))

    def _dial_begin(self, message: Mapping[str, str], at: float) -> None:
        if self._from_desk(message):
            self.customer_channels.add(message.get("DestChannel", ""))
            if self.dialled_at is None:
                self.dialled_at = at

    def _ringing(self, message: Mapping[str, str], at: float) -> None:
        customer = message.get("Channel") in self.customer_channels
        if message.get("Event") == "Newstate":
            ringing = customer and message.get("ChannelStateDesc") == "Ringing"
        else:
            ringing = self._from_desk(message) and message.get("DialStatus") == "RINGING"
        if ringing and self.ringing_at is None and self.answered_at is None:
            self.ringing_at = at

    def _dial_end(self, message: Mapping[str, str], at: float) -> None:
        if not self._from_desk(message):
            return
        status = message.get("DialStatus", "")
        if status == "ANSWER" and self.answered_at is None:
            self.answered_at = at
        elif self.answered_at is None:
            self.dial_status = status

    def _hangup(self, message: Mapping[str, str], at: float) -> None:
        cause = _cause(message)
        channel = message.get("Channel", "")
        if self.answered_at is not None and cause in DROP_CAUSES:
            self.dropped = True
        if message.get("Event") != "Hangup":
            return  # a request: the cause is noted, the channel is still there
        self.hung_up.add(channel)
        if message.get("Uniqueid") == self.channel_id:
            self.ended_at = at
        elif cause is not None:
            self.customer_cause = cause

    @property
    def over(self) -> bool:
        """The desk channel is gone, with every customer channel seen before it."""
        if self.desk_failed is not None:
            return True
        return self.ended_at is not None and self.customer_channels <= self.hung_up

    @property
    def stage(self) -> str:
        if self.answered_at is not None:
            return "the customer had answered"
        if self.dialled_at is not None:
            return "the customer's phone was ringing"
        return "the desk phone was ringing"

    def attempt(self, number: str, started_at: float, *, tries: int, ended_at: float) -> Attempt:
        """How it went; `ended_at` stands for the end Asterisk did not report."""
        ended = self.ended_at if self.ended_at is not None else ended_at
        outcome = self.outcome()
        status = None
        if outcome in ("busy", "failed") and self.customer_cause is not None:
            status = SIP_STATUS.get(self.customer_cause)
        if outcome == "busy":
            status = status or 486
        dialled = self.dialled_at is not None and self.desk_failed is None
        return Attempt(
            number, started_at, ended, outcome, tries=tries, status=status, dialled=dialled
        )

    def outcome(self) -> Outcome:
        if self.answered_at is not None:
            return "dropped" if self.dropped else "answered"
        if self.dialled_at is None or self.desk_failed is not None:
            return "failed"
        if self.given_up or self.dial_status == "NOANSWER":
            return "no-answer"
        if self.dial_status == "BUSY" or self.customer_cause == 17:
            return "busy"
        return "failed"


_FEEDS: dict[str, Callable[[OriginatedCall, Mapping[str, str], float], None]] = {
    "Newchannel": OriginatedCall._newchannel,
    "DialBegin": OriginatedCall._dial_begin,
    "Newstate": OriginatedCall._ringing,
    "DialState": OriginatedCall._ringing,
    "DialEnd": OriginatedCall._dial_end,
    "HangupRequest": OriginatedCall._hangup,  # SoftHangupRequest's Cause is no Q.850 cause
    "Hangup": OriginatedCall._hangup,
}


@dataclass
class _Talk:
    """The dialer's side of one call: what `place` was asked, when it saw
    what (monotonic seconds), and when it hung up."""

    ring_for_s: float
    talk_for_s: float
    timeout_s: float
    on_answered: Callable[[float], None] | None
    keep_talking: Callable[[], bool] | None
    on_ringing: Callable[[float], None] | None = None
    began: float = field(default_factory=time.monotonic)
    ringing_seen: float | None = None
    answered_seen: float | None = None
    asked_at: float = 0.0
    hangup_sent: float | None = None
    ended_seen: float | None = None

    def wake(self) -> float:
        """When to look again, events or not: the give-up or the next question."""
        wake = time.monotonic() + ASK_EVERY_S
        if self.ringing_seen is not None and self.hangup_sent is None:
            wake = min(wake, self.ringing_seen + self.ring_for_s)
        return wake

    def note(self, call: OriginatedCall, now: float) -> None:
        if call.ended_at is not None and self.ended_seen is None:
            self.ended_seen = now
        if call.ringing_at is not None and self.ringing_seen is None:
            self.ringing_seen = now
            if self.on_ringing is not None:
                self.on_ringing(call.ringing_at)
        if call.answered_at is not None and self.answered_seen is None:
            self.answered_seen = now
            if self.on_answered is not None:
                self.on_answered(call.answered_at)

    def should_end(self, call: OriginatedCall, now: float) -> bool:
        if self.answered_seen is not None:
            if self.keep_talking is None:
                return now - self.answered_seen >= self.talk_for_s
            if now - self.asked_at < ASK_EVERY_S:
                return False
            self.asked_at = now
            return not self.keep_talking()
        if self.ringing_seen is not None and now - self.ringing_seen >= self.ring_for_s:
            call.given_up = True  # the policy's ten rings
            return True
        if now - self.began > self.timeout_s:
            call.given_up = self.ringing_seen is not None
            return True
        return False


class AmiDialer:
    """Places the desk's calls from the clerk's phone `PJSIP/<extension>`
    through the dialplan's `context`, as the AMI user `username`. Logs in
    once at the start, so that a wrong address or log-in shows at once."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        extension: str,
        context: str = "from-desk",
        caller_id: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.extension = extension
        self.context = context
        self.caller_id = caller_id or f"<{extension}>"
        self._leave(self._open())

    def _open(self) -> _Link:
        link = _Link(self.host, self.port)
        _login(link, self.username, self.secret)
        return link

    def _leave(self, link: _Link) -> None:
        try:
            link.send("Logoff", ActionID="callsop-logoff")
            link.reply("callsop-logoff", time.monotonic() + 1.0, lambda _: None)
        except _Lost:
            pass  # it is going anyway
        finally:
            link.close()

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
        """As `Dialer.place`; `timeout_s` counts the desk phone's ringing too,
        and `on_ringing` hears when the customer's phone starts ringing.
        Raises AmiError when Asterisk refuses the log-in or the Originate, or
        the session is lost (with the attempt as far as it went)."""
        link = self._open()
        call = OriginatedCall(f"callsop-{uuid.uuid4().hex}", f"callsop-{uuid.uuid4().hex[:12]}")
        started = time.time()
        talk = _Talk(ring_for_s, talk_for_s, timeout_s, on_answered, keep_talking, on_ringing)
        try:
            self._originate(link, call, number)
            self._follow(link, call, talk)
        except _Lost as exc:
            call.dropped = call.answered_at is not None  # for the customer, the line went dead
            attempt = call.attempt(number, started, tries=tries, ended_at=time.time())
            hung_up = self._hang_up_anew(call)
            what = "hung the call up" if hung_up else "could not hang the call up"
            raise AmiError(
                f"lost the AMI session at {link.address} while {call.stage} "
                f"(call to {number}): {exc}; {what}",
                attempt,
            ) from None
        finally:
            self._leave(link)
        return call.attempt(number, started, tries=tries, ended_at=time.time())

    def _originate(self, link: _Link, call: OriginatedCall, number: str) -> None:
        desk = f"PJSIP/{self.extension}"
        link.send(
            "Originate",
            ActionID=call.action_id,
            Channel=desk,
            Context=self.context,
            Exten=number,
            Priority="1",
            Timeout=str(int(DESK_RING_S * 1000)),
            CallerID=self.caller_id,
            Async="true",
            ChannelId=call.channel_id,
        )
        until = time.monotonic() + CONNECT_TIMEOUT_S
        reply = link.reply(call.action_id, until, lambda m: call.feed(m, time.time()))
        if reply.get("Response") != "Success":
            why = reply.get("Message") or reply.get("Response", "")
            raise AmiError(f"Asterisk refused to originate the call to {number} from {desk}: {why}")

    def _follow(self, link: _Link, call: OriginatedCall, talk: _Talk) -> None:
        while not call.over:
            message = link.next(talk.wake())
            now = time.monotonic()
            if message is not None:
                call.feed(message, time.time())
            talk.note(call, now)
            if call.over:
                return
            if talk.ended_seen is not None:
                if now - talk.ended_seen > LINGER_S:
                    return  # a customer channel's Hangup went missing: the call is over
            elif talk.hangup_sent is not None:
                if now - talk.hangup_sent > HANGUP_WAIT_S:
                    raise _Lost(f"Asterisk did not report the hang-up in {HANGUP_WAIT_S:g} s")
            elif talk.should_end(call, now):
                talk.hangup_sent = now
                self._hang_up(link, call)

    def _hang_up(self, link: _Link, call: OriginatedCall) -> None:
        # Asterisk finds a channel by its name or by its Uniqueid.
        link.send(
            "Hangup",
            ActionID=f"{call.action_id}-hangup",
            Channel=call.desk_channel or call.channel_id,
            Cause="16",  # normal clearing, for the customer's side too
        )

    def _hang_up_anew(self, call: OriginatedCall) -> bool:
        """Hangs the call up through a new session: a call the dialer cannot
        follow is not left up. False when that cannot be done either."""
        try:
            link = self._open()
        except AmiError:
            return False
        try:
            self._hang_up(link, call)
            reply = link.reply(f"{call.action_id}-hangup", time.monotonic() + 2.0, lambda _: None)
            return reply.get("Response") == "Success"
        except _Lost:
            return False
        finally:
            self._leave(link)

    def close(self) -> None:
        """Nothing is held between calls; here for `with`, as with `Dialer`."""

    def __enter__(self) -> AmiDialer:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
