"""Call recordings: the files, the job that hears them, and what was taken
from the PBX's recording folder."""

from __future__ import annotations

from django.db import models

from callsop.desk.models.calls import Call
from callsop.desk.models.json import UnicodeJSONEncoder
from callsop.desk.models.people import Club, Staff


class Recording(models.Model):
    """One call's recording: one two-channel (or mono) file, or two legs.

    `files` lists each stored file as {"path" (under the recordings folder),
    "name" (as it arrived), "size", "sha256"}: one file, or the staff leg
    then the customer leg. `sha256` and `size` are over all of them in
    that order. `offset_s` is where the recording's t=0 falls in the call
    (seconds after the call's start)."""

    class State(models.TextChoices):
        QUEUED = "queued", "排隊中"
        HEARING = "hearing", "聆聽中"
        HEARD = "heard", "已完成"
        REFUSED = "refused", "無法讀取"

    class Origin(models.TextChoices):
        UPLOAD = "upload", "上傳"
        FOLDER = "folder", "錄音資料夾"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="recordings")
    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="+")
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.UPLOAD)
    uploaded_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    files = models.JSONField(default=list, encoder=UnicodeJSONEncoder)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    staff_channel = models.CharField(max_length=5, default="left")
    offset_s = models.FloatField(default=0)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # What it gave the call: "voice-only" or "machine"; "" until heard.
    speech_source = models.CharField(max_length=12, blank=True)
    # False when the call already had a person's transcript, which it keeps.
    speech_used = models.BooleanField(default=False)
    duration_s = models.FloatField(null=True, blank=True)
    playable = models.CharField(max_length=300, blank=True)  # the browser's copy (OGG)
    task_id = models.CharField(max_length=64, blank=True)
    # Each claim by a worker counts one; the job's own writes name their try,
    # so a try given up for lost can no longer change the row.
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the hearing's last sign of life
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["call", "created_at"]),
            models.Index(fields=["state", "heartbeat_at"], name="recording_state_beat"),
        ]

    @property
    def names(self) -> str:
        return "、".join(f["name"] for f in self.files)

    @property
    def active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.HEARING)


class RecordingFile(models.Model):
    """A file of the watched recording folder, taken once: by path, size and
    modification time, so a restart does not take it again."""

    path = models.CharField(max_length=500)
    size = models.BigIntegerField()
    mtime_ns = models.BigIntegerField()
    taken_at = models.DateTimeField()
    recording = models.ForeignKey(
        Recording, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["path", "size", "mtime_ns"], name="one_take_per_file")
        ]


class ScorecardOriginal(models.Model):
    """The scorecard a call had before a recording was heard. The call's
    `Scorecard` then holds the rescored one, shown as an amendment."""

    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="original_scorecard")
    recording = models.ForeignKey(
        Recording, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    score = models.FloatField(null=True)
    findings = models.JSONField(default=list, encoder=UnicodeJSONEncoder)
    scored_at = models.DateTimeField()
    kept_at = models.DateTimeField()
