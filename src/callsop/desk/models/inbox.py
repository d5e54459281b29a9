"""What a call leaves behind for people: memos, tasks, escalations, complaints."""

from __future__ import annotations

from django.db import models

from callsop.desk.models.calls import Call
from callsop.desk.models.people import Club, Staff


class Memo(models.Model):
    club = models.ForeignKey(Club, on_delete=models.PROTECT, related_name="memos")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, null=True, related_name="memos")
    for_staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="memos")
    taken_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="memos_taken")
    from_name = models.CharField("來電者姓名", max_length=50)
    from_org = models.CharField("單位", max_length=100, blank=True)
    phone = models.CharField("回電號碼", max_length=30)
    message = models.TextField("留言內容")
    urgent = models.BooleanField("緊急", default=False)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    called_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["for_staff", "called_back_at"])]


class Task(models.Model):
    class Kind(models.TextChoices):
        CALLBACK = "callback", "回電"
        RETRY = "retry", "重撥"
        FOLLOW_UP = "follow-up", "後續聯絡"

    club = models.ForeignKey(Club, on_delete=models.PROTECT, related_name="tasks")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, null=True, related_name="tasks")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    due = models.DateTimeField()
    phone = models.CharField(max_length=30, blank=True)
    name = models.CharField(max_length=50, blank=True)
    note = models.CharField(max_length=300, blank=True)
    assignee = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks"
    )
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_call = models.ForeignKey(
        Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due"]
        indexes = [models.Index(fields=["club", "done_at", "due"])]


class Escalation(models.Model):
    club = models.ForeignKey(Club, on_delete=models.PROTECT, related_name="escalations")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="escalations")
    to = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="escalations")
    at = models.DateTimeField()
    reason = models.TextField()
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]


class Complaint(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "待處理"
        FOLLOWING = "following", "追蹤中"
        CLOSED = "closed", "已結案"

    club = models.ForeignKey(Club, on_delete=models.PROTECT, related_name="complaints")
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="complaint")
    logged_at = models.DateTimeField()
    logged_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    summary = models.TextField("投訴內容")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    follow_up = models.TextField("後續處理", blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-logged_at"]
        indexes = [models.Index(fields=["club", "state"])]


class ComplaintNote(models.Model):
    """Each update of a complaint's follow-up, as written: later ones never
    replace earlier ones."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="notes")
    by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()
    text = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=Complaint.State.choices)

    class Meta:
        ordering = ["at", "pk"]
