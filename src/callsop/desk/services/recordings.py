"""A call's recording: queued for the worker, heard, and its speech given to
the call, which is then scored again.

The decoding runs in the worker (`callsop worker`), never in a request. What
it found is attached to the call in one short transaction, which also keeps
the scorecard from before as the original and scores the call again. A
person's transcript (typed or imported) always outranks the recording's
speech: the recording is then kept to listen to, and nothing else changes."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from callsop.desk.models import Call, CallEvent, Recording, Scorecard, ScorecardOriginal, Staff
from callsop.desk.services import recording_files as files_
from callsop.desk.services import recording_lease as lease
from callsop.desk.services.errors import ActionError
from callsop.desk.services.recording_files import StoredFile
from callsop.desk.services.scoring import call_score

logger = logging.getLogger(__name__)


def may_add_recording(staff: Staff, call: Call) -> bool:
    """The clerk who took the call, or the club's manager (as for transcripts)."""
    return call.clerk_id == staff.pk or (
        staff.role == Staff.Role.MANAGER and staff.club_id == call.club_id
    )


def recording_offset(call: Call) -> float:
    """Seconds from the call's start to the recording's t=0: the answer
    (MixMonitor starts at the answer), or with CALLSOP_RECORDING_STARTS=ring
    the first ring or dial."""
    if settings.CALLSOP_RECORDING_STARTS == "answer" and call.answered_at is not None:
        return max(0.0, (call.answered_at - call.started_at).total_seconds())
    first = call.events.filter(type__in=("ringing", "dialing")).order_by("at").first()
    return max(0.0, (first.at - call.started_at).total_seconds()) if first else 0.0


def _combined_sha(files: list[StoredFile]) -> str:
    if len(files) == 1:
        return files[0].sha256
    import hashlib

    return hashlib.sha256(":".join(f.sha256 for f in files).encode()).hexdigest()


def recording_queue(
    *,
    call: Call,
    files: list[StoredFile],
    staff: Staff | None,
    origin: str = Recording.Origin.UPLOAD,
    staff_channel: str = "left",
    now: datetime | None = None,
) -> Recording:
    """Keeps the stored `files` (one file, or the staff leg then the customer
    leg) as the call's recording and queues it for the worker. Refused, with
    the files removed, when the call is not over or a file is no recording."""
    try:
        if call.state != Call.State.ENDED:
            raise ActionError("通話結束後才能加入錄音。", field="recording")
        if staff is not None and not may_add_recording(staff, call):
            raise ActionError("只有接聽的館員或館長可以加入錄音。", field="recording")
        if not 1 <= len(files) <= 2:
            raise ActionError("請選擇一個雙聲道錄音檔，或兩個分軌錄音檔。", field="recording")
        if staff_channel not in ("left", "right"):
            raise ActionError("館員聲道應為左或右。", field="staff_channel")
        files_.check_audio(files)
        again = Recording.objects.filter(call=call, sha256=_combined_sha(files)).exclude(
            state=Recording.State.REFUSED
        )
        if again.exists():
            names = "、".join(f.name for f in files)
            raise ActionError(f"{names}：這個錄音已經加入過這通電話。", field="recording")
        return _create(call, files, staff, origin, staff_channel, now or timezone.now())
    except BaseException:
        files_.discard(files)
        raise


@transaction.atomic(durable=True)
def _create(
    call: Call,
    files: list[StoredFile],
    staff: Staff | None,
    origin: str,
    staff_channel: str,
    now: datetime,
) -> Recording:
    recording = Recording.objects.create(
        call=call,
        club_id=call.club_id,
        origin=origin,
        uploaded_by=staff,
        files=[f.as_json() for f in files],
        size=sum(f.size for f in files),
        sha256=_combined_sha(files),
        staff_channel=staff_channel,
        offset_s=round(recording_offset(call), 3),
        created_at=now,
    )
    # The job is a row of the same database, written in this transaction:
    # a crash cannot leave a recording queued with no job to hear it.
    lease.enqueue(recording.pk)
    return recording


def recording_hear(*, recording_id: int) -> Recording | None:
    """The worker's job: hears a queued recording and gives its speech to the
    call. None when another worker took it first, or when this try was given
    up for lost (its worker stalled) and queued again meanwhile."""
    attempt = lease.recording_claim(recording_id=recording_id)
    if attempt is None:
        return None
    recording = Recording.objects.get(pk=recording_id)
    try:
        with lease.Heartbeat(recording_id, attempt) as beat:
            return _hear(recording, attempt, beat)
    except lease.Superseded:
        logger.warning("recording %s: try %s was given up; left to the next", recording_id, attempt)
        return None


