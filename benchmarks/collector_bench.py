"""How many SIP messages a second the HEP collector keeps up with, and how
soon each call event comes out.

Starts `callsop telephony` (one process, one core), then replays a recorded
stream of calls as HEP over UDP loopback at rising rates: every call's eleven
messages, each mirrored twice as a proxy does, plus OPTIONS keep-alives. For
each rate it prints the rate reached, events expected and received, and the
latency from a message's capture to its event leaving the collector (50th
and 99th percentile). Target: 2,000 messages a second, 99% under 200 ms.

    python benchmarks/collector_bench.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.telephony import flows

from callsop.telephony import hep

RATES = (1000, 2000, 4000, 8000, 16000, 32000)
EVENTS_PER_CALL = 6  # offered, ringing, answered, hold, resume, hangup
PHONE, PROXY, DESK = ("192.0.2.4", 5060), ("192.0.2.10", 5060), ("192.0.2.20", 5062)


def call_messages(n: int) -> list[bytes]:
    """Call n's messages in order, each twice (into and out of the proxy),
    with an OPTIONS keep-alive after every call."""
    call_id = f"bench-{n}@192.0.2.4"
    out = []
    for _, message in flows.answered_call():
        out += [message.replace(flows.CALL_ID.encode(), call_id.encode())] * 2
    out.append(flows.request("OPTIONS", n, call_id=f"keepalive-{n}"))
    return out


def replay(port: int, rate: int, seconds: float, first_call: int) -> tuple[int, int, float]:
    """Sends at `rate` messages a second for `seconds`; returns (messages,
    calls, seconds it took)."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    total, calls, began = 0, 0, time.perf_counter()
    while total < rate * seconds:
        for i, message in enumerate(call_messages(first_call + calls)):
            hop = (PHONE, PROXY) if i % 2 == 0 else (PROXY, DESK)
            sender.sendto(
                hep.encode(message, source=hop[0], destination=hop[1], captured_at=time.time()),
                ("127.0.0.1", port),
            )
            total += 1
            lag = total / rate - (time.perf_counter() - began)
            if lag > 0.002:
                time.sleep(lag)
        calls += 1
    return total, calls, time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    command = [sys.executable, "-m", "callsop", "telephony", "--listen", "127.0.0.1:0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stderr is not None
    port = int(server.stderr.readline().rsplit(":", 1)[1])
    latencies: list[float] = []
    lock = threading.Lock()

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            event = json.loads(line)
            with lock:
                latencies.append(event["emitted_at"] - event["at"])

    threading.Thread(target=read, daemon=True).start()
    print(f"{'rate asked':>10} {'reached':>9} {'events':>15} {'p50 ms':>8} {'p99 ms':>8}")
    met = True
    first_call = 0
    for rate in RATES:
        with lock:
            latencies.clear()
        sent, calls, took = replay(port, rate, args.seconds, first_call)
        first_call += calls
        time.sleep(1.0)  # let the last events out
        with lock:
            got = sorted(latencies)
        expected = calls * EVENTS_PER_CALL
        p50 = got[len(got) // 2] * 1000 if got else float("nan")
        p99 = got[int(len(got) * 0.99)] * 1000 if got else float("nan")
        print(f"{rate:>10} {sent / took:>9.0f} {len(got):>7}/{expected:<7} {p50:>8.1f} {p99:>8.1f}")
        if rate <= 2000 and (len(got) < expected or p99 >= 200):
            met = False
    server.terminate()
    _, heard = server.communicate(timeout=10)
    print(heard.strip().removeprefix("callsop: "))
    print("target (2,000 messages/s, all events, p99 < 200 ms):", "met" if met else "MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
