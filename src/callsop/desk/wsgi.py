from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callsop.desk.settings")
application = get_wsgi_application()

# A server other than `callsop serve` (gunicorn, uWSGI…) gets the same key check.
from django.conf import settings  # noqa: E402

from callsop.desk.server import secret_key_check  # noqa: E402

secret_key_check(settings.SECRET_KEY)
