"""A call as the desk keeps it: who, what was written, and its timeline."""

from __future__ import annotations

from django.db import models

from callsop.desk.models.json import UnicodeJSONEncoder
from callsop.desk.models.people import Club, Staff


class Call(models.Model):
    class State(models.TextChoices):
        PLANNING = "planning", "準備中"
        RINGING = "ringing", "響鈴中"
        TALKING = "talking", "通話中"
        HELD = "held", "保留中"
        ENDED = "ended", "已結束"

    class Outcome(models.TextChoices):
        NONE = "", "—"
        COMPLETED = "completed", "完成"
        TRANSFERRED = "transferred", "已轉接"
        MEMO = "memo", "已留言"
        WRONG_NUMBER = "wrong-number", "打錯電話"
        VISITOR = "visitor", "訪客到達，稍後回電"
        NO_ANSWER = "no-answer", "無人接聽"
        DROPPED = "dropped", "斷線"
        ABSENT = "absent", "對方不在"
        MISSED = "missed", "未接"

    club = models.ForeignKey(Club, on_delete=models.PROTECT, related_name="calls")
    direction = models.CharField(max_length=8, choices=[("inbound", "來電"), ("outbound", "去電")])
    state = models.CharField(max_length=10, choices=State.choices, default=State.RINGING)
    outcome = models.CharField(max_length=15, choices=Outcome.choices, blank=True, default="")
    line = models.CharField(max_length=30, default="main")
    purpose = models.CharField(max_length=10, default="business")
    prearranged = models.BooleanField(null=True, blank=True)
    clerk = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="calls"
    )
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    rings = models.PositiveIntegerField(null=True, blank=True)
    hold_total_s = models.FloatField(default=0)
    hold_count = models.PositiveIntegerField(default=0)

    caller_name = models.CharField("姓名", max_length=50, blank=True)
    caller_org = models.CharField("單位", max_length=100, blank=True)
    caller_purpose = models.CharField("來電事由", max_length=200, blank=True)
    caller_phone = models.CharField("電話", max_length=30, blank=True)
    caller_address = models.CharField("地址", max_length=200, blank=True)
    customer_known = models.BooleanField(default=False)
    # The number as history matches it (engine.history.normalise_phone).
    phone_key = models.CharField(max_length=30, blank=True, db_index=True)

    note_when = models.CharField("何時", max_length=200, blank=True)
    note_who = models.CharField("何人", max_length=200, blank=True)
    note_where = models.CharField("何地", max_length=200, blank=True)
    note_what = models.CharField("何事", max_length=500, blank=True)
    note_why = models.CharField("為什麼", max_length=500, blank=True)
    note_how = models.CharField("如何進行", max_length=500, blank=True)
    note_urgent = models.BooleanField("緊急", default=False)

    plan_purpose = models.CharField("通話目的", max_length=200, blank=True)
    plan_name = models.CharField("對方姓名", max_length=50, blank=True)
    plan_name_verified = models.BooleanField("姓名已核對", default=False)
    plan_number_verified = models.BooleanField("號碼已核對", default=False)
    plan_salutation = models.CharField("稱呼", max_length=50, blank=True)
    plan_outline = models.TextField("談話要點", blank=True)
    plan_time_budget_min = models.PositiveIntegerField("預計通話分鐘", null=True, blank=True)
    plan_material = models.CharField("備妥資料", max_length=200, blank=True)
    plan_hard_reply = models.CharField("對方回絕時如何回應", max_length=300, blank=True)

    tags = models.JSONField(default=list, blank=True, encoder=UnicodeJSONEncoder)
    utterances = models.JSONField(default=list, blank=True, encoder=UnicodeJSONEncoder)
    # Where the utterances came from (call-record.md "speech"): null is a
    # person's transcript (or none); a recording sets source/engine/recording.
    speech = models.JSONField(null=True, blank=True, encoder=UnicodeJSONEncoder)
    redial_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="redials"
    )
    source = models.CharField(max_length=10, default="desk")
    external_id = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["club", "started_at"]),
            models.Index(fields=["club", "state", "started_at"]),
            models.Index(fields=["club", "caller_phone"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.caller_phone or ''} {self.started_at:%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.state in (self.State.RINGING, self.State.TALKING, self.State.HELD)

    @property
    def record_id(self) -> str:
        return f"{self.club.code}-{self.pk}"


class CallEvent(models.Model):
    """One moment of the call's timeline, in the call record's vocabulary."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    type = models.CharField(max_length=10)
    by = models.CharField(max_length=10, blank=True)
    to = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True)
    summary = models.TextField(blank=True)
    rings = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=6, blank=True)  # "audio": heard in a recording

    class Meta:
        ordering = ["at", "id"]
