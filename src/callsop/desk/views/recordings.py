"""A call's recordings: the upload, the progress line, and the audio itself
(with HTTP Range, so the player can seek)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from callsop.desk.models import Call, Recording, Staff
from callsop.desk.services.access import call_for, recording_for
from callsop.desk.services.errors import ActionError
from callsop.desk.services.recording_files import CHUNK, recordings_dir
from callsop.desk.services.recordings import may_add_recording, recording_queue, recording_status
from callsop.desk.uploads import RecordingUploadHandler, StoredUpload
from callsop.desk.views.common import hx_redirect, staff_view
from callsop.desk.views.scorecards import scorecard_page


# The upload handler must be in place before anything reads the body, and
# the CSRF check reads it: so the check runs inside, once the handler is set.
@csrf_exempt
@require_POST
@staff_view
def recording_upload(request: HttpRequest, staff: Staff, pk: int) -> HttpResponseBase:
    call = call_for(staff, pk, write=True)
    if not may_add_recording(staff, call):
        error = ActionError("只有接聽的館員或館長可以加入錄音。", field="recording")
        return scorecard_page(request, staff, call, error=error)
    handler = RecordingUploadHandler(request)
    request.upload_handlers = [handler]
    return _checked_upload(request, staff, call, handler)


@csrf_protect
def _upload(
    request: HttpRequest, staff: Staff, call: Call, handler: RecordingUploadHandler
) -> HttpResponse:
    files = [
        f.stored
        for field in ("recording", "customer_leg")
        for f in request.FILES.getlist(field)
        if isinstance(f, StoredUpload)
    ]
    try:
        if handler.refusal is not None:
            raise handler.refusal
        if not files:
            raise ActionError("請選擇錄音檔（WAV、FLAC、OGG 或 MP3）。", field="recording")
        recording_queue(
            call=call,
            files=files,
            staff=staff,
            staff_channel=request.POST.get("staff_channel", "left"),
        )
    except ActionError as exc:
        handler.discard()
        return scorecard_page(request, staff, call, error=exc)
    return hx_redirect(request, reverse("call", args=[call.pk]))


def _checked_upload(
    request: HttpRequest, staff: Staff, call: Call, handler: RecordingUploadHandler
) -> HttpResponseBase:
    # csrf_protect wraps a view of (request, *args): the rest travel as arguments.
    response: HttpResponseBase = _upload(request, staff, call, handler)
    if response.status_code == 403:
        handler.discard()  # refused by the CSRF check: nothing kept
    return response


@require_GET
@staff_view
def recording_progress(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    recording = recording_for(staff, pk)
    response = render(
        request,
        "desk/_recording.html",
        {"r": recording, "status": recording_status(recording)},
    )
    if not recording.active and request.GET.get("polling"):
        response["HX-Refresh"] = "true"  # done: the page shows the rescored card
    return response


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@require_GET
@staff_view
def recording_audio(request: HttpRequest, staff: Staff, pk: int) -> HttpResponseBase:
    recording = recording_for(staff, pk)
    if recording.state != Recording.State.HEARD or not recording.playable:
        raise Http404("no playable copy")
    path = recordings_dir() / recording.playable
    if not path.is_file():
        raise Http404("playable copy missing")
    size = path.stat().st_size
    wanted = request.headers.get("Range", "").strip()
    match = _RANGE.match(wanted) if wanted else None
    if match is None or match.groups() == ("", ""):
        # No range, or one this view does not serve (several): the whole file.
        response: HttpResponseBase = FileResponse(path.open("rb"), content_type="audio/ogg")
    else:
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        else:
            start, end = max(0, size - int(last)), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = StreamingHttpResponse(
            _slice(path, start, end - start + 1), status=206, content_type="audio/ogg"
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _slice(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(start)
        while length > 0:
            chunk = f.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
