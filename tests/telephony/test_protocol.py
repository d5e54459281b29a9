"""HEPv3 and SIP as captured from a PBX, turned into call events."""

from __future__ import annotations

import pytest

from callsop.telephony import hep, sip
from callsop.telephony.dialogs import CallEvent, DialogTracker
from tests.telephony import flows

PROXY = ("192.0.2.10", 5060)
PHONE = ("192.0.2.4", 5060)
DESK = ("192.0.2.20", 5062)
EPOCH = 1_795_000_000.0


def _capture(flow: list[tuple[float, bytes]], copies: int = 1) -> list[bytes]:
    """HEP packets as siptrace sends them: a proxy in front of the desk
    mirrors each message as it arrives and again as it leaves."""
    packets = []
    for t, message in flow:
        for hop in [(PHONE, PROXY), (PROXY, DESK)][:copies]:
            packets.append(
                hep.encode(message, source=hop[0], destination=hop[1], captured_at=EPOCH + t)
            )
    return packets


def _events(packets: list[bytes]) -> list[CallEvent]:
    tracker = DialogTracker()
    events: list[CallEvent] = []
    for datagram in packets:
        packet = hep.decode(datagram)
        events += tracker.feed(sip.parse(packet.payload), packet.captured_at)
    return events


def _summary(events: list[CallEvent]) -> list[tuple[str, float, str | None]]:
    return [(e.kind, round(e.at - EPOCH, 2), e.by) for e in events]


def test_hep_round_trip_keeps_addresses_time_and_payload() -> None:
    datagram = hep.encode(
        b"OPTIONS", source=PHONE, destination=("2001:db8::1", 5080), captured_at=EPOCH + 1.25
    )
    packet = hep.decode(datagram)
    assert packet.source == "192.0.2.4:5060"
    assert packet.destination == "[2001:db8::1]:5080"
    assert packet.captured_at == pytest.approx(EPOCH + 1.25)
    assert (packet.protocol_type, packet.payload) == (hep.PROTOCOL_SIP, b"OPTIONS")


@pytest.mark.parametrize(
    ("datagram", "says"),
    [
        (b"", "too short"),
        (b"\x00\xff garbage that is not HEP at all", "not HEPv3"),
        (b"HEP2" + bytes(20), "not HEPv3"),
    ],
)
def test_garbage_is_refused_with_a_reason(datagram: bytes, says: str) -> None:
    with pytest.raises(hep.HepError, match=says):
        hep.decode(datagram)


def test_truncated_hep_is_refused_at_every_cut() -> None:
    whole = hep.encode(
        flows.request("INVITE", 1), source=PHONE, destination=PROXY, captured_at=EPOCH
    )
    for cut in range(len(whole) - 1):
        with pytest.raises(hep.HepError):
            hep.decode(whole[:cut])


def test_sip_headers_compact_forms_and_tags() -> None:
    text = (
        "BYE sip:201@club.example SIP/2.0\r\ni: abc@host\r\nf: <sip:0912345678@x>;tag=t1\r\n"
        't: <sip:201@x>;tag=t2\r\nCSeq: 3 BYE\r\nReason: Q.850;cause=41;text="Temporary failure"\r\n\r\n'
    )
    message = sip.parse(text.encode())
    assert (message.method, message.call_id, message.cseq) == ("BYE", "abc@host", (3, "BYE"))
    assert (message.from_user, message.from_tag, message.to_tag) == ("0912345678", "t1", "t2")
    assert message.q850_cause == 41


@pytest.mark.parametrize(
    "payload",
    [
        b"hello",
        b"SIP/2.0 OK\r\n\r\n",
        b"INVITE sip:x SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n",
        b"\xff\xfe",
    ],
)
def test_what_is_not_sip_is_refused(payload: bytes) -> None:
    with pytest.raises(sip.SipError):
        sip.parse(payload)


def test_an_answered_call_with_a_hold_gives_its_events_in_order() -> None:
    events = _events(_capture(flows.answered_call()))
    assert _summary(events) == [
        ("offered", 0.0, None),
        ("ringing", 0.1, None),
        ("answered", 7.5, None),
        ("hold", 20.0, "callee"),
        ("resume", 54.0, "callee"),
        ("hangup", 80.0, "caller"),
    ]
    assert {(e.caller, e.callee) for e in events} == {("0912345678", "201")}
    assert events[-1].cause is None


