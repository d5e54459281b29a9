"""What the PBX tells the desk: its lines, and every call event, kept raw first."""

from __future__ import annotations

from django.db import models

from callsop.desk.models.people import Club


class ClubLine(models.Model):
    """A number the PBX rings for a club: the main line or the consultation line."""

    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="lines")
    # The number as dialled, digits only after normalisation (engine.history.normalise_phone).
    number = models.CharField(max_length=30, unique=True)
    kind = models.CharField(max_length=20, default="main")  # the call record's `line`

    def __str__(self) -> str:
        return f"{self.club.name} {self.number} ({self.kind})"


class PbxEvent(models.Model):
    """One call event as received, before the desk acts on it.

    `key` makes a repeated event (a retransmission, a webhook retried, a
    second capture point) the same row, so it is applied once."""

    source = models.CharField(max_length=10)  # hep, webhook, ami
    key = models.CharField(max_length=300, unique=True)
    call_id = models.CharField(max_length=200, db_index=True)
    kind = models.CharField(max_length=12)
    at = models.DateTimeField()
    caller = models.CharField(max_length=80, blank=True)
    callee = models.CharField(max_length=80, blank=True)
    by = models.CharField(max_length=10, blank=True)
    cause = models.CharField(max_length=40, blank=True)
    target = models.CharField(max_length=80, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["processed_at", "at"])]


class PbxApplyClaim(models.Model):
    """A call whose stored events one applier (a thread of the feed, the
    webhook's drain, in any process) is applying now. One row per call, so
    no two appliers work on one call at once and its events take effect in
    capture order. A claim older than a minute is an applier that stopped
    mid-way, and is taken over."""

    call_id = models.CharField(max_length=200, unique=True)
    holder = models.CharField(max_length=32)
    taken_at = models.DateTimeField()


class DialJob(models.Model):
    """An outgoing call for the club's own SIP user agent to place: the
    clerk's click, a retry 3-5 minutes after no answer, a redial after a drop."""

    call = models.ForeignKey("desk.Call", on_delete=models.CASCADE, related_name="dial_jobs")
    reason = models.CharField(max_length=10)  # dial, retry, redial
    tries = models.PositiveIntegerField(default=1)
    due = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True)

    class Meta:
        indexes = [models.Index(fields=["done_at", "due"])]
