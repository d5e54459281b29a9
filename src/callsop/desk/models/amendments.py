"""What was added to a call after it ended: kept beside the original, never over it."""

from __future__ import annotations

from django.db import models

from callsop.desk.models.calls import Call
from callsop.desk.models.json import UnicodeJSONEncoder
from callsop.desk.models.people import Staff


class Amendment(models.Model):
    """One change to an ended call, by its own clerk or the club's manager,
    with a reason. `before` and `after` hold the changed fields as the call
    had them and as the amendment left them (caller, note and plan fields by
    name; a transcript as `utterances` and `speech`). `number` is the
    scorecard version it gives: the original card is version 0, and the
    card as it stood before this amendment is kept in `score_before` and
    `findings_before`; `score_after` and `findings_after` are its rescoring,
    filled in once that has run."""

    class Kind(models.TextChoices):
        DETAILS = "details", "來電資料與記事"
        TRANSCRIPT = "transcript", "逐字稿"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="amendments")
    number = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.CharField("補充理由", max_length=200, blank=True)
    before = models.JSONField(default=dict, encoder=UnicodeJSONEncoder)
    after = models.JSONField(default=dict, encoder=UnicodeJSONEncoder)
    score_before = models.FloatField(null=True)
    findings_before = models.JSONField(default=list, encoder=UnicodeJSONEncoder)
    scored_before_at = models.DateTimeField(null=True)
    score_after = models.FloatField(null=True)
    findings_after = models.JSONField(null=True, encoder=UnicodeJSONEncoder)
    scored_after_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["call", "number"], name="one_amendment_per_version")
        ]

    @property
    def rescored(self) -> bool:
        return self.scored_after_at is not None
