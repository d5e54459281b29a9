from __future__ import annotations

from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "callsop.desk"
    label = "desk"
    verbose_name = "callsop desk"
