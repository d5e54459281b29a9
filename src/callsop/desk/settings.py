"""One settings module, read from the environment with strict helpers.

CALLSOP_SECRET_KEY   required unless CALLSOP_DEBUG is on
CALLSOP_DEBUG        on/off (default off)
DATABASE_URL         default: SQLite at $CALLSOP_DATA_DIR/callsop.sqlite3
CALLSOP_DATA_DIR     default: ./var
CALLSOP_ALLOWED_HOSTS  comma-separated (default: localhost names)
CALLSOP_TIME_ZONE    default Asia/Taipei
CALLSOP_DIALER       on: "撥號" queues the call for `callsop dialer` to place
CALLSOP_RECORDING_MAX_MB  largest recording an upload or the folder may bring (default 200)
CALLSOP_RECORDING_STARTS  answer/ring: where a recording's t=0 falls in the call (default answer,
                     as Asterisk's and FreePBX's MixMonitor start recording at the answer)
CALLSOP_RECOGNISER   none/whisper-base: words from recordings, or voice only (default none)
CALLSOP_RECORDING_STALL_S  seconds without progress after which a recording being heard is
                     taken to have lost its worker and is queued again (default 600)
CALLSOP_RECORDING_STAFF_CHANNEL  left/right: the staff's channel of a two-channel file from the
                     recording folder (default left, as MixMonitor writes)
CALLSOP_RECORDING_STAFF_LEG  auto/in/out: which of two one-leg files (`-in`/`-out`, `-r`/`-t`) is
                     the staff's (default auto: see desk/services/recording_legs.py)
CALLSOP_HTTPS        on: the desk is reached over TLS only: cookies are Secure, HSTS is sent
                     and plain http is redirected to https (default off)
CALLSOP_PROXY        on: behind a TLS proxy that sets X-Forwarded-Proto (and X-Forwarded-For):
                     a request the proxy marks https is taken as https; implies CALLSOP_HTTPS
CALLSOP_HSTS_SECONDS how long browsers keep to https once told (default 31536000, a year)
CALLSOP_LOGIN_FAILURES  wrong passwords for one account from one address before log-in is
                     locked (default 10)
CALLSOP_LOGIN_LOCK_MINUTES  how long such a lock lasts (default 15)
CALLSOP_WRAP_UP_S    seconds after a call ended in which its clerk may still finish the note (default 120)

`callsop serve` refuses a CALLSOP_SECRET_KEY shorter than 32 characters or
the public development key; only `callsop demo` makes its own.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
DEFAULT_SECRET_KEY = "callsop-insecure-development-key"


def envbool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: use on/off, true/false, yes/no or 1/0")


def envint(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: give a whole number") from None
    if value <= 0:
        raise ImproperlyConfigured(f"{name}={raw!r}: give a number above 0")
    return value


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r}: use one of {', '.join(choices)}")
    return value


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("CALLSOP_DATA_DIR", "var")).resolve()
DEBUG = envbool("CALLSOP_DEBUG")
SECRET_KEY = os.environ.get("CALLSOP_SECRET_KEY", DEFAULT_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("CALLSOP_SECRET_KEY is not set (required unless CALLSOP_DEBUG=on)")
# Outgoing calls placed by the club's SIP user agent (`callsop dialer`) when on.
CALLSOP_DIALER = envbool("CALLSOP_DIALER")
# Recordings: stored under DATA_DIR/recordings, heard by `callsop worker`.
CALLSOP_RECORDING_MAX_MB = envint("CALLSOP_RECORDING_MAX_MB", 200)
CALLSOP_RECORDING_STARTS = envchoice("CALLSOP_RECORDING_STARTS", "answer", ("answer", "ring"))
CALLSOP_RECOGNISER = envchoice("CALLSOP_RECOGNISER", "none", ("none", "whisper-base"))
CALLSOP_RECORDING_STALL_S = envint("CALLSOP_RECORDING_STALL_S", 600)
CALLSOP_WRAP_UP_S = envint("CALLSOP_WRAP_UP_S", 120)
CALLSOP_RECORDING_STAFF_CHANNEL = envchoice(
    "CALLSOP_RECORDING_STAFF_CHANNEL", "left", ("left", "right")
)
CALLSOP_RECORDING_STAFF_LEG = envchoice(
    "CALLSOP_RECORDING_STAFF_LEG", "auto", ("auto", "in", "out")
)
ALLOWED_HOSTS = envlist("CALLSOP_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CALLSOP_CSRF_TRUSTED_ORIGINS", "")
CSRF_FAILURE_VIEW = "callsop.desk.views.errors.csrf_failure"  # the desk's words, not Django's page

INSTALLED_APPS = [
    "axes",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "callsop.desk.apps.DeskConfig",
]

# The job queue: rows in the desk's own database, taken by `callsop worker`
# (any number, on any machine that reaches the database).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "recordings"],
    }
}

# Uploads are checked chunk by chunk while they arrive (desk/uploads.py): a
# file past the limit is dropped as it comes, never held whole.
FILE_UPLOAD_HANDLERS = ["callsop.desk.uploads.CappedUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FILES = 4  # the desk's forms send one file, or a recording's two legs

MIDDLEWARE = [
    "callsop.desk.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "callsop.desk.validation.ControlCharacterMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Log-in throttling (django-axes): wrong passwords for one account from one
# address lock that pair out for a while; a right one before then resets it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "callsop.desk.auth.StaffBackend",  # the user and their staff member in one query
]
# Passwords set through `callsop manage addstaff` (or changepassword).
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = envint("CALLSOP_LOGIN_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(minutes=envint("CALLSOP_LOGIN_LOCK_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "callsop.desk.views.common.locked_out"
AXES_VERBOSE = False

# TLS: on its own (CALLSOP_HTTPS) or ended by a proxy in front (CALLSOP_PROXY).
BEHIND_PROXY = envbool("CALLSOP_PROXY")
HTTPS = envbool("CALLSOP_HTTPS") or BEHIND_PROXY
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    AXES_CLIENT_IP_CALLABLE = "callsop.desk.views.common.client_address"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # proxies and monitors probe over plain http
SECURE_HSTS_SECONDS = envint("CALLSOP_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_REFERRER_POLICY = "same-origin"

# The desk's own pages load scripts and styles from its own static files
# only; htmx keeps its indicator styles in desk.css (htmx-config meta).
# Style attributes (the dashboard's bar heights) are allowed: they run no code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "callsop.desk.urls"
WSGI_APPLICATION = "callsop.desk.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "callsop.desk.views.common.desk_context",
            ],
        },
    }
]


def _sqlite(name: str, test_name: str) -> dict[str, Any]:
    return {
        "ENGINE": "callsop.desk.sqlite",
        "NAME": name,
        "OPTIONS": {
            # A writer waits for the lock instead of failing; IMMEDIATE
            # takes it at BEGIN, so a transaction never fails mid-way.
            "timeout": 10,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        },
        "TEST": {"NAME": test_name},
    }


def _databases() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        db = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        if db["ENGINE"] == "django.db.backends.sqlite3":
            # A SQLite file given by URL gets the desk's own SQLite set-up (WAL,
            # IMMEDIATE, the writer lock), not Django's plain one, which
            # answers "database is locked" under concurrent saves.
            return {"default": _sqlite(db["NAME"], f"{db['NAME']}.test")}
        return {"default": db}
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "default": _sqlite(
            str(DATA_DIR / "callsop.sqlite3"), str(DATA_DIR / "test-callsop.sqlite3")
        )
    }


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("CALLSOP_TIME_ZONE", "Asia/Taipei")

STATIC_URL = "/static/"
STATIC_ROOT = (
    os.environ.get("CALLSOP_STATIC_ROOT") or None
)  # collectstatic only; served from the app
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"


class ForbiddenOneLine(logging.Filter):
    """A refused request (403) is logged as one line, without its traceback:
    a refusal is the desk working, not a fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"forbidden_one_line": {"()": f"{__name__}.ForbiddenOneLine"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["forbidden_one_line"]},
        "requests": {"class": "logging.StreamHandler"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    # One line per request (desk/request_log.py), on stderr, apart from the warnings.
    "loggers": {
        "callsop.requests": {"handlers": ["requests"], "level": "INFO", "propagate": False}
    },
}
