"""Every parser of outside input runs in time linear in its input and fails
only with its own clear error.

Each parser gets adversarial inputs (long runs of one character, deep
nesting, many tags, many tiny pieces) at two sizes, the second twice the
first: the larger must take less than three times as long (plus a little,
for the noise of a shared machine); a quadratic parser takes four times as
long, and at these sizes seconds more. Random inputs built from each
format's own pieces must either parse or raise the parser's error.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callsop.policy import PolicyError, parse_policy
from callsop.record.reader import Loaded, Refusal, read_bytes
from callsop.record.vtt import VttError, parse_vtt
from callsop.telephony import hep, sip
from callsop.telephony.ami import AmiTracker
from callsop.telephony.dialogs import CallEvent
from tests.helpers import dumps, make_record

FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
SLACK_S = 0.02  # what a busy machine may still add to a run
MEASURABLE_S = 0.06  # well above the slack: a quadratic parser takes 4 times as long


def _best_of_three(run: Callable[[], object]) -> float:
    """CPU seconds, the least of three runs: what other processes of a busy
    machine take does not count, nor (as in timeit) the garbage collector,
    whose full passes cost as much as the whole test run's heap, not the input."""
    best = float("inf")
    collecting = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            start = time.process_time()
            run()
            best = min(best, time.process_time() - start)
    finally:
        if collecting:
            gc.enable()
    return best


def _assert_linear(parse: Callable[[Any], object], make: Callable[[int], Any], n: int) -> None:
    """From size `n`, doubled (up to 16 n) until a run is long enough to
    time above the noise, then compared with twice that size."""
    t1 = _best_of_three(partial(parse, make(n)))
    for _ in range(4):
        if t1 >= MEASURABLE_S:
            break
        n *= 2
        t1 = _best_of_three(partial(parse, make(n)))
    t2 = _best_of_three(partial(parse, make(2 * n)))
    if t2 >= 3 * t1 + SLACK_S:  # measured once more: a quadratic parser fails both times
        t1 = min(t1, _best_of_three(partial(parse, make(n))))
        t2 = min(t2, _best_of_three(partial(parse, make(2 * n))))
    assert t2 < 3 * t1 + SLACK_S, f"{n} -> {2 * n}: {t1:.3f} s -> {t2:.3f} s"


# WebVTT

CUE = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v staff>"


def _vtt(text: str) -> object:
    try:
        return parse_vtt(text)
    except VttError as exc:
        return exc