def test_proxy_copies_and_retransmissions_count_once() -> None:
    flow = flows.answered_call()
    retransmitted = [*flow[:3], flow[2], flow[3], flow[3], *flow[4:]]
    once = _summary(_events(_capture(flow)))
    assert _summary(_events(_capture(retransmitted, copies=2))) == once


def test_the_desk_hanging_up_first_is_told() -> None:
    flow = [
        *flows.answered_call()[:5],
        (30.0, flows.request("BYE", 1, **flows.IN_DIALOG_FROM_DESK)),
    ]
    assert _summary(_events(_capture(flow)))[-1] == ("hangup", 30.0, "callee")


def test_a_bye_with_an_abnormal_cause_is_a_dropped_line() -> None:
    reason = 'Reason: Q.850;cause=41;text="Temporary failure"\r\n'
    bye = flows.request("BYE", 2, extra=reason, **flows.IN_DIALOG_FROM_CUSTOMER)
    flow = [*flows.answered_call()[:5], (40.0, bye)]
    last = _events(_capture(flow))[-1]
    assert (last.kind, last.cause) == ("hangup", "network")


def test_a_caller_giving_up_before_the_answer_is_cancelled_not_failed() -> None:
    flow = [
        *flows.answered_call()[:3],
        (31.0, flows.request("CANCEL", 1)),
        (31.1, flows.response(487, "Request Terminated", 1)),
    ]
    assert _summary(_events(_capture(flow)))[-1] == ("cancelled", 31.0, "caller")


def test_a_busy_desk_fails_the_call_with_its_status() -> None:
    flow = [*flows.answered_call()[:2], (1.0, flows.response(486, "Busy Here", 1))]
    last = _events(_capture(flow))[-1]
    assert (last.kind, last.cause) == ("failed", "486")


def test_a_refer_is_a_transfer_to_its_target() -> None:
    refer = flows.request(
        "REFER", 2, extra="Refer-To: <sip:205@club.example>\r\n", **flows.IN_DIALOG_FROM_DESK
    )
    flow = [*flows.answered_call()[:5], (30.0, refer)]
    last = _events(_capture(flow))[-1]
    assert (last.kind, last.by, last.target) == ("transfer", "callee", "205")


def test_keep_alives_and_unknown_methods_leave_no_trace() -> None:
    tracker = DialogTracker()
    for n in range(500):
        options = flows.request("OPTIONS", n, call_id=f"ka{n}")
        assert tracker.feed(sip.parse(options), EPOCH + n) == []
    odd = flows.request("FROBNICATE", 9, **flows.IN_DIALOG_FROM_CUSTOMER)
    assert tracker.feed(sip.parse(odd), EPOCH) == []
    assert len(tracker) == 0


def test_ended_dialogs_are_forgotten_after_a_while() -> None:
    tracker = DialogTracker()
    for t, message in flows.answered_call():
        tracker.feed(sip.parse(message), EPOCH + t)
    assert tracker.forget_before(EPOCH + 90) == 0  # ended at 80 s: late copies may still come
    assert tracker.forget_before(EPOCH + 200) == 1
    assert len(tracker) == 0


def test_a_bye_sent_again_with_a_new_cseq_hangs_up_once() -> None:
    flow = [
        *flows.answered_call()[:5],
        (30.0, flows.request("BYE", 2, **flows.IN_DIALOG_FROM_CUSTOMER)),
        (30.5, flows.request("BYE", 3, **flows.IN_DIALOG_FROM_CUSTOMER)),
    ]
    assert [e.kind for e in _events(_capture(flow))].count("hangup") == 1


def _kinds(flow: list[tuple[float, bytes]], **addresses: str) -> list[tuple[str, float]]:
    tracker = DialogTracker()
    out = []
    for t, raw in flow:
        for event in tracker.feed(sip.parse(raw), EPOCH + t, **addresses):
            out.append((event.kind, round(event.at - EPOCH, 2)))
    return out


CHALLENGED = [
    (0.0, flows.request("INVITE", 1, sdp="sendrecv")),
    (0.02, flows.response(407, "Proxy Authentication Required", 1, to=f"{flows.DESK};tag=px")),
    (0.05, flows.request("INVITE", 2, sdp="sendrecv", extra="Proxy-Authorization: Digest x\r\n")),
    (0.1, flows.response(180, "Ringing", 2)),
    (6.0, flows.response(200, "OK", 2)),
]


