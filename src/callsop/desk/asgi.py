"""The desk as an ASGI application, for an ASGI server other than `callsop
serve` (which runs this same application on uvicorn): push streams as
coroutines, every other request on a fixed pool of WSGI threads
(server.asgi_application)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callsop.desk.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from callsop.desk.server import asgi_application, secret_key_check  # noqa: E402

secret_key_check(settings.SECRET_KEY)
application = asgi_application()
