"""A TCP server that speaks AMI's side of the conversation from a text file of
AMI events: the banner, the login reply, then the events as written.

It can drop the connection after a number of events, as a restarting PBX or
a broken network would; the next connection goes on from there."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

BANNER = b"Asterisk Call Manager/7.0.3\r\n"


def blocks(path: Path) -> list[str]:
    """The file's events, one text block each (blank lines between them)."""
    text = path.read_text("utf-8").replace("\r\n", "\n")
    return [b.strip() for b in text.split("\n\n") if b.strip()]


class AmiReplay:
    def __init__(
        self,
        events: list[str],
        *,
        secret: str,
        drop_after: int | None = None,
        banner: bytes = BANNER,
        pace_s: float = 0.01,
    ) -> None:
        self.events = events
        self.banner = banner
        self.pace_s = pace_s
        self.secret = secret
        self.drop_after = drop_after
        self.sent = 0
        self.logins: list[bool] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self.banner)
        await writer.drain()
        try:
            action = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (asyncio.IncompleteReadError, TimeoutError):
            writer.close()
            return
        fields = dict(line.split(": ", 1) for line in action.decode().split("\r\n") if ": " in line)
        ok = fields.get("Action", "").lower() == "login" and fields.get("Secret") == self.secret
        self.logins.append(ok)
        reply = "Success" if ok else "Error"
        message = "Authentication accepted" if ok else "Authentication failed"
        writer.write(
            f"Response: {reply}\r\nActionID: {fields.get('ActionID', '')}\r\n"
            f"Message: {message}\r\n\r\n".encode()
        )
        await writer.drain()
        if not ok:
            writer.close()
            return
        first_connection = len(self.logins) == 1
        while self.sent < len(self.events):
            if first_connection and self.drop_after is not None and self.sent == self.drop_after:
                writer.transport.abort()  # the line goes dead mid-stream
                return
            writer.write(self.events[self.sent].replace("\n", "\r\n").encode() + b"\r\n\r\n")
            await writer.drain()
            self.sent += 1
            await asyncio.sleep(self.pace_s)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.read()  # keep the session open until the client leaves
        writer.close()