def _hear(recording: Recording, attempt: int, beat: lease.Heartbeat) -> Recording | None:
    from callsop.audio import AudioError, hear, playable
    from callsop.audio.recognise import recogniser

    paths = [files_.recordings_dir() / f["path"] for f in recording.files]
    channel: Literal["left", "right"] = "right" if recording.staff_channel == "right" else "left"
    out = paths[0].with_name(paths[0].stem + ".play.ogg")
    # The length its header gives first: a recording that cannot be this
    # call's is refused before it costs a hearing (and its check stands
    # again on the length heard, which a header may understate).
    misfit = _misfit(recording, _header_seconds(paths))
    if misfit is not None:
        return _refuse(recording, attempt, misfit)
    try:
        heard = hear(
            [str(p) for p in paths],
            staff_channel=channel,
            recogniser=recogniser(settings.CALLSOP_RECOGNISER),
            name=recording.names,
            on_progress=beat,
        )
        beat.set(92)
        playable([str(p) for p in paths], out, staff_channel=channel)
        beat.set(97)
    except AudioError as exc:
        out.unlink(missing_ok=True)
        return _refuse(recording, attempt, audio_reason(recording, exc.path, exc.reason))
    except lease.Superseded:
        raise
    except Exception:
        out.unlink(missing_ok=True)
        logger.exception("recording %s could not be heard", recording.pk)
        _refuse(recording, attempt, f"{recording.names}：處理錄音時發生錯誤，請通知系統管理員。")
        raise
    misfit = _misfit(recording, float(heard.duration))
    if misfit is not None:
        out.unlink(missing_ok=True)
        return _refuse(recording, attempt, misfit)
    playable_path = out.relative_to(files_.recordings_dir()).as_posix()
    attached = speech_attach(
        recording=recording, heard=heard, playable_path=playable_path, attempt=attempt
    )
    if attached is None:
        raise lease.Superseded(f"recording {recording.pk}: try {attempt} was given up")
    return attached


# A recording runs on a little past the hang-up (the PBX closes the file
# after the line); far longer than the call, it is some other call's.
OVERRUN_S = 15.0
OVERRUN_SHARE = 0.25


def _header_seconds(paths: list[Path]) -> float:
    """The longest of the files by their headers (a raw file by its size); 0 if unreadable."""
    import soundfile

    from callsop.audio.formats import RAW_FRAME_BYTES, raw_rate

    longest = 0.0
    for path in paths:
        rate = raw_rate(path)
        try:
            if rate is not None:
                seconds = path.stat().st_size / RAW_FRAME_BYTES / rate
            else:
                seconds = float(soundfile.info(str(path)).duration)
        except (OSError, RuntimeError):
            continue  # the hearing names what is wrong with it
        longest = max(longest, seconds)
    return longest


def _call_span(call: Call, offset_s: float) -> float | None:
    """Seconds of the call a recording starting `offset_s` in can cover."""
    if call.ended_at is None:
        return None
    return max(0.0, (call.ended_at - call.started_at).total_seconds() - offset_s)


def _misfit(recording: Recording, duration: float) -> str | None:
    """Why the recording cannot be this call's, or None when it fits."""
    span = _call_span(recording.call, recording.offset_s)
    if span is None or duration <= span + max(OVERRUN_S, OVERRUN_SHARE * span):
        return None
    return (
        f"{recording.names}：錄音長 {duration:.0f} 秒，這通電話（錄音起點之後）只有 {span:.0f} 秒，"
        "應該不是這通電話的錄音。請確認檔案後再上傳。"
    )


def _refuse(recording: Recording, attempt: int, error: str) -> Recording:
    refused = lease.this_try(recording.pk, attempt).update(
        state=Recording.State.REFUSED, error=error, finished_at=timezone.now()
    )
    if not refused:
        raise lease.Superseded(f"recording {recording.pk}: try {attempt} was given up")
    files_.discard(recording.files)
    recording.refresh_from_db()
    return recording


_REASONS = (
    (re.compile(r"^no such file"), "找不到檔案"),
    (re.compile(r"^not audio"), "不是可讀取的錄音檔"),
    (re.compile(r"^cut off|damaged"), "檔案不完整或已損壞"),
    (
        re.compile(r"^(\d+) channels, expected"),
        "聲道數不符（應為單聲道或雙聲道；分軌錄音每檔單聲道）",
    ),
    (re.compile(r"^rate (\d+) Hz"), "取樣率 {0} Hz 不在 8000–48000 Hz 之間"),
    (re.compile(r"^empty"), "錄音是空的"),
    (re.compile(r"long, longer than"), "錄音太長"),
    (re.compile(r"silent|no speech"), "錄音裡聽不到任何聲音"),
)


