"""HEP sent to the collector as a PBX sends it: over real UDP, to a
collector served in this process or to `callsop telephony`; and recorded
HEP played again as if captured now (the collector believes only capture
times near its own clock, so a replay moves them)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from callsop.telephony import hep
from callsop.telephony.collector import Collector, serve
from tests.helpers import ROOT

ASTERISK_HEP = Path(__file__).resolve().parent / "asterisk" / "hep"

_HEAD = struct.Struct("!4sH")
_CHUNK = struct.Struct("!HHH")
_TIME = struct.Struct("!I")


def restamp(datagram: bytes, at: float) -> bytes:
    """`datagram` with its capture time (the seconds and microseconds
    chunks) set to `at`, every other byte as it was."""
    hep.decode(datagram)  # HepError for anything that is not a whole packet
    out = bytearray(datagram)
    seconds = int(at)
    values = {hep.SECONDS: seconds, hep.MICROSECONDS: round((at - seconds) * 1e6)}
    found = set()
    offset, total = _HEAD.size, _HEAD.unpack_from(datagram)[1]
    while offset < total:
        vendor, kind, length = _CHUNK.unpack_from(datagram, offset)
        if vendor == 0 and kind in values and length == _CHUNK.size + _TIME.size:
            _TIME.pack_into(out, offset + _CHUNK.size, values[kind])
            found.add(kind)
        offset += length
    if hep.SECONDS not in found:
        raise hep.HepError("no 4-byte seconds chunk to restamp")
    return bytes(out)


def recorded(scenario: str) -> list[tuple[float, bytes]]:
    """A scenario's datagrams as Asterisk sent them: (seconds since the
    first, the whole HEP packet)."""
    lines = (ASTERISK_HEP / f"{scenario}.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [(row["rx"] - rows[0]["rx"], base64.b64decode(row["b64"])) for row in rows]


def restamped(scenario: str, start: float) -> list[bytes]:
    """A scenario's datagrams with their capture times moved so that the
    first was captured at `start`, keeping the gaps between them."""
    packets = [(hep.decode(d).captured_at, d) for _, d in recorded(scenario)]
    first = packets[0][0]
    return [restamp(d, start + captured - first) for captured, d in packets]


class Listening:
    """A collector served by `collector.serve` on a loopback port, in a
    thread of its own, and datagrams sent to it from real sockets."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.sent = 0
        self._bound = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        assert self._bound.wait(10), "the collector did not bind"
        self._senders: dict[str, socket.socket] = {}

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        with contextlib.suppress(asyncio.CancelledError):
            await serve(self.collector, "127.0.0.1", 0, ready=self._ready)

    def _ready(self, host: str, port: int) -> None:
        self.address = (host, port)
        self._bound.set()

    def send(self, datagrams: list[bytes], *, sender: str = "127.0.0.1") -> None:
        """Sends `datagrams` from `sender` (any 127.x address), a hundred
        at a time, each hundred heard before the next goes."""
        if sender not in self._senders:
            self._senders[sender] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._senders[sender].bind((sender, 0))
        for start in range(0, len(datagrams), 100):
            for datagram in datagrams[start : start + 100]:
                self._senders[sender].sendto(datagram, self.address)
                self.sent += 1
            self._settle()

    def _settle(self) -> None:
        deadline = time.monotonic() + 10
        while self.collector.counts["datagrams"] < self.sent:
            assert time.monotonic() < deadline, (
                f"{self.collector.counts['datagrams']} of {self.sent} datagrams arrived"
            )
            time.sleep(0.001)
        assert self._loop is not None
        # The loop runs one callback at a time: once this one runs, the
        # datagram counted last has been dealt with too.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self._loop).result(10)

    def close(self) -> None:
        for sender in self._senders.values():
            sender.close()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)


@contextlib.contextmanager
def listening(collector: Collector) -> Iterator[Listening]:
    served = Listening(collector)
    try:
        yield served
    finally:
        served.close()


class Telephony:
    """`callsop telephony --listen` as a process: its event lines, read
    as they come, each with when it was read."""

    def __init__(self) -> None:
        command = [sys.executable, "-m", "callsop", "telephony", "--listen", "127.0.0.1:0"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        said = self.process.stderr.readline()
        assert said.startswith("callsop: listening for HEP on 127.0.0.1:"), said
        self.address = ("127.0.0.1", int(said.rsplit(":", 1)[1]))
        self.lines: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self._errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._errors.extend, args=(self.process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self.lines.put((time.time(), json.loads(line)))

    def __enter__(self) -> Telephony:
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:  # a test that failed before stop()
            self.process.kill()
            self.process.wait(timeout=20)

    def next_event(self, timeout: float = 20.0) -> tuple[float, dict[str, Any]]:
        """The next event line and when it was read; fails after `timeout`."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event line within {timeout} s") from None

    def until(self, call_id: str, timeout: float = 20.0) -> tuple[list[dict[str, Any]], float]:
        """The event lines read before the first of `call_id`'s, and when
        that one was emitted; (all lines read, inf) if none came in time."""
        before: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                _, event = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if event["call_id"] == call_id:
                return before, float(event["emitted_at"])
            before.append(event)
        return before, float("inf")

    def stop(self) -> str:
        """Stops it as SIGTERM does; what it said on standard error."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)
        for reader in self._readers:
            reader.join(10)
        errors = "".join(self._errors)
        assert self.process.returncode == 0, errors
        return errors
