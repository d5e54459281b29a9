"""A baresip phone for the SIP lab, driven over its ctrl_tcp interface
(netstrings of JSON: commands in, responses and call events out).

No sound device is needed: the microphone is a WAV file (the `aufile`
source: silence unless the phone is given a track to speak), the codec is
G.711 µ-law (PCMU) as on a PBX, and a phone that records keeps both legs of
its call through the `sndfile` filter, what it sent and what it received,
as 8 kHz WAV files. Debian's baresip 1.0 has no file player (its `aufile`
is a source only), so what a phone hears is only what `sndfile` keeps."""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import socket
import subprocess
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODULES = Path("/usr/lib/baresip/modules")
RATE = 8000  # G.711's rate: the source file must be at the codec's rate


def _netstring(obj: dict[str, Any]) -> bytes:
    body = json.dumps(obj).encode()
    return str(len(body)).encode() + b":" + body + b","


def _silence(path: Path, seconds: float = 60.0) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"\0" * int(2 * RATE * seconds))
    return path


@dataclass(frozen=True)
class Legs:
    """One call's recording at a phone: what it sent and what it received."""

    sent: Path
    received: Path


class Baresip:
    def __init__(
        self,
        folder: Path,
        *,
        name: str,
        sip_port: int,
        ctrl_port: int,
        speaks: Path | None = None,
        records: bool = False,
    ) -> None:
        """`speaks`: a mono 16-bit 8 kHz WAV the phone plays into its calls
        (long enough for the call: the source ends the call's audio at its
        end); `records`: keep each call's two legs (see `legs`)."""
        assert shutil.which("baresip"), (
            "baresip is not installed: make test installs it from Debian"
        )
        self.folder = folder / name
        self.folder.mkdir(parents=True, exist_ok=True)
        source = speaks if speaks is not None else _silence(self.folder / "silence.wav")
        self.recordings = self.folder / "recorded"
        recorder = []
        if records:
            self.recordings.mkdir(exist_ok=True)
            recorder = ["module sndfile.so", f"snd_path {self.recordings}"]
        (self.folder / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen 127.0.0.1:{sip_port}",
                    f"audio_source aufile,{source}",
                    f"module_path {MODULES}",
                    "module g711.so",
                    "module aufile.so",
                    *recorder,
                    "module_app account.so",
                    "module_app menu.so",
                    "module_app ctrl_tcp.so",
                    f"ctrl_tcp_listen 127.0.0.1:{ctrl_port}",
                    "",
                ]
            ),
            "utf-8",
        )
        (self.folder / "accounts").write_text(
            f"<sip:{name}@127.0.0.1:{sip_port};transport=udp>;regint=0;answermode=manual;audio_codecs=PCMU\n",
            "utf-8",
        )
        with (self.folder / "baresip.log").open("wb") as log:  # for a failing test's reader
            self.process = subprocess.Popen(
                ["baresip", "-f", str(self.folder)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._socket = self._connect(ctrl_port)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _connect(self, port: int) -> socket.socket:
        deadline = time.monotonic() + 30  # a loaded two-core machine starts it slowly
        while True:
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=1)
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    log = (self.folder / "baresip.log").read_text("utf-8", "replace")
                    raise AssertionError(
                        f"baresip did not start (exit {self.process.poll()}):\n{log[-2000:]}"
                    ) from None
                time.sleep(0.05)

    def _read(self) -> None:
        buffer = b""
        self._socket.settimeout(None)
        while True:
            try:
                data = self._socket.recv(65536)
            except OSError:
                return
            if not data:
                return
            buffer += data
            while b":" in buffer:
                size, _, rest = buffer.partition(b":")
                length = int(size)
                if len(rest) < length + 1:
                    break
                message = json.loads(rest[:length])
                buffer = rest[length + 1 :]
                if message.get("event"):
                    self.events.put(message)

    def command(self, command: str, params: str = "") -> None:
        self._socket.sendall(_netstring({"command": command, "params": params, "token": command}))

    def wait_for(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next call event of this type (CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED…)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"baresip {self.folder.name}: no {kind} within {timeout} s")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if event.get("type") == kind:
                return event

    def legs(self) -> Legs:
        """The recorded call's two legs (sndfile names them dump-<time>-enc.wav
        for what was sent, -dec.wav for what was received). Call it once the
        phone has stopped, when the files are complete."""
        assert self.process.poll() is not None, "stop the phone before reading its recording"
        sent = sorted(self.recordings.glob("dump-*-enc.wav"))
        received = sorted(self.recordings.glob("dump-*-dec.wav"))
        assert len(sent) == 1 and len(received) == 1, (
            f"baresip {self.folder.name}: expected one recorded call, found "
            f"{[p.name for p in sent + received]}"
        )
        return Legs(sent=sent[0], received=received[0])

    def log(self) -> str:
        """What baresip printed: its audio pipelines, codecs and call progress."""
        return (self.folder / "baresip.log").read_text("utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.command("quit")
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._socket.close()
