"""The collector over a real UDP socket on loopback, as the PBX reaches it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from callsop.telephony import hep
from callsop.telephony.collector import Collector
from callsop.telephony.dialogs import CallEvent
from tests.helpers import ROOT
from tests.telephony import flows
from tests.telephony.hep_replay import Telephony, listening, recorded, restamp, restamped

PHONE, PROXY = ("192.0.2.4", 5060), ("192.0.2.10", 5060)
NOW = 1_796_000_000.0


def _packets(start: float) -> list[bytes]:
    return [
        hep.encode(m, source=PHONE, destination=PROXY, captured_at=start + t)
        for t, m in flows.answered_call()
    ]


def test_bad_datagrams_are_counted_and_the_call_still_comes_through() -> None:
    events: list[CallEvent] = []
    collector = Collector(events.append, clock=lambda: NOW + 40)
    good = _packets(NOW)
    bad = [
        b"",
        b"\x00" * 64,
        good[0][:40],  # truncated HEP
        hep.encode(b"not sip at all", source=PHONE, destination=PROXY, captured_at=NOW),
        hep.encode(b"x", source=PHONE, destination=PROXY, captured_at=NOW, protocol_type=5),
    ]
    with listening(collector) as udp:
        udp.send([*bad, *good])
    assert [e.kind for e in events] == flows.ANSWERED_CALL_EVENTS
    assert [e.at - NOW for e in events] == pytest.approx([0.0, 0.1, 7.5, 20.0, 54.0, 80.0])
    assert collector.counts["not HEP"] == 3
    assert collector.counts["bad SIP"] == 1
    assert collector.counts["not SIP"] == 1


def test_the_command_hears_a_call_on_udp_and_prints_its_events() -> None:
    with Telephony() as telephony:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.sendto(b"garbage", telephony.address)
        now = time.time()
        for datagram in _packets(now - 40):  # the call's 80 s, around now
            sender.sendto(datagram, telephony.address)
        lines = [telephony.next_event()[1] for _ in flows.ANSWERED_CALL_EVENTS]
        errors = telephony.stop()
    assert [line["kind"] for line in lines] == flows.ANSWERED_CALL_EVENTS
    assert lines[-1]["by"] == "caller" and lines[0]["caller"] == "0912345678"
    assert all(line["emitted_at"] - now < 5 for line in lines)
    assert "not HEP 1" in errors and "events 6" in errors


def test_a_bad_listen_address_is_a_usage_error() -> None:
    command = [sys.executable, "-m", "callsop", "telephony", "--listen", "nowhere"]
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, check=False, timeout=30
    )
    assert result.returncode == 2
    assert "--listen: expected HOST:PORT" in result.stderr


# Recorded Asterisk HEP, moved to the present.


def test_restamping_a_recorded_packet_changes_its_capture_time_and_nothing_else() -> None:
    for _, datagram in recorded("hold-resume"):
        moved = restamp(datagram, NOW + 0.25)
        before, after = hep.decode(datagram), hep.decode(moved)
        assert after.captured_at == pytest.approx(NOW + 0.25)
        assert (after.source, after.destination, after.payload) == (
            before.source,
            before.destination,
            before.payload,
        )
        assert (after.auth_key, after.capture_id, after.correlation_id) == (
            b"hep-s3cret",
            before.capture_id,
            before.correlation_id,
        )
        assert len(moved) == len(datagram)
        assert sum(a != b for a, b in zip(moved, datagram, strict=True)) <= 8  # two 4-byte values


def test_restamping_refuses_what_is_not_a_whole_hep_packet() -> None:
    _, datagram = recorded("hold-resume")[0]
    with pytest.raises(hep.HepError, match="truncated"):
        restamp(datagram[:-1], NOW)
    no_time = datagram.replace(b"\x00\x00\x00\x09\x00\x0a", b"\x00\x00\x00\x7f\x00\x0a", 1)
    with pytest.raises(hep.HepError, match="no timestamp"):
        restamp(no_time, NOW)


def test_a_recorded_asterisk_call_moved_to_now_is_heard_with_its_hold() -> None:
    events: list[CallEvent] = []
    collector = Collector(events.append, auth_key=b"hep-s3cret")
    with listening(collector) as udp:
        udp.send(restamped("hold-resume", time.time() - 15))  # its 29 s, around now
    assert "time out of range" not in collector.counts
    kinds = [e.kind for e in events]
    assert kinds.count("hold") == kinds.count("resume") == 1
    assert kinds[-1] == "hangup"
    [hold] = [e for e in events if e.kind == "hold"]
    [resume] = [e for e in events if e.kind == "resume"]
    assert resume.at - hold.at == pytest.approx(20.0, abs=0.5)  # 101 held from 6 s to 26 s