def test_a_password_challenge_is_not_the_end_of_the_call() -> None:
    assert _kinds(CHALLENGED) == [("offered", 0.0), ("ringing", 0.1), ("answered", 6.0)]


def test_183_then_180_rings_once() -> None:
    flow = [
        *flows.answered_call()[:2],
        (0.08, flows.response(183, "Session Progress", 1)),
        flows.answered_call()[2],
    ]
    assert [k for k, _ in _kinds(flow)].count("ringing") == 1


def test_a_cancel_crossing_the_answer_leaves_the_call_answered() -> None:
    flow = [*flows.answered_call()[:3], (7.4, flows.request("CANCEL", 1)), flows.answered_call()[3]]
    flow += [(30.0, flows.request("BYE", 2, **flows.IN_DIALOG_FROM_CUSTOMER))]
    assert [k for k, _ in _kinds(flow)] == ["offered", "ringing", "answered", "hangup"]


def test_a_cancel_counts_from_its_own_time_once_settled_by_487() -> None:
    flow = [
        *flows.answered_call()[:3],
        (31.0, flows.request("CANCEL", 1)),
        (31.3, flows.response(487, "Request Terminated", 1)),
    ]
    assert _kinds(flow)[-1] == ("cancelled", 31.0)


def test_a_refused_hold_is_no_hold() -> None:
    flow = [
        *flows.answered_call()[:5],
        (20.0, flows.request("INVITE", 1, sdp="sendonly", **flows.IN_DIALOG_FROM_DESK)),
        (20.1, flows.response(488, "Not Acceptable Here", 1, **flows.IN_DIALOG_FROM_DESK)),
    ]
    assert "hold" not in [k for k, _ in _kinds(flow)]


def test_the_held_side_refreshing_does_not_resume_the_call() -> None:
    flow = [
        *flows.answered_call()[:7],  # the desk has put the customer on hold
        (30.0, flows.request("INVITE", 3, sdp="recvonly", **flows.IN_DIALOG_FROM_CUSTOMER)),
        (30.1, flows.response(200, "OK", 3, **flows.IN_DIALOG_FROM_CUSTOMER)),
        (31.0, flows.request("INVITE", 4, sdp="sendrecv", **flows.IN_DIALOG_FROM_CUSTOMER)),
        (31.1, flows.response(200, "OK", 4, **flows.IN_DIALOG_FROM_CUSTOMER)),
    ]
    assert [k for k, _ in _kinds(flow)][-1] == "hold"


def test_an_older_reinvite_arriving_late_changes_nothing() -> None:
    flow = [
        *flows.answered_call()[:5],
        (54.0, flows.request("INVITE", 2, sdp="sendrecv", **flows.IN_DIALOG_FROM_DESK)),
        (54.1, flows.response(200, "OK", 2, **flows.IN_DIALOG_FROM_DESK)),
        (20.0, flows.request("INVITE", 1, sdp="sendonly", **flows.IN_DIALOG_FROM_DESK)),
        (20.1, flows.response(200, "OK", 1, **flows.IN_DIALOG_FROM_DESK)),
    ]
    assert "hold" not in [k for k, _ in _kinds(flow)]


def test_a_forked_branch_failing_is_kept_from_the_caller_until_the_answer() -> None:
    caller, proxy = "192.0.2.4:5060", "192.0.2.10:5060"
    tracker = DialogTracker()
    kinds = []
    for t, raw, src, dst in [
        (0.0, flows.request("INVITE", 1, sdp="sendrecv"), caller, proxy),
        (
            1.0,
            flows.response(480, "Temporarily Unavailable", 1, to=f"{flows.DESK};tag=b1"),
            "192.0.2.21:5062",
            proxy,
        ),
        (2.0, flows.response(200, "OK", 1), proxy, caller),
    ]:
        kinds += [
            e.kind for e in tracker.feed(sip.parse(raw), EPOCH + t, source=src, destination=dst)
        ]
    assert kinds == ["offered", "answered"]


def test_calls_that_never_end_are_forgotten() -> None:
    tracker = DialogTracker()
    for n in range(200):
        tracker.feed(sip.parse(flows.request("INVITE", 1, call_id=f"scan{n}")), EPOCH)
    answered = DialogTracker()
    for t, message in flows.answered_call()[:5]:
        answered.feed(sip.parse(message), EPOCH + t)
    assert tracker.forget_before(EPOCH + 181) == 200  # never answered: Timer C
    assert answered.forget_before(EPOCH + 3600) == 0  # a long call is not cut short
    assert answered.forget_before(EPOCH + 5 * 3600) == 1  # its BYE was lost


