"""The club's knowledge at hand (§2.1): news, announcements, prices, processes."""

from __future__ import annotations

from django.db import models

from callsop.desk.models.people import Chain, Club


class KnowledgeItem(models.Model):
    class Kind(models.TextChoices):
        NEWS = "news", "最新消息"
        ANNOUNCEMENT = "announcement", "總部公告"
        PRODUCT = "product", "產品與價格"
        PROCESS = "process", "作業流程"
        HEALTH = "health", "會員健康管理"
        COLLECT = "collect", "館長交辦收集"

    chain = models.ForeignKey(Chain, on_delete=models.CASCADE, related_name="knowledge")
    # Null: an HQ item every club of the chain sees.
    club = models.ForeignKey(
        Club, on_delete=models.CASCADE, null=True, blank=True, related_name="knowledge"
    )
    kind = models.CharField(max_length=15, choices=Kind.choices)
    title = models.CharField("標題", max_length=200)
    body = models.TextField("內容")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at"]
