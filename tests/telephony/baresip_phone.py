"""A baresip phone for the SIP lab, driven over its ctrl_tcp interface
(netstrings of JSON: commands in, responses and call events out).

Audio is a file of silence in and a file out, so no sound device is needed."""

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
from pathlib import Path
from typing import Any

MODULES = Path("/usr/lib/baresip/modules")


def _netstring(obj: dict[str, Any]) -> bytes:
    body = json.dumps(obj).encode()
    return str(len(body)).encode() + b":" + body + b","


class Baresip:
    def __init__(self, folder: Path, *, name: str, sip_port: int, ctrl_port: int) -> None:
        assert shutil.which("baresip"), (
            "baresip is not installed: make test installs it from Debian"
        )
        self.folder = folder / name
        self.folder.mkdir(parents=True, exist_ok=True)
        silence = self.folder / "silence.wav"
        with wave.open(str(silence), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\0" * 16000 * 60)
        (self.folder / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen 127.0.0.1:{sip_port}",
                    f"audio_source aufile,{silence}",
                    f"audio_player aufile,{self.folder / 'heard.wav'}",
                    f"module_path {MODULES}",
                    "module g711.so",
                    "module aufile.so",
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
            f"<sip:{name}@127.0.0.1:{sip_port};transport=udp>;regint=0;answermode=manual\n", "utf-8"
        )
        self.process = subprocess.Popen(
            ["baresip", "-f", str(self.folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._socket = self._connect(ctrl_port)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _connect(self, port: int) -> socket.socket:
        deadline = time.monotonic() + 10
        while True:
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=1)
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError("baresip did not start") from None
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

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.command("quit")
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._socket.close()