def test_in_dialog_chatter_leaves_no_memory() -> None:
    tracker = DialogTracker()
    for t, message in flows.answered_call()[:5]:
        tracker.feed(sip.parse(message), EPOCH + t)
    for n in range(3, 2000):
        tracker.feed(
            sip.parse(flows.request("INFO", n, **flows.IN_DIALOG_FROM_CUSTOMER)), EPOCH + 10
        )
    [dialog] = tracker._dialogs.values()
    assert len(dialog.seen) < 10


def test_a_tab_in_cseq_is_whitespace_and_a_huge_number_is_refused() -> None:
    tabbed = sip.parse(b"BYE sip:x SIP/2.0\r\nCall-ID: a\r\nCSeq: 1\tBYE\r\n\r\n")
    assert tabbed.cseq == (1, "BYE")
    with pytest.raises(sip.SipError):
        sip.parse(b"BYE sip:x SIP/2.0\r\nCall-ID: a\r\nCSeq: " + b"9" * 5000 + b" BYE\r\n\r\n")


def test_a_hep_time_chunk_of_the_wrong_size_is_refused() -> None:
    good = hep.encode(b"x", source=PHONE, destination=PROXY, captured_at=EPOCH)
    at = good.index(b"\x00\x00\x00\x09\x00\x0a")  # the seconds chunk: vendor 0, type 9, 10 bytes
    bad = good[:at] + b"\x00\x00\x00\x09\x00\xce" + b"\xff" * 200 + good[at + 10 :]
    bad = bad[:4] + len(bad).to_bytes(2, "big") + bad[6:]
    with pytest.raises(hep.HepError, match="not 4"):
        hep.decode(bad)


def test_a_display_name_that_is_not_utf8_still_counts() -> None:
    raw = flows.request("INVITE", 1, from_='"X" <sip:0912345678@x>;tag=cust1').replace(
        b'"X"', b'"\xe9"'
    )
    assert sip.parse(raw).from_user == "0912345678"  # \xe9 alone is Latin-1, not UTF-8


def test_hold_is_read_from_the_audio_section_and_ipv6_null_addresses() -> None:
    audio_held = (
        b"v=0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\nm=video 4002 RTP/AVP 96\r\na=sendrecv\r\n"
    )
    ipv6_held = b"v=0\r\nc=IN IP6 ::\r\nm=audio 4000 RTP/AVP 0\r\n"
    for body, direction in ((audio_held, "sendonly"), (ipv6_held, "inactive")):
        message = sip.SipMessage("INVITE", None, {"call-id": "a", "cseq": "2 INVITE"}, body)
        assert message.sdp_direction == direction


def test_the_collector_can_require_the_pbx_s_hep_password() -> None:
    from callsop.telephony.collector import Collector

    events: list[CallEvent] = []
    collector = Collector(events.append, auth_key=b"s3cret")
    message = flows.request("INVITE", 1, sdp="sendrecv")
    collector.feed(hep.encode(message, source=PHONE, destination=PROXY, captured_at=EPOCH))
    collector.feed(
        hep.encode(message, source=PHONE, destination=PROXY, captured_at=EPOCH, auth_key=b"guess")
    )
    assert events == [] and collector.counts["wrong password"] == 2
    collector.feed(
        hep.encode(message, source=PHONE, destination=PROXY, captured_at=EPOCH, auth_key=b"s3cret")
    )
    assert [e.kind for e in events] == ["offered"]


def test_an_answer_names_the_phone_that_picked_up() -> None:
    from callsop.telephony import sip
    from callsop.telephony.dialogs import DialogTracker
    from tests.telephony import flows

    tracker = DialogTracker()
    tracker.feed(sip.parse(flows.request("INVITE", 1, sdp="sendrecv")), 0.0)
    ok = flows.response(200, "OK", 1).replace(
        b"Content-Length", b"Contact: <sip:101@192.0.2.9:5090>\r\nContent-Length"
    )
    (answered,) = tracker.feed(sip.parse(ok), 5.0)
    assert (answered.kind, answered.target) == ("answered", "101")
