"""Scorecards, disputes, and the daily roll-ups the dashboard reads."""

from __future__ import annotations

from django.db import models

from callsop.desk.models.calls import Call
from callsop.desk.models.json import UnicodeJSONEncoder
from callsop.desk.models.people import Club, Staff


class Scorecard(models.Model):
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="scorecard")
    score = models.FloatField(null=True)
    # The engine's findings as call-record.md prints them, with an
    # `overturned` mark on any a manager settled in the clerk's favour.
    findings = models.JSONField(default=list, encoder=UnicodeJSONEncoder)
    scored_at = models.DateTimeField()
    # What the roll-ups counted for this call: (day, clerk id), so a rescore
    # takes back exactly what was added.
    counted_day = models.DateField(null=True)
    counted_clerk = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    counted = models.JSONField(null=True, encoder=UnicodeJSONEncoder)
    # When a retry or redial window this card left open has closed, so the
    # call is scored again then (services.scoring.scores_recheck).
    recheck_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # How many amendments (models.Amendment) this card has been scored with:
    # 0 is the call as it ended.
    version = models.PositiveSmallIntegerField(default=0)
    # The club's policy (its TOML overrides) the call was first graded with:
    # every later scoring of the call (an amendment, a recording, a closing
    # retry window) uses it too, so only what changed in the call moves the
    # grade. None: graded before this was kept; the club's current policy.
    policy_toml = models.TextField(null=True, blank=True)


class Dispute(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "待裁決"
        UPHELD = "upheld", "維持原判"
        OVERTURNED = "overturned", "改判通過"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="disputes")
    rule = models.CharField(max_length=60)
    raised_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="disputes")
    comment = models.TextField("說明")
    raised_at = models.DateTimeField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    settled_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    settled_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField("館長回覆", blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(fields=["call", "rule"], name="one_dispute_per_finding")
        ]


class DailyStat(models.Model):
    """Per club, local day and clerk: what the dashboard sums."""

    SUMS = (
        "calls",
        "inbound",
        "answered",
        "within_rings",
        "holds",
        "hold_s",
        "long_holds",
        "scored",
        "score_sum",
    )

    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    clerk = models.ForeignKey(Staff, on_delete=models.CASCADE, null=True, related_name="+")
    calls = models.IntegerField(default=0)
    inbound = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)
    within_rings = models.IntegerField(default=0)
    holds = models.IntegerField(default=0)
    hold_s = models.FloatField(default=0)
    long_holds = models.IntegerField(default=0)
    scored = models.IntegerField(default=0)
    score_sum = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["club", "day", "clerk"], name="one_stat_per_day_clerk")
        ]
        indexes = [models.Index(fields=["club", "day"])]


class RuleDaily(models.Model):
    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    clerk = models.ForeignKey(Staff, on_delete=models.CASCADE, null=True, related_name="+")
    rule = models.CharField(max_length=60)
    passed = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["club", "day", "clerk", "rule"], name="one_rule_stat_per_day_clerk"
            )
        ]
        indexes = [models.Index(fields=["club", "day", "rule"])]
