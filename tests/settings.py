"""The desk's settings for the test suite: the real settings, with a test key."""

import os

os.environ.setdefault("CALLSOP_SECRET_KEY", "callsop-test-only-key-not-for-any-real-desk")
os.environ.setdefault(
    "CALLSOP_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test")
)

from callsop.desk.settings import *  # noqa: F403
from callsop.desk.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast log-ins
if DATABASES["default"]["ENGINE"] in ("callsop.desk.sqlite", "django.db.backends.sqlite3"):
    # A file, so the browser tests' server thread shares it; one per run, so
    # two runs at once do not meet.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(os.environ["CALLSOP_DATA_DIR"], f"test-{os.getpid()}.sqlite3")
    }
