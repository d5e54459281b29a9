"""Uploads are limited while they arrive: a file past the limit is refused
with the field named, and the server never holds it whole."""

from __future__ import annotations

import sys
import time
import tracemalloc
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import ClientHandler
from django.utils import timezone

from callsop.desk.models import Call
from callsop.desk.services import calls as svc
from callsop.desk.uploads import UPLOAD_MAX_BYTES
from tests.desk.conftest import World

BOUNDARY = "callsop-test-boundary"
MB = 1_000_000


class MultipartBody:
    """A multipart/form-data body of one file of `size` bytes, made as it is
    read: the test itself never holds the upload."""

    def __init__(self, field: str, name: str, size: int) -> None:
        self.head = (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            "Content-Type: text/vtt\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.size = size
        self.length = len(self.head) + size + len(self.tail)
        self.at = 0

    def _byte_source(self, start: int, end: int) -> bytes:
        head, body_end = len(self.head), len(self.head) + self.size
        out = b""
        if start < head:
            out += self.head[start : min(end, head)]
        if end > head and start < body_end:
            out += b"a" * (min(end, body_end) - max(start, head))
        if end > body_end:
            out += self.tail[max(start, body_end) - body_end : end - body_end]
        return out

    def read(self, size: int = -1) -> bytes:
        end = self.length if size is None or size < 0 else min(self.length, self.at + size)
        data = self._byte_source(self.at, end)
        self.at = end
        return data

    def readline(self, size: int = -1) -> bytes:  # the parser reads by size; kept for WSGI
        return self.read(size)


def _ended(world: World) -> Call:
    start = timezone.now() - timedelta(minutes=5)
    call = svc.call_ring(club=world.xinyi, phone="0912", now=start)
    svc.call_answer(call=call, clerk=world.alice, now=start + timedelta(seconds=4))
    return svc.call_end(by="customer", call=call, now=start + timedelta(seconds=60))


def _post_streamed(world: World, path: str, body: MultipartBody) -> Any:
    client = world.client(world.alice)  # logged in: its session cookie goes along
    cookie = SimpleCookie(client.cookies)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "HTTP_COOKIE": "; ".join(f"{k}={m.value}" for k, m in cookie.items()),
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "CONTENT_LENGTH": str(body.length),
        "wsgi.input": body,
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    return ClientHandler(enforce_csrf_checks=False)(environ)


def test_a_200_mb_transcript_is_refused_without_holding_it(world: World) -> None:
    call = _ended(world)
    body = MultipartBody("transcript", "huge.vtt", 200 * MB)
    tracemalloc.start()
    try:
        response = _post_streamed(world, f"/calls/{call.pk}/transcript/", body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    page = response.content.decode()
    assert response.status_code == 400
    assert "huge.vtt" in page and "檔案太大" in page
    assert body.at == body.length  # read to its end, and dropped as it came
    assert peak < 20 * MB, f"the server held {peak / MB:.0f} MB for a 200 MB upload"
    assert Call.objects.get(pk=call.pk).utterances == []


def test_one_byte_past_the_limit_is_refused_and_nothing_kept(world: World) -> None:
    call = _ended(world)
    body = MultipartBody("transcript", "over.vtt", UPLOAD_MAX_BYTES + 1)
    response = _post_streamed(world, f"/calls/{call.pk}/transcript/", body)
    assert response.status_code == 400
    assert "over.vtt: 檔案太大（上限 2 MB）" in response.content.decode()
    call.refresh_from_db()
    assert call.utterances == [] and not call.amendments.exists()


def test_a_file_at_the_limit_is_read_whole(world: World) -> None:
    """Exactly at the limit, the file is kept and read: here refused for
    its content (no WEBVTT line), not for its size."""
    call = _ended(world)
    body = MultipartBody("transcript", "full.vtt", UPLOAD_MAX_BYTES)
    response = _post_streamed(world, f"/calls/{call.pk}/transcript/", body)
    page = response.content.decode()
    assert response.status_code == 400
    assert "full.vtt" in page and "檔案太大" not in page


def test_a_cue_of_two_megabytes_of_angle_brackets_is_read_and_scored_at_once(
    world: World,
) -> None:
    """It once took the VTT reader minutes, inside the upload's transaction."""
    call = _ended(world)
    head = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v staff>"
    text = head + "<" * (UPLOAD_MAX_BYTES - len(head))
    upload = SimpleUploadedFile("attack.vtt", text.encode(), content_type="text/vtt")
    start = time.monotonic()
    response = world.client(world.alice).post(
        f"/calls/{call.pk}/transcript/", {"transcript": upload}
    )
    took = time.monotonic() - start
    assert response.status_code == 303
    assert took < 10, f"{took:.1f} s"
    [utterance] = Call.objects.get(pk=call.pk).utterances
    assert utterance["speaker"] == "staff" and len(utterance["text"]) == len(text) - len(head)
