"""Template filters that show a finding to the people who read the desk."""

from __future__ import annotations

from django import template

from callsop.report.messages_zh import zh

register = template.Library()


@register.filter(name="message_zh")
def message_zh(message: str | None) -> str:
    """A finding's message in Traditional Chinese; the English stays in the score."""
    return zh(message) if message else ""
