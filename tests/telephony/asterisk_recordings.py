"""What a real Asterisk 22 sent in twelve scenarios (tests/telephony/asterisk),
and what really happened in each: the calls the desk must make of them.

`SCENARIOS` says, per scenario, the call events callsop must report and the
moment of the truth (`truth/<scenario>.jsonl`, the phones' and the driver's
own log) each must fall on, and the desk's call that follows. Times are
compared after moving the whole recording to a common start, so the same
expectations serve AMI and HEP replays at any date."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

HERE = Path(__file__).parent / "asterisk"
PBX = "127.0.0.1:5160"  # the Asterisk's SIP address in every recording
CLUB_LINES = ("0227001234", "0227001235")
DESKS = ("101", "102")
CUSTOMER = "0912345678"
TOLERANCE_S = 0.05


@dataclass(frozen=True)
class Expected:
    kind: str
    truth: str  # the truth line ("what") whose time the event falls on
    by: str | None = None
    cause: str | dict[str, str] | None = None  # a failure's: DialStatus over AMI, SIP over HEP
    target: str | None = None
    tolerance_s: float = TOLERANCE_S
    over: Literal["both", "ami"] = "both"  # "ami": a hold the PBX makes inside itself


@dataclass(frozen=True)
class DeskCall:
    direction: Literal["inbound", "outbound"]
    clerk: str | None  # the extension of the clerk who took it
    ended_by: str | None  # the hang-up event's `by` on the desk
    outcome: str = "completed"
    transfer_to: str | None = None  # the extension it went to
    held: bool | Literal["ami"] = False  # "ami": a hold only AMI can see


@dataclass(frozen=True)
class Scenario:
    events: tuple[Expected, ...]
    desk: DeskCall
    caller: str = CUSTOMER
    callee: str = CLUB_LINES[0]
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _inbound(*middle: Expected, end: Expected, desk: DeskCall, **kw: str) -> Scenario:
    start = (
        Expected("offered", f"{CUSTOMER} dial"),
        Expected("ringing", "101 event CALL_INCOMING"),
    )
    return Scenario((*start, *middle, end), desk, **kw)


_ANSWER = Expected("answered", "101 accept", target="101")
_CUSTOMER_HANGS_UP = Expected("hangup", f"{CUSTOMER} hangup", by="caller")

SCENARIOS: dict[str, Scenario] = {
    "answered-2-rings": _inbound(
        _ANSWER, end=_CUSTOMER_HANGS_UP, desk=DeskCall("inbound", "101", "customer")
    ),
    "answered-5-rings": _inbound(
        _ANSWER, end=_CUSTOMER_HANGS_UP, desk=DeskCall("inbound", "101", "customer")
    ),
    "hold-resume": _inbound(
        _ANSWER,
        Expected("hold", "101 hold", by="callee"),
        Expected("resume", "101 resume", by="callee"),
        end=_CUSTOMER_HANGS_UP,
        desk=DeskCall("inbound", "101", "customer", held=True),
    ),
    "desk-hangs-up": _inbound(
        _ANSWER,
        end=Expected("hangup", "101 hangup", by="callee"),
        desk=DeskCall("inbound", "101", "staff"),
    ),
    "cancelled": _inbound(
        end=Expected("cancelled", f"{CUSTOMER} hangup", by="caller"),
        desk=DeskCall("inbound", None, "customer", outcome="missed"),
    ),
    # The desk's phone refuses (486); Asterisk tells the customer busy.
    "desk-rejects": _inbound(
        end=Expected("failed", "101 hangup", cause={"ami": "BUSY", "hep": "486"}),
        desk=DeskCall("inbound", None, "customer", outcome="missed"),
    ),
    # Dial() gives up after 8 s: the desk phone stops ringing.
    "no-answer-timeout": _inbound(
        end=Expected("failed", "101 event CALL_CLOSED", cause={"ami": "NOANSWER", "hep": "603"}),
        desk=DeskCall("inbound", None, "customer", outcome="missed"),
        callee=CLUB_LINES[1],
    ),
    # Asterisk took the answer late here: 101's 200 OK left at 3.009 s and
    # reached it at 3.068 s; AMI says Up at 3.17 s.
    "blind-transfer": _inbound(
        Expected("answered", "101 accept", target="101", tolerance_s=0.2),
        Expected("transfer", "101 transfer", by="callee", target="102"),
        end=_CUSTOMER_HANGS_UP,
        desk=DeskCall("inbound", "101", "customer", outcome="transferred", transfer_to="102"),
    ),
    # AMI Atxfer: Asterisk plays the customer music on hold (its Hold event
    # comes 0.25 s after the action, once the feature runs) until 101 hangs
    # up, which joins the customer and 102. Over SIP the hold never shows.
    "attended-transfer": _inbound(
        _ANSWER,
        Expected("hold", "AMI Atxfer", by="callee", tolerance_s=0.3, over="ami"),
        Expected("transfer", "101 hangup", by="callee", target="102"),
        end=_CUSTOMER_HANGS_UP,
        desk=DeskCall(
            "inbound", "101", "customer", outcome="transferred", transfer_to="102", held="ami"
        ),
    ),
    # The desk phone rings and is picked up first (not the call's ringing);
    # then Asterisk dials the customer.
    "originate-outgoing": Scenario(
        (
            Expected("offered", "101 accept", tolerance_s=0.06),
            Expected("ringing", f"{CUSTOMER} event CALL_INCOMING"),
            Expected("answered", f"{CUSTOMER} accept"),
            Expected("hangup", f"{CUSTOMER} hangup", by="callee"),
        ),
        DeskCall("outbound", "101", "customer"),
        caller="101",
        callee=CUSTOMER,
    ),
    "desk-dials-out": Scenario(
        (
            Expected("offered", "101 dial"),
            Expected("ringing", f"{CUSTOMER} event CALL_INCOMING"),
            Expected("answered", f"{CUSTOMER} accept"),
            Expected("hangup", "101 hangup", by="caller"),
        ),
        DeskCall("outbound", "101", "staff"),
        caller="101",
        callee=CUSTOMER,
    ),
    # The customer's phone dies without a BYE; Asterisk's rtp_timeout (8 s)
    # ends the call with Q.850 cause 44, when 101 sees it closed.
    "line-drop": _inbound(
        _ANSWER,
        end=Expected("hangup", "101 event CALL_CLOSED", cause="network"),
        desk=DeskCall("inbound", "101", "network", outcome="dropped"),
    ),
}


def truth(scenario: str) -> dict[str, float]:
    """Each thing that happened (its first time) -> epoch seconds."""
    seen: dict[str, float] = {}
    for line in (HERE / "truth" / f"{scenario}.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        seen.setdefault(row["what"], row["t"])
    return seen


def ami_capture(scenario: str) -> tuple[str, list[str]]:
    """The banner and the event blocks (LF line ends) as Asterisk sent them,
    without the recorder's own log-in and log-off replies."""
    raw = (HERE / "ami" / f"{scenario}.txt").read_bytes().decode("utf-8")
    banner, _, rest = raw.partition("\r\n")
    blocks = [b.replace("\r\n", "\n") for b in rest.split("\r\n\r\n") if b.strip()]
    events = [b for b in blocks if b.startswith("Event:")]
    return banner, events


def hep_capture(scenario: str) -> list[tuple[float, bytes]]:
    """Every HEP datagram the Asterisk sent, with when it arrived."""
    rows = (HERE / "hep" / f"{scenario}.jsonl").read_text("utf-8").splitlines()
    return [(json.loads(r)["rx"], base64.b64decode(json.loads(r)["b64"])) for r in rows]


def first_timestamp(blocks: list[str]) -> float:
    for block in blocks:
        for line in block.split("\n"):
            if line.startswith("Timestamp: "):
                return float(line.split(": ", 1)[1])
    raise ValueError("no Timestamp in the capture")


def shift_timestamps(blocks: list[str], by: float) -> list[str]:
    """The blocks with every AMI Timestamp moved by `by` seconds."""
    out = []
    for block in blocks:
        lines = []
        for line in block.split("\n"):
            if line.startswith("Timestamp: "):
                line = f"Timestamp: {float(line.split(': ', 1)[1]) + by:.6f}"
            lines.append(line)
        out.append("\n".join(lines))
    return out
