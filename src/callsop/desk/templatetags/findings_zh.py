"""Template filters that show a finding to the people who read the desk."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from callsop.policy import Timing
from callsop.report import messages_zh
from callsop.rules import CATALOGUE

register = template.Library()
_TITLES = {rule.id: rule.title for rule in CATALOGUE}


@register.filter(name="message_zh")
def message_zh(message: str | None, names: Mapping[str, str] | None = None) -> str:
    """A finding's message in Traditional Chinese, its moments in the desk's
    time zone and its staff ids as `names`; the English stays in the score."""
    if not message:
        return ""
    return messages_zh.zh(message, tz=timezone.get_current_timezone(), names=names)


@register.filter(name="rule_title")
def rule_title(rule_id: str, timing: Timing | None = None) -> str:
    """The rule's title, quoting the club's own thresholds (`timing`)."""
    return messages_zh.rule_title(rule_id, _TITLES.get(rule_id, rule_id), timing)


@register.filter(name="hold_limit")
def hold_limit(timing: Timing | None) -> str:
    """The club's longest hold as a label says it: 1 分鐘, 30 秒."""
    return messages_zh.hold_limit(timing)


_RECORD_TERM = re.compile(r"(?<![A-Za-z0-9])([a-z][a-z.-]*[a-z])(?![A-Za-z0-9])")


@register.filter(name="record_terms")
def record_terms(text: str) -> str:
    """A rule's description with the call record's own words in it (tags such
    as person-absent, fields such as customer.known) set as small code."""
    return mark_safe(_RECORD_TERM.sub(r'<code class="small">\1</code>', conditional_escape(text)))