def audio_reason(recording: Recording, path: str, reason: str) -> str:
    """The decoder's reason, in the desk's words, naming the file as it arrived."""
    name = next(
        (f["name"] for f in recording.files if Path(path).name == Path(str(f["path"])).name),
        recording.names,
    )
    for pattern, words in _REASONS:
        match = pattern.search(reason)
        if match:
            return f"{name}：{words.format(*match.groups())}。"
    return f"{name}：無法讀取（{reason}）。"


def _human_speech(call: Call) -> bool:
    return bool(call.utterances) and not call.speech


@transaction.atomic(durable=True)
def speech_attach(
    *, recording: Recording, heard: Any, playable_path: str, attempt: int | None = None
) -> Recording | None:
    """What the recording gave, attached to the call and scored: its
    utterances and the holds heard (when the PBX or the desk saw none),
    moved by the recording's offset into the call's time. With `attempt`,
    only while that try still holds the recording (else None, nothing changed)."""
    call = (
        Call.objects.select_for_update(of=("self",))
        .select_related("club", "clerk")
        .get(pk=recording.call_id)
    )
    recording = Recording.objects.select_for_update().get(pk=recording.pk)
    if attempt is not None and (
        recording.state != Recording.State.HEARING or recording.attempts != attempt
    ):
        return None
    now = timezone.now()
    recording.speech_used = not _human_speech(call)
    recording.speech_source = str(heard.speech.get("source", ""))
    if recording.speech_used:
        _give_speech(call, recording, heard)
        card = Scorecard.objects.filter(call=call).first()
        if card is not None and not ScorecardOriginal.objects.filter(call=call).exists():
            ScorecardOriginal.objects.create(
                call=call,
                recording=recording,
                score=card.score,
                findings=card.findings,
                scored_at=card.scored_at,
                kept_at=now,
            )
        call_score(call=call, now=now)
    recording.state = Recording.State.HEARD
    recording.progress = 100
    recording.duration_s = round(float(heard.duration), 2)
    recording.playable = playable_path
    recording.finished_at = now
    recording.save()
    return recording


def _give_speech(call: Call, recording: Recording, heard: Any) -> None:
    shift = recording.offset_s
    span = _call_span(call, shift)
    # What the file holds after the hang-up (the PBX closing it) is no part of the call.
    end = span if span is not None else float("inf")
    call.utterances = [
        {**u, "start": round(u["start"] + shift, 2), "end": round(u["end"] + shift, 2)}
        for u in heard.utterances
        if float(u["start"]) < end
    ]
    heard_holds = [e for e in heard.events if float(e["t"]) < end]
    call.speech = {**heard.speech, "recording": recording.names}
    CallEvent.objects.filter(call=call, source="audio").delete()
    own_holds = call.events.filter(type__in=("hold", "resume")).exists()
    if not own_holds:
        _audio_holds(call, heard_holds, call.started_at + timedelta(seconds=shift))
    call.save(update_fields=["utterances", "speech", "hold_total_s", "hold_count", "updated_at"])


def _audio_holds(call: Call, events: list[dict[str, Any]], zero: datetime) -> None:
    held: datetime | None = None
    total, count = 0.0, 0
    for e in events:
        if e["type"] not in ("hold", "resume"):
            continue
        at = zero + timedelta(seconds=float(e["t"]))
        CallEvent.objects.create(call=call, at=at, type=e["type"], source="audio")
        if e["type"] == "hold":
            held = at
        elif held is not None:
            total += (at - held).total_seconds()
            count += 1
            held = None
    call.hold_total_s, call.hold_count = round(total, 1), count


def recording_status(recording: Recording) -> str:
    """The line the call page shows for a recording, in the desk's words."""
    if recording.state == Recording.State.QUEUED:
        return "排隊中（上次處理中斷，重新排隊）" if recording.attempts else "排隊中"
    if recording.state == Recording.State.HEARING:
        return f"聆聽中 {recording.progress}%"
    if recording.state == Recording.State.REFUSED:
        return f"無法讀取：{recording.error}"
    if not recording.speech_used:
        return "已完成：已有人工逐字稿，錄音僅供聆聽"
    return "已完成，重新評分"
