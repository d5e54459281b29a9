"""Phone keys of numbers written in international form (+86 135 7702 4418,
0086…, +852…) become their national numbers, as engine.history.normalise_phone
now keys them, so a mainland caller's +86 call and 135… call are one number."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import Q

# The calling codes a club line stored from +86… still begins with (it kept
# only digits), longest first, and how many digits follow them at least: a
# Taiwan key (at most 9 digits) is never one of these.
_CODES = ("852", "853", "86")
_NATIONAL_DIGITS = 8


def _national(key: str) -> str:
    for code in _CODES:
        if key.startswith(code) and len(key) - len(code) >= _NATIONAL_DIGITS and len(key) >= 11:
            return key[len(code) :].lstrip("0")
    return key


def forwards(apps: Any, schema_editor: Any) -> None:
    from callsop.engine.history import normalise_phone

    Call = apps.get_model("desk", "Call")
    international = Call.objects.filter(
        Q(caller_phone__startswith="+") | Q(caller_phone__contains="00")
    )
    for call in international.only("pk", "caller_phone", "phone_key").iterator(chunk_size=2000):
        key = normalise_phone(call.caller_phone) or ""
        if key != call.phone_key:
            Call.objects.filter(pk=call.pk).update(phone_key=key)
    ClubLine = apps.get_model("desk", "ClubLine")
    for line in ClubLine.objects.all():
        number = _national(line.number)
        if number != line.number and not ClubLine.objects.filter(number=number).exists():
            ClubLine.objects.filter(pk=line.pk).update(number=number)


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0014_workers_seen"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