VTT_ATTACKS: dict[str, Callable[[int], str]] = {
    "a run of <": lambda n: CUE + "<" * n,
    "a run of </": lambda n: CUE + "</" * (n // 2),
    "unclosed voice spans": lambda n: CUE + "<v " * (n // 3),
    "voice classes": lambda n: CUE + "<v." * (n // 3),
    "a long voice class": lambda n: CUE + "<v." + "a" * n,
    "many closed tags": lambda n: CUE + "<i>x</i>" * (n // 8),
    "digits in a timing": lambda n: "WEBVTT\n\n" + "1" * n + " --> 00:00:02.000\n<v staff>x",
    "spaces in a timing": lambda n: "WEBVTT\n\n00:00:01.000" + " " * n + "x-->\n<v staff>x",
    "many arrows": lambda n: "WEBVTT\n\n" + "-->" * (n // 3) + "\n<v staff>x",
    "many cues": lambda n: (
        "WEBVTT\n\n" + "00:00:01.000 --> 00:00:02.000\n<v staff>a\n\n" * (n // 44)
    ),
    "blank lines": lambda n: "WEBVTT" + "\n" * n,
    "carriage returns": lambda n: "WEBVTT" + "\r" * n,
    "a long note": lambda n: "WEBVTT\n\nNOTE callsop\n" + "a: b\n" * (n // 5),
}


@pytest.mark.parametrize("attack", VTT_ATTACKS)
def test_webvtt_is_linear(attack: str) -> None:
    _assert_linear(_vtt, VTT_ATTACKS[attack], 100_000)


def test_a_2_mb_cue_of_angle_brackets_reads_in_under_a_second() -> None:
    text = CUE + "<" * 2_000_000
    took = _best_of_three(lambda: read_bytes("attack.vtt", text.encode()))
    assert took < 1.0, f"{took:.2f} s"
    [item] = list(read_bytes("attack.vtt", text.encode()))
    assert isinstance(item, Refusal) and "too large" in item.message  # past 2,000,000 bytes
    [item] = list(read_bytes("attack.vtt", text[:1_999_000].encode()))
    assert isinstance(item, Loaded) and item.record.utterances[0].text.startswith("<<<")


VTT_PIECES = [
    "WEBVTT", "\n", "\n\n", "\r\n", "\r", " ", "\t", "00:00:01.000", "01:02:03.456", "99:59.999",
    "-->", " --> ", "<v staff>", "<v customer>", "<v.loud other>", "<v nobody>", "<v ", "<", ">",
    "</v>", "<i>", "NOTE", "NOTE callsop", "id: x", "started_at: 2026-11-27T10:00:00+08:00",
    "started_at: soon", "direction: sideways", "STYLE", "REGION", "\ufeff", "\u2028", "您好", ":",
]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(VTT_PIECES), max_size=60).map("".join))
def test_random_webvtt_reads_or_is_refused(text: str) -> None:
    for data in (text.encode(), ("WEBVTT\n\n" + text).encode()):
        items = list(read_bytes("random.vtt", data))
        assert len(items) == 1 and isinstance(items[0], (Loaded, Refusal))


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_webvtt_are_refused_not_a_crash(data: bytes) -> None:
    items = list(read_bytes("random.vtt", b"WEBVTT\n\n" + data))
    assert len(items) == 1 and isinstance(items[0], (Loaded, Refusal))


# JSON and JSON Lines records

RECORD = dumps(make_record(id="r"))


def _json(source: str) -> Callable[[str], list[object]]:
    return lambda text: list(read_bytes(source, text.encode()))


JSON_ATTACKS: dict[str, tuple[str, Callable[[int], str]]] = {
    "deep lists": ("a.json", lambda n: "[" * (n // 2) + "]" * (n // 2)),
    "deep objects": ("a.json", lambda n: '{"a":' * (n // 5) + "1" + "}" * (n // 5)),
    "deep in a line": ("a.jsonl", lambda n: RECORD[:-1] + ',"x":' + "[" * (n // 2) + "}"),
    "a long string": ("a.json", lambda n: RECORD[:-1] + ',"x":"' + "a" * n + '"}'),
    "escapes": ("a.json", lambda n: RECORD[:-1] + ',"x":"' + "\\u00e9" * (n // 6) + '"}'),
    "a long number": ("a.json", lambda n: RECORD[:-1] + ',"x":' + "9" * n + "}"),
    "many keys": ("a.json", lambda n: RECORD[:-1] + "".join(f',"k{i}":0' for i in range(n // 9)) + "}"),
    "many lines": ("a.jsonl", lambda n: (RECORD + "\n") * (n // len(RECORD))),
    "many bad lines": ("a.jsonl", lambda n: '{"id":"x"\n' * (n // 11)),
    "an array of records": ("a.json", lambda n: "[" + ",".join([RECORD] * (n // len(RECORD))) + "]"),
    "an array of brackets": ("a.json", lambda n: "[" + "[]," * (n // 3) + "[]]"),
    "blank lines": ("a.jsonl", lambda n: "\n" * n),
    "lines of braces": ("a.json", lambda n: "{\n" * (n // 2)),
}  # fmt: skip


@pytest.mark.parametrize("attack", JSON_ATTACKS)
def test_json_records_are_linear(attack: str) -> None:
    source, make = JSON_ATTACKS[attack]
    _assert_linear(_json(source), make, 25_000)


JSON_PIECES = [
    "{", "}", "[", "]", ",", ":", '"id"', '"r"', '"schema"', '"callsop.call/1"', '"events"',
    '"utterances"', '"started_at"', '"2026-11-27T10:00:00+08:00"', '"t"', "1e999", "-0", "0.5",
    "null", "true", '"\\ud800"', '"\\u0000"', "\n", " ", RECORD, RECORD[:40], '"您好"', "\x00",
    "[" * 5_000, '{"a":' * 2_000,
]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(JSON_PIECES), max_size=40).map("".join), st.booleans())
def test_random_json_reads_or_is_refused(text: str, lines: bool) -> None:
    items = list(read_bytes("random.jsonl" if lines else "random.json", text.encode()))
    assert items and all(isinstance(i, (Loaded, Refusal)) for i in items)


# HEP (a datagram: at most 65,535 bytes)

HEAD = (("10.0.0.1", 5060), ("10.0.0.2", 5060))


def _hep_many(datagrams: list[bytes]) -> None:
    for datagram in datagrams:
        with contextlib.suppress(hep.HepError):
            hep.decode(datagram)


def _chunks(count: int, kind: int = 0x99, vendor: int = 0) -> bytes:
    body = (vendor.to_bytes(2, "big") + kind.to_bytes(2, "big") + (6).to_bytes(2, "big")) * count
    return b"HEP3" + (6 + len(body)).to_bytes(2, "big") + body


HEP_ATTACKS: dict[str, Callable[[int], list[bytes]]] = {
    # n datagrams of the largest kind: time per byte is time per datagram
    "empty chunks": lambda n: [_chunks(10_900)] * (n // 1000),
    "vendor chunks": lambda n: [_chunks(10_900, vendor=7)] * (n // 1000),
    "a huge payload": lambda n: (
        [hep.encode(b"x" * 65_000, source=HEAD[0], destination=HEAD[1], captured_at=1.0)]
        * (n // 1000)
    ),
}


@pytest.mark.parametrize("attack", HEP_ATTACKS)
def test_hep_is_linear(attack: str) -> None:
    _assert_linear(_hep_many, HEP_ATTACKS[attack], 5_000)


def test_a_hep_datagram_of_tiny_chunks_decodes_quickly() -> None:
    took = _best_of_three(lambda: _hep_many([_chunks(10_900)] * 20))
    assert took < 1.0, f"{took:.2f} s for 20 datagrams of 64 KB"


VALID_HEP = hep.encode(
    b"INVITE sip:201@pbx SIP/2.0\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n",
    source=HEAD[0],
    destination=("::1", 5060),
    captured_at=1_764_000_000.25,
    auth_key=b"secret",
)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=300).map(lambda b: b"HEP3" + b),
        st.tuples(st.integers(0, len(VALID_HEP) - 1), st.binary(min_size=1, max_size=8)).map(
            lambda cut: VALID_HEP[: cut[0]] + cut[1] + VALID_HEP[cut[0] + len(cut[1]) :]
        ),
    )
)
def test_random_hep_decodes_or_is_refused(datagram: bytes) -> None:
    try:
        packet = hep.decode(datagram)
    except hep.HepError:
        return
    assert isinstance(packet, hep.HepPacket)


# SIP

START = b"INVITE sip:201@pbx SIP/2.0\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n"
SIP_PROPERTIES = (
    "call_id", "cseq", "from_tag", "to_tag", "from_user", "to_user", "contact_user",
    "asserted_user", "refer_to_user", "q850_cause", "sdp_direction",
)  # fmt: skip


def _sip(payload: bytes) -> object:
    try:
        message = sip.parse(payload)
    except sip.SipError as exc:
        return exc
    return [getattr(message, name) for name in SIP_PROPERTIES]


SIP_ATTACKS: dict[str, Callable[[int], bytes]] = {
    "folded lines": lambda n: START + b"Subject: a\r\n" + b" x\r\n" * (n // 4) + b"\r\n",
    "many Q.850 reasons": lambda n: START + b"Reason: " + b"Q.850;" * (n // 6) + b"\r\n\r\n",
    "many causes": lambda n: START + b"Reason: " + b"Q.850;cause =" * (n // 13) + b"\r\n\r\n",
    "many tags": lambda n: START + b"From: " + b";tag" * (n // 4) + b"\r\n\r\n",
    "many uris": lambda n: START + b"From: " + b"sip:" * (n // 4) + b"\r\n\r\n",
    "many headers": lambda n: START + b"X: y\r\n" * (n // 6) + b"\r\n",
    "many media lines": lambda n: START + b"\r\n" + b"m=\n" * (n // 3),
    "many directions": lambda n: START + b"\r\n" + b"a=sendrecv \n" * (n // 12),
    "a long start line": lambda n: b"A" * n + b"\r\n",
    "a spaced start line": lambda n: b"INVITE " + b"a " * (n // 2) + b"\r\n",
}


@pytest.mark.parametrize("attack", SIP_ATTACKS)
def test_sip_is_linear(attack: str) -> None:
    _assert_linear(_sip, SIP_ATTACKS[attack], 50_000)


SIP_PIECES = [
    b"INVITE sip:201@pbx SIP/2.0", b"SIP/2.0 200 OK", b"SIP/2.0 486", b"BYE x SIP/2.0", b"\r\n",
    b"\n", b"\r\n\r\n", b" ", b"\t", b"Call-ID: a", b"i: b", b"CSeq: 1 INVITE", b"CSeq: 99999999999 X",
    b"CSeq: x", b"From: <sip:0912@x>;tag=1", b"t: <tel:201>", b"Reason: Q.850;cause=16",
    b"Reason: SIP;cause=200, Q.850 ; text=x;cause=44", b"v=0", b"c=IN IP4 0.0.0.0",
    b"m=audio 4000 RTP/AVP 0", b"a=sendonly", b"a=inactive", b"\xff\xfe", b":", b";", b"@",
]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(SIP_PIECES), max_size=40).map(b"".join))
def test_random_sip_parses_or_is_refused(payload: bytes) -> None:
    result = _sip(payload)
    assert isinstance(result, (sip.SipError, list))


# AMI (messages already cut into headers by the AMI client)

Message = dict[str, str]


def _ami(messages: list[Message]) -> list[CallEvent]:
    tracker = AmiTracker()
    events: list[CallEvent] = []
    for message in messages:
        events += tracker.feed(message, 1_764_000_000.0)
    return events


def _channels(n: int) -> list[Message]:
    first = {"Event": "Newchannel", "Linkedid": "c", "Uniqueid": "c", "Channel": "PJSIP/201-1"}
    more = [
        {"Event": "Newchannel", "Linkedid": "c", "Uniqueid": f"u{i}", "Channel": f"PJSIP/x-{i}"}
        | {"CallerIDNum": str(i)}
        for i in range(n)
    ]
    dials = [
        {"Event": "DialBegin", "Linkedid": "c", "Channel": "Local/a;2", "DestChannel": f"P/y-{i}"}
        | {"CallerIDNum": "no one", "DestCallerIDNum": str(i)}
        for i in range(n)
    ]
    return [first, *more, *dials]


AMI_ATTACKS: dict[str, Callable[[int], list[Message]]] = {
    "one call of many channels": _channels,
    "many calls": lambda n: [
        {"Event": "Newchannel", "Linkedid": f"c{i}", "Uniqueid": f"c{i}", "Channel": "PJSIP/1-1"}
        for i in range(n)
    ],
    "many transfers": lambda n: (
        _channels(2)
        + [
            {"Event": "BlindTransfer", "TransfererLinkedid": "c", "TransfererChannel": f"T/{i}"}
            for i in range(n)
        ]
    ),
    "long values": lambda n: [
        {"Event": "Hangup", "Linkedid": "c", "Cause": "9" * (n * 10), "Timestamp": "1" * (n * 10)}
    ],
}


@pytest.mark.parametrize("attack", AMI_ATTACKS)
def test_ami_is_linear(attack: str) -> None:
    _assert_linear(_ami, AMI_ATTACKS[attack], 1_000)


AMI_EVENTS = [
    "Newchannel", "DialBegin", "Newstate", "DialEnd", "AgentConnect", "Hold", "Unhold",
    "BlindTransfer", "AttendedTransfer", "HangupRequest", "SoftHangupRequest", "Hangup", "Other",
]  # fmt: skip
AMI_KEYS = [
    "Linkedid", "Uniqueid", "Channel", "DestChannel", "CallerIDNum", "DestCallerIDNum", "Exten",
    "ChannelStateDesc", "DialStatus", "Cause", "Timestamp", "Result", "TransfererLinkedid",
    "TransfererChannel", "TransfereeChannel", "Extension", "Interface", "DialString",
]  # fmt: skip
AMI_VALUES = [
    "c", "c2", "", "PJSIP/201-1", "PJSIP/trunk-2", "Local/a;1", "Local/a;2", "201", "<unknown>",
    "s", "Ringing", "Up", "Down", "ANSWER", "BUSY", "44", "x", "nan", "inf", "-1e300", "Success",
]  # fmt: skip

AMI_MESSAGE = st.builds(
    lambda event, fields: {"Event": event, **fields},
    st.sampled_from(AMI_EVENTS),
    st.dictionaries(st.sampled_from(AMI_KEYS), st.sampled_from(AMI_VALUES), max_size=8),
)


@FUZZ
@given(st.lists(AMI_MESSAGE, max_size=40))
def test_random_ami_messages_give_call_events_not_a_crash(messages: list[Message]) -> None:
    assert all(isinstance(e, CallEvent) for e in _ami(messages))


# The club's policy (TOML), as the desk imports it and `callsop score --policy` reads it


def _policy(text: str) -> object:
    try:
        return parse_policy(text, "policy.toml")
    except PolicyError as exc:
        return exc


POLICY_ATTACKS: dict[str, Callable[[int], str]] = {
    "one long dotted key": lambda n: "a" + ".a" * (n // 2) + " = 1",
    "many 16-part keys": lambda n: ("t" + ".k" * 15 + " = 1\n") * (n // 34),
    "deep brackets": lambda n: "x = " + "[" * n,
    "deep inline tables": lambda n: "x = " + "{a = " * (n // 5),
    "a long phrase": lambda n: '[phrases]\ngreeting = ["' + "您好" * (n // 2) + '"]\n',
}


@pytest.mark.parametrize("attack", POLICY_ATTACKS)
def test_policy_toml_is_linear(attack: str) -> None:
    _assert_linear(_policy, POLICY_ATTACKS[attack], 4_000)


def test_a_policy_too_big_or_too_deep_is_refused_by_name() -> None:
    for text, words in [
        ("x = 1\n" * 12_000, "too long"),
        ("a" + ".a" * 20 + " = 1", "dotted parts"),
        ("x = " + "[" * 100, "nested more than"),
        ("x = " + "{a = " * 100, "nested more than"),
    ]:
        with pytest.raises(PolicyError, match=words):
            parse_policy(text, "policy.toml")


POLICY_PIECES = ["[timing]\n", "max_hold_s = ", "45", "1e-300", "nan", '"x"', "[", "]", "{", "}",
                 ".", "a", " = ", "\n", ",", '"""', "#", "[[phrases]]\n"]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(POLICY_PIECES), max_size=60).map("".join))
def test_random_policy_text_reads_or_is_refused(text: str) -> None:
    with contextlib.suppress(PolicyError):
        parse_policy(text, "policy.toml")
