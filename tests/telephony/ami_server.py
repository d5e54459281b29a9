"""A scripted Asterisk Manager Interface over real TCP, for click-to-dial.

It answers `Login`, `Originate`, `Hangup` and `Logoff` as Asterisk 22 does,
and plays recorded event blocks (tests/telephony/asterisk/ami) for each
Originate: those of `originate-outgoing` (PJSIP/101 rings, is picked up,
dials 0912345678 from context from-desk), with the Originate's ChannelId
for the originated channel's Uniqueid and Linkedid, its ActionID in
OriginateResponse, and each Timestamp the moment the block is sent, paced
by the recorded gaps times `scale`. The customer's leg of outcomes that
capture lacks (busy, a drop, a hang-up from our side) comes from the other
captures, their channels renamed to the Originate's. `Hangup` of the live
call stops the script and plays its hang-up blocks instead. A refused
log-in is answered at once (Asterisk waits 1 s first) and the session
closed, as Asterisk does.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

CAPTURES = Path(__file__).parent / "asterisk" / "ami"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
# The originate-outgoing capture's parts, which the other captures are renamed to.
ORIGIN_ID = "1796152475.23"  # the originated channel's Uniqueid, and the call's Linkedid
DESK = "PJSIP/101-00000017"
CUSTOMER = "PJSIP/0912345678-00000018"
CUSTOMER_ID = "1796152476.24"
TIMEOUT = -1.0  # a pause as long as the Originate's own Timeout
_LOG_IN_EVENTS = ("FullyBooted", "SuccessfulAuth")  # the recording client's, not the call's


@dataclass(frozen=True)
class Event:
    at: float  # Asterisk's Timestamp when it was recorded
    fields: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.fields if k == name), None)

    def matches(self, match: Mapping[str, str]) -> bool:
        return all(self.get(k) == v for k, v in match.items())

    def text(self, values: Mapping[str, str]) -> bytes:
        lines = (f"{k}: {values.get(k, v)}" for k, v in self.fields)
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


def capture(name: str) -> list[Event]:
    """The call's events in `<name>.txt`, as recorded (not the log-in's)."""
    raw = (CAPTURES / f"{name}.txt").read_bytes().decode()
    events: list[Event] = []
    at = 0.0
    for block in raw.split("\r\n\r\n"):
        fields = tuple(_fields(block.encode()).items())
        if not fields or fields[0][0] != "Event" or fields[0][1] in _LOG_IN_EVENTS:
            continue
        stamp = dict(fields).get("Timestamp")
        at = float(stamp) if stamp else at
        events.append(Event(at, fields))
    return events


def find(events: list[Event], start: int = 0, **match: str) -> int:
    """The index of the first event from `start` with all of `match`."""
    for index in range(start, len(events)):
        if events[index].matches(match):
            return index
    raise LookupError(f"no event with {match} after #{start}")


def renamed(
    events: Iterable[Event],
    *,
    channels: Mapping[str, str],
    uniqueids: Mapping[str, str],
    numbers: Mapping[str, str] | None = None,
) -> list[Event]:
    """The events with another capture's channels, Uniqueids and Linkedid put
    for the Originate's: `uniqueids` maps each channel's Uniqueid (the first
    channel's is also the Linkedid); `numbers` swaps caller and callee."""
    linkedid = ORIGIN_ID
    swap = numbers or {}

    def value(key: str, old: str) -> str:
        if key.endswith("Linkedid"):
            return linkedid
        if key.endswith("Uniqueid"):
            return uniqueids.get(old, old)
        if key.endswith("Channel"):
            return channels.get(old, old)
        if key.endswith(("Num", "Exten")) or key == "DialString":
            return swap.get(old, old)
        return old

    return [replace(e, fields=tuple((k, value(k, v)) for k, v in e.fields)) for e in events]


@dataclass(frozen=True)
class Script:
    """One originated call: pieces of recorded events, each `(pause, events)`,
    the pause in recorded seconds before the piece (TIMEOUT: the Originate's
    Timeout), the events paced by their recorded gaps."""

    call: tuple[tuple[float, tuple[Event, ...]], ...]
    hangup: tuple[Event, ...] = ()  # played when our Hangup action comes

    def timeline(self, timeout_s: float) -> list[tuple[float, Event]]:
        """(seconds after the Originate, event) in recorded seconds."""
        out: list[tuple[float, Event]] = []
        end = 0.0
        for pause, events in self.call:
            start = end + (timeout_s if pause == TIMEOUT else pause)
            first = events[0].at
            out += [(start + e.at - first, e) for e in events]
            end = out[-1][0]
        return out


def _classes(privilege: str | None) -> set[str]:
    return {c.strip() for c in (privilege or "").split(",")} - {""}


@dataclass
class _Live:
    channel_id: str
    action_id: str
    script: Script
    ended: bool = False


@dataclass
class _Session:
    conn: socket.socket
    logged_in: bool = False
    events: set[str] | None = None  # the Login's event classes; None: all
    schedule: list[tuple[float, Event]] = field(default_factory=list)  # (monotonic due, event)


class AmiServer:
    """Serves `scripts`, one per Originate, on 127.0.0.1:`port`. `actions` and
    `sent` say what came in and what went out, each with its wall-clock time."""

    def __init__(
        self,
        scripts: Iterable[Script],
        *,
        username: str = "callsop",
        secret: str = "desk-s3cret",
        scale: float = 0.1,
        refuse_originate: str | None = None,
        drop_after: Mapping[str, str] | None = None,
    ) -> None:
        self.scripts = list(scripts)
        self.username, self.secret = username, secret
        self.scale = scale
        self.refuse_originate = refuse_originate
        self.drop_after = drop_after
        self.actions: list[tuple[float, dict[str, str]]] = []
        self.sent: list[tuple[float, dict[str, str]]] = []
        self.live: _Live | None = None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closing = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def __enter__(self) -> AmiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def named(self, action: str) -> list[dict[str, str]]:
        return [a for _, a in self.actions if a.get("Action", "").lower() == action.lower()]

    def event(self, **match: str) -> dict[str, str]:
        """The first event sent with all of `match` (as sent: ids and times put in)."""
        return next(e for _, e in self.sent if all(e.get(k) == v for k, v in match.items()))

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                ready, _, _ = select.select([self._listener], [], [], 0.1)
                if ready:
                    conn, _ = self._listener.accept()
            except OSError:
                return
            if ready:
                thread = threading.Thread(target=self._serve, args=(_Session(conn),), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _serve(self, session: _Session) -> None:
        conn = session.conn
        buffer = b""
        try:
            conn.sendall(BANNER)
            while not self._closing.is_set():
                due = session.schedule[0][0] if session.schedule else time.monotonic() + 0.1
                ready, _, _ = select.select([conn], [], [], max(0.0, due - time.monotonic()))
                if ready:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                    while b"\r\n\r\n" in buffer:
                        block, _, buffer = buffer.partition(b"\r\n\r\n")
                        if not self._act(session, _fields(block)):
                            return
                if not self._play(session):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def _play(self, session: _Session) -> bool:
        """Sends the events now due; False once the connection is dropped on purpose."""
        while session.schedule and session.schedule[0][0] <= time.monotonic():
            _, event = session.schedule.pop(0)
            if session.events is not None and not _classes(event.get("Privilege")) & session.events:
                continue
            live = self.live
            assert live is not None
            values = {"Timestamp": f"{time.time():.6f}"}
            for key, value in event.fields:
                if key.endswith(("Uniqueid", "Linkedid")) and value == ORIGIN_ID:
                    values[key] = live.channel_id
            if event.get("Event") == "OriginateResponse":
                values["ActionID"] = live.action_id
            session.conn.sendall(event.text(values))
            self.sent.append((time.time(), dict(event.fields) | values))
            if event.get("Event") == "Hangup" and event.get("Uniqueid") == ORIGIN_ID:
                live.ended = True
            if self.drop_after is not None and event.matches(self.drop_after):
                session.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                return False  # the line goes dead: a reset, no Goodbye
        return True

    def _act(self, session: _Session, action: dict[str, str]) -> bool:
        """Answers one action; False when the session ends."""
        self.actions.append((time.time(), action))
        name = action.get("Action", "").lower()
        reply = {"ActionID": action.get("ActionID", "")}
        if name == "login":
            return self._login(session, action, reply)
        if not session.logged_in:
            _send(session, "Error", reply, "Authentication Required")
            return True
        if name == "logoff":
            _send(session, "Goodbye", reply, "Thanks for all the fish.")
            return False
        if name == "originate":
            self._originate(session, action, reply)
        elif name == "hangup":
            self._hangup(session, action, reply)
        else:
            _send(session, "Error", reply, "Invalid/unknown command")
        return True

    def _login(self, session: _Session, action: dict[str, str], reply: dict[str, str]) -> bool:
        if (action.get("Username"), action.get("Secret")) != (self.username, self.secret):
            _send(session, "Error", reply, "Authentication failed")
            return False  # Asterisk closes the session
        session.logged_in = True
        mask = action.get("Events", "on").lower()
        session.events = None if mask == "on" else _classes(mask) - {"off"}
        _send(session, "Success", reply, "Authentication accepted")
        return True

    def _originate(self, session: _Session, action: dict[str, str], reply: dict[str, str]) -> None:
        if self.refuse_originate is not None or not self.scripts:
            _send(session, "Error", reply, self.refuse_originate or "Originate failed")
            return
        script = self.scripts.pop(0)
        self.live = _Live(action.get("ChannelId", ORIGIN_ID), action.get("ActionID", ""), script)
        _send(session, "Success", reply, "Originate successfully queued")
        timeout_s = int(action.get("Timeout", "30000")) / 1000
        self._schedule(session, script.timeline(timeout_s))

    def _hangup(self, session: _Session, action: dict[str, str], reply: dict[str, str]) -> None:
        live = self.live
        if live is None or live.ended or action.get("Channel") not in (live.channel_id, DESK):
            _send(session, "Error", reply, "No such channel")
            return
        _send(session, "Success", reply, "Channel Hungup")
        events = live.script.hangup
        self._schedule(session, [(e.at - events[0].at, e) for e in events])

    def _schedule(self, session: _Session, timeline: list[tuple[float, Event]]) -> None:
        now = time.monotonic()
        session.schedule = [(now + offset * self.scale, e) for offset, e in timeline]


def _fields(block: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in block.decode().split("\r\n"):
        name, sep, value = line.partition(": ")
        if sep:
            fields.setdefault(name, value)
    return fields


def _send(session: _Session, response: str, fields: dict[str, str], message: str) -> None:
    lines = [f"Response: {response}", *(f"{k}: {v}" for k, v in fields.items() if v)]
    session.conn.sendall(("\r\n".join([*lines, f"Message: {message}"]) + "\r\n\r\n").encode())


# The scripts: the originate-outgoing capture cut where the outcome parts from it.

ORIGINATE = capture("originate-outgoing")
_DESK_RINGING = find(ORIGINATE, Event="DialState", DestChannel=DESK) + 1
_CUSTOMER_RINGING = find(ORIGINATE, Event="DialState", Channel=DESK) + 1
_TALKING = find(ORIGINATE, Event="HangupRequest")


def _inbound(name: str, customer: str, customer_id: str, desk: str, desk_id: str) -> list[Event]:
    """An inbound capture with the roles of an Originate's: its caller (the
    customer) becomes the desk channel dialling, and 101 the customer."""
    return renamed(
        capture(name),
        channels={customer: DESK, desk: CUSTOMER},
        uniqueids={customer_id: ORIGIN_ID, desk_id: CUSTOMER_ID},
        numbers={"101": "0912345678", "0912345678": "101"},
    )


def customer_hangs_up() -> Script:
    """As recorded: the desk picks up at 1.0 s, the customer answers at 7.0 and hangs up at 11.0."""
    return Script(((0.0, tuple(ORIGINATE)),), hangup=tuple(_desk_hangs_up()))


def _desk_hangs_up() -> list[Event]:
    """desk-hangs-up's end, where 101 (the answering desk) hangs up."""
    events = renamed(
        capture("desk-hangs-up"),
        channels={"PJSIP/101-0000000b": DESK, "PJSIP/0912345678-0000000a": CUSTOMER},
        uniqueids={"1796152361.11": ORIGIN_ID, "1796152361.10": CUSTOMER_ID},
    )
    return events[find(events, Event="HangupRequest") :]


def answered_until_hung_up() -> Script:
    """Answered as recorded, then talking until our Hangup, which ends it as desk-hangs-up."""
    return Script(((0.0, tuple(ORIGINATE[:_TALKING])),), hangup=tuple(_desk_hangs_up()))


def rings_until_hung_up() -> Script:
    """The customer's phone rings until our Hangup: cancelled's end, where
    the caller gave up while 101 rang."""
    events = _inbound(
        "cancelled",
        "PJSIP/0912345678-0000000c",
        "1796152375.12",
        "PJSIP/101-0000000d",
        "1796152375.13",
    )
    end = events[find(events, Event="HangupRequest") :]
    return Script(((0.0, tuple(ORIGINATE[:_CUSTOMER_RINGING])),), hangup=tuple(end))


def busy(after_s: float = 3.0) -> Script:
    """The customer's phone rejects the call after `after_s`: desk-rejects' end."""
    events = _inbound(
        "desk-rejects",
        "PJSIP/0912345678-0000000e",
        "1796152391.14",
        "PJSIP/101-0000000f",
        "1796152391.15",
    )
    end = events[find(events, Event="HangupRequest") :]
    return Script(((0.0, tuple(ORIGINATE[:_CUSTOMER_RINGING])), (after_s, tuple(end))))


def dial_times_out(after_s: float = 40.0) -> Script:
    """The dialplan's Dial(PJSIP/0912345678,40) gives up on the customer's
    phone first: no-answer-timeout's end (DialEnd NOANSWER, cause 0)."""
    events = _inbound(
        "no-answer-timeout",
        "PJSIP/0912345678-00000010",
        "1796152401.16",
        "PJSIP/101-00000011",
        "1796152401.17",
    )
    end = events[find(events, Event="DialEnd") :]
    return Script(((0.0, tuple(ORIGINATE[:_CUSTOMER_RINGING])), (after_s, tuple(end))))


def line_drops(after_s: float = 2.0) -> Script:
    """Answered, then `after_s` later the customer's line is lost: line-drop's
    end, Asterisk's RTP timeout (cause 44) on the customer's channel."""
    events = renamed(
        capture("line-drop"),
        channels={"PJSIP/101-0000001c": DESK, "PJSIP/0912345678-0000001b": CUSTOMER},
        uniqueids={"1796152509.28": ORIGIN_ID, "1796152509.27": CUSTOMER_ID},
    )
    end = events[find(events, Event="SoftHangupRequest") :]
    return Script(((0.0, tuple(ORIGINATE[:_TALKING])), (after_s, tuple(end))))


def desk_not_picked_up() -> Script:
    """The clerk's phone rings for the Originate's Timeout: no-answer-timeout's
    end for 101's channel (DialEnd NOANSWER, Hangup cause 0), without the
    caller that an Originate's own dial lacks, then OriginateResponse
    Failure (Reason 3, ringing) on the requested channel."""
    events = renamed(
        capture("no-answer-timeout"),
        channels={"PJSIP/101-00000011": DESK},
        uniqueids={"1796152401.17": ORIGIN_ID},
    )
    ends = events[find(events, Event="DialEnd") :]
    dial_end = replace(ends[0], fields=tuple((k, v) for k, v in ends[0].fields if not _callers(k)))
    desk_end = [e for e in ends[1:] if e.get("Channel") == DESK]
    response = ORIGINATE[find(ORIGINATE, Event="OriginateResponse")]
    failed = {"Response": "Failure", "Reason": "3", "Channel": "PJSIP/101"}
    failure = replace(
        response,
        at=desk_end[-1].at,
        fields=tuple((k, failed.get(k, v)) for k, v in response.fields),
    )
    return Script(
        ((0.0, tuple(ORIGINATE[:_DESK_RINGING])), (TIMEOUT, (dial_end, *desk_end, failure)))
    )


def _callers(key: str) -> bool:
    """A DialEnd field about the dialling channel, which an Originate's own dial has not."""
    return not key.startswith("Dest") and key not in (
        "Event",
        "Privilege",
        "Timestamp",
        "DialStatus",
    )
