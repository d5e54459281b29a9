"""The collector over a real UDP socket on loopback, as the PBX reaches it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

from callsop.telephony import hep
from callsop.telephony.collector import Collector
from callsop.telephony.dialogs import CallEvent
from tests.helpers import ROOT
from tests.telephony import flows

PHONE, PROXY = ("192.0.2.4", 5060), ("192.0.2.10", 5060)


def _packets(start: float) -> list[bytes]:
    return [
        hep.encode(m, source=PHONE, destination=PROXY, captured_at=start + t)
        for t, m in flows.answered_call()
    ]


def test_bad_datagrams_are_counted_and_the_call_still_comes_through() -> None:
    events: list[CallEvent] = []
    collector = Collector(events.append)
    good = _packets(1_795_000_000.0)
    bad = [
        b"",
        b"\x00" * 64,
        good[0][:40],  # truncated HEP
        hep.encode(b"not sip at all", source=PHONE, destination=PROXY, captured_at=1.0),
        hep.encode(b"x", source=PHONE, destination=PROXY, captured_at=1.0, protocol_type=5),
    ]
    for datagram in [*bad, *good]:
        collector.feed(datagram)
    assert [e.kind for e in events] == flows.ANSWERED_CALL_EVENTS
    assert collector.counts["not HEP"] == 3
    assert collector.counts["bad SIP"] == 1
    assert collector.counts["not SIP"] == 1


def test_the_command_hears_a_call_on_udp_and_prints_its_events() -> None:
    command = [sys.executable, "-m", "callsop", "telephony", "--listen", "127.0.0.1:0"]
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True
    )
    try:
        assert server.stderr is not None and server.stdout is not None
        said = server.stderr.readline()
        assert said.startswith("callsop: listening for HEP on 127.0.0.1:")
        port = int(said.rsplit(":", 1)[1])
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.sendto(b"garbage", ("127.0.0.1", port))
        now = time.time()
        for datagram in _packets(now):
            sender.sendto(datagram, ("127.0.0.1", port))
        lines = []
        deadline = time.monotonic() + 20
        while len(lines) < 6 and time.monotonic() < deadline:
            line = server.stdout.readline()
            if line:
                lines.append(json.loads(line))
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=10)
    assert [line["kind"] for line in lines] == flows.ANSWERED_CALL_EVENTS
    assert lines[-1]["by"] == "caller" and lines[0]["caller"] == "0912345678"
    assert all(line["emitted_at"] - now < 5 for line in lines)
    assert server.returncode == 0
    assert "not HEP 1" in errors and "events 6" in errors


def test_a_bad_listen_address_is_a_usage_error() -> None:
    command = [sys.executable, "-m", "callsop", "telephony", "--listen", "nowhere"]
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, check=False, timeout=30
    )
    assert result.returncode == 2
    assert "--listen: expected HOST:PORT" in result.stderr
