"""Phone keys of numbers written in international form (+86 135 7702 4418,
0086…, +852…) become their national numbers, as engine.history.normalise_phone
now keys them, so a mainland caller's +86 call and 135… call are one number."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import Q

# A club line keeps only digits, so one stored from +86… still begins with
# its calling code; a Taiwan key (at most 9 digits) is never this long.
_INTERNATIONAL_DIGITS = 11


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
        long = len(line.number) >= _INTERNATIONAL_DIGITS
        number = (normalise_phone("+" + line.number) if long else None) or line.number
        if number != line.number and not ClubLine.objects.filter(number=number).exists():
            ClubLine.objects.filter(pk=line.pk).update(number=number)


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0014_workers_seen"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
