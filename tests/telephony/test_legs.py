"""The legs of a back-to-back PBX joined into one call, for the cases the
Asterisk recordings lack: ring groups, a transfer by the desk that dialled
out, two PBXs, times that run backwards, and memory."""

from __future__ import annotations

from callsop.telephony import sip
from callsop.telephony.dialogs import CallEvent
from callsop.telephony.legs import CallJoiner
from tests.telephony import flows

PBX = "192.0.2.10:5060"
OTHER_PBX = "192.0.2.11:5060"
CUSTOMER_PHONE = "198.51.100.7:5060"
EPOCH = 1_795_000_000.0


def party(number: str, tag: str) -> str:
    return f"<sip:{number}@club.example>;tag={tag}"


def to(number: str) -> str:
    return f"<sip:{number}@club.example>"


class Leg:
    """One SIP dialog, from `caller` to `callee`, sent from `source`."""

    def __init__(self, call_id: str, caller: str, callee: str, source: str, dest: str) -> None:
        self.call_id, self.caller, self.callee = call_id, caller, callee
        self.source, self.dest = source, dest
        self.cseq = 1

    def invite(self) -> tuple[bytes, str, str]:
        return (
            flows.request(
                "INVITE",
                1,
                from_=party(self.caller, "a"),
                to=to(self.callee),
                sdp="sendrecv",
                call_id=self.call_id,
            ),
            self.source,
            self.dest,
        )

    def reply(self, status: int, reason: str, method: str = "INVITE") -> tuple[bytes, str, str]:
        message = flows.response(
            status,
            reason,
            1 if method in ("INVITE", "CANCEL") else self.cseq,
            method,
            from_=party(self.caller, "a"),
            to=f"{to(self.callee)};tag=b",
            call_id=self.call_id,
        )
        return message, self.dest, self.source

    def bye(self, *, by_callee: bool, extra: str = "") -> tuple[bytes, str, str]:
        self.cseq += 1
        ends = (party(self.callee, "b"), party(self.caller, "a"))
        if not by_callee:
            ends = ends[::-1]
        message = flows.request(
            "BYE", self.cseq, from_=ends[0], to=ends[1], call_id=self.call_id, extra=extra
        )
        return (message, self.dest, self.source) if by_callee else (message, self.source, self.dest)

    def cancel(self) -> tuple[bytes, str, str]:
        message = flows.request(
            "CANCEL", 1, from_=party(self.caller, "a"), to=to(self.callee), call_id=self.call_id
        )
        return message, self.source, self.dest

    def refer(self, target: str, *, by_callee: bool) -> tuple[bytes, str, str]:
        self.cseq += 1
        ends = (party(self.callee, "b"), party(self.caller, "a"))
        if not by_callee:
            ends = ends[::-1]
        message = flows.request(
            "REFER",
            self.cseq,
            from_=ends[0],
            to=ends[1],
            call_id=self.call_id,
            extra=f"Refer-To: <sip:{target}@club.example>\r\n",
        )
        return (message, self.dest, self.source) if by_callee else (message, self.source, self.dest)


def run(
    steps: list[tuple[float, tuple[bytes, str, str]]], joiner: CallJoiner | None = None
) -> list[CallEvent]:
    joiner = joiner if joiner is not None else CallJoiner(pbx=[PBX])
    events: list[CallEvent] = []
    for t, (raw, source, dest) in steps:
        events += joiner.feed(sip.parse(raw), EPOCH + t, source=source, destination=dest)
    return events


def summary(events: list[CallEvent]) -> list[tuple[str, float, str | None, str | None]]:
    return [(e.kind, round(e.at - EPOCH, 3), e.by, e.target) for e in events]


def test_a_ring_group_rings_two_desks_one_answers_the_other_is_cancelled() -> None:
    customer = Leg("c-1", "0912345678", "0227001234", CUSTOMER_PHONE, PBX)
    desk1 = Leg("d-1", "0912345678", "101", PBX, "192.0.2.21:5060")
    desk2 = Leg("d-2", "0912345678", "102", PBX, "192.0.2.22:5060")
    events = run(
        [
            (0.0, customer.invite()),
            (0.01, desk1.invite()),
            (0.01, desk2.invite()),
            (0.02, desk1.reply(180, "Ringing")),
            (0.02, desk2.reply(180, "Ringing")),
            (0.03, customer.reply(180, "Ringing")),
            (6.0, desk2.reply(200, "OK")),
            (6.01, desk1.cancel()),
            (6.02, desk1.reply(487, "Request Terminated")),
            (6.02, customer.reply(200, "OK")),
            (30.0, customer.bye(by_callee=False)),
            (30.01, desk2.bye(by_callee=False)),
        ]
    )
    assert summary(events) == [
        ("offered", 0.0, None, None),
        ("ringing", 0.02, None, None),
        ("answered", 6.0, None, "102"),
        ("hangup", 30.0, "caller", None),
    ]
    assert {e.call_id for e in events} == {"c-1"}


