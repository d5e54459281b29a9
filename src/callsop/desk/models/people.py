"""Chains, clubs and their staff, with roles and presence."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Chain(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Club(models.Model):
    chain = models.ForeignKey(Chain, on_delete=models.PROTECT, related_name="clubs")
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="Asia/Taipei")
    # The club's overrides of the default policy, TOML; empty = the default.
    policy_toml = models.TextField(blank=True, default="")
    policy_updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Staff(models.Model):
    class Role(models.TextChoices):
        CLERK = "clerk", "櫃檯人員"
        MANAGER = "manager", "館長"
        HQ = "hq", "總部"

    class Presence(models.TextChoices):
        IN = "in", "在館"
        OUT = "out", "外出"
        MEETING = "meeting", "開會中"
        LEAVE = "leave", "休假"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff"
    )
    chain = models.ForeignKey(Chain, on_delete=models.PROTECT, related_name="staff")
    # HQ staff belong to the chain, not to one club.
    club = models.ForeignKey(
        Club, on_delete=models.PROTECT, related_name="staff", null=True, blank=True
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CLERK)
    name = models.CharField(max_length=50)
    # What the clerk says in the greeting: 我是怡君.
    short_name = models.CharField(max_length=20, blank=True)
    extension = models.CharField(max_length=20, blank=True)
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.IN)
    presence_note = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["club_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role="hq") | models.Q(club__isnull=False),
                name="staff_club_unless_hq",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def spoken_name(self) -> str:
        return self.short_name or self.name

    @property
    def club_pk(self) -> int:
        """The club of a clerk or manager; HQ staff have none."""
        if self.club_id is None:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("HQ staff have no club of their own")
        return self.club_id

    @property
    def is_manager(self) -> bool:
        return self.role in (self.Role.MANAGER, self.Role.HQ)


class PolicyChange(models.Model):
    """Each edit of a club's policy: who, when, and the text before and after."""

    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="policy_changes")
    by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="policy_changes"
    )
    at = models.DateTimeField()
    before = models.TextField(blank=True, default="")
    after = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["club", "-at"])]