def test_the_desk_that_dialled_out_hands_the_customer_on() -> None:
    """An outgoing call: the desk's leg is the first; it blind-transfers the
    customer to 102 and leaves; the call ends when the customer hangs up."""
    desk = Leg("d-1", "101", "0912345678", "192.0.2.21:5060", PBX)
    customer = Leg("c-1", "101", "0912345678", PBX, CUSTOMER_PHONE)
    colleague = Leg("d-2", "0912345678", "102", PBX, "192.0.2.22:5060")
    events = run(
        [
            (0.0, desk.invite()),
            (0.01, customer.invite()),
            (0.02, customer.reply(180, "Ringing")),
            (5.0, customer.reply(200, "OK")),
            (5.01, desk.reply(200, "OK")),
            (20.0, desk.refer("102", by_callee=False)),
            (20.01, colleague.invite()),
            (20.02, desk.bye(by_callee=False)),
            (24.0, colleague.reply(200, "OK")),
            (60.0, customer.bye(by_callee=True)),
            (60.01, colleague.bye(by_callee=False)),
        ]
    )
    assert summary(events) == [
        ("offered", 0.0, None, None),
        ("ringing", 0.02, None, None),
        ("answered", 5.0, None, None),
        ("transfer", 20.0, "caller", "102"),
        ("hangup", 60.0, "callee", None),
    ]


def test_a_desk_whose_line_drops_drops_the_call() -> None:
    customer = Leg("c-1", "0912345678", "0227001234", CUSTOMER_PHONE, PBX)
    desk = Leg("d-1", "0912345678", "101", PBX, "192.0.2.21:5060")
    events = run(
        [
            (0.0, customer.invite()),
            (0.01, desk.invite()),
            (3.0, desk.reply(200, "OK")),
            (3.01, customer.reply(200, "OK")),
            (40.0, desk.bye(by_callee=False, extra="Reason: Q.850;cause=44\r\n")),
            (40.01, customer.bye(by_callee=True, extra="Reason: Q.850;cause=16\r\n")),
        ]
    )
    assert summary(events)[-1] == ("hangup", 40.01, None, None)
    assert events[-1].cause == "network"


def test_times_never_run_backwards_within_a_call() -> None:
    """Asterisk stamps what it receives to the millisecond: the desk's 180
    can seem to come before the INVITE the PBX sent it."""
    customer = Leg("c-1", "0912345678", "0227001234", CUSTOMER_PHONE, PBX)
    desk = Leg("d-1", "0912345678", "101", PBX, "192.0.2.21:5060")
    events = run(
        [
            (0.0105, customer.invite()),
            (0.0107, desk.invite()),
            (0.0102, desk.reply(180, "Ringing")),
        ]
    )
    assert [e.kind for e in events] == ["offered", "ringing"]
    assert events[1].at >= events[0].at


def test_legs_join_only_calls_through_the_same_pbx_with_their_number() -> None:
    first = Leg("c-1", "0912345678", "0227001234", CUSTOMER_PHONE, PBX)
    second = Leg("c-2", "0933000111", "0227001234", "198.51.100.8:5060", PBX)
    elsewhere = Leg("c-3", "0912345678", "0227009999", CUSTOMER_PHONE, OTHER_PBX)
    desk_of_second = Leg("d-2", "0933000111", "102", PBX, "192.0.2.22:5060")
    desk_elsewhere = Leg("d-3", "0912345678", "201", OTHER_PBX, "192.0.2.31:5060")
    events = run(
        [
            (0.0, first.invite()),
            (0.1, second.invite()),
            (0.2, elsewhere.invite()),
            (0.3, desk_of_second.invite()),
            (0.4, desk_elsewhere.invite()),
            (0.5, desk_of_second.reply(200, "OK")),
            (0.6, desk_elsewhere.reply(200, "OK")),
        ],
        CallJoiner(pbx=[PBX, OTHER_PBX]),
    )
    assert [(e.call_id, e.kind, e.target) for e in events] == [
        ("c-1", "offered", None),
        ("c-2", "offered", None),
        ("c-3", "offered", None),
        ("c-2", "answered", "102"),
        ("c-3", "answered", "201"),
    ]


def test_a_phone_answering_with_no_user_in_its_contact_names_no_one() -> None:
    """Asterisk answers with Contact <sip:127.0.0.1:5160>: its digits are an
    address, not extension 127."""
    message = sip.parse(
        b"SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContact: <sip:127.0.0.1:5160>\r\n\r\n"
    )
    assert message.contact_user is None
    assert sip.parse(flows.request("INVITE", 1, to="<tel:+886227001234>")).to_user == (
        "+886227001234"
    )


def test_ended_calls_are_forgotten_with_their_legs() -> None:
    joiner = CallJoiner(pbx=[PBX])
    customer = Leg("c-1", "0912345678", "0227001234", CUSTOMER_PHONE, PBX)
    desk = Leg("d-1", "0912345678", "101", PBX, "192.0.2.21:5060")
    run(
        [
            (0.0, customer.invite()),
            (0.01, desk.invite()),
            (3.0, desk.reply(200, "OK")),
            (3.01, customer.reply(200, "OK")),
            (9.0, customer.bye(by_callee=False)),
            (9.01, desk.bye(by_callee=False)),
        ],
        joiner,
    )
    assert len(joiner) == 2
    joiner.forget_before(EPOCH + 9.01 + 600)
    assert len(joiner) == 0
    assert not joiner._calls and not joiner._leg_of and not joiner._by_number
