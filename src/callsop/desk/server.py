"""`callsop serve` and `callsop demo`: migrate, (load the demo,) and serve the desk."""

from __future__ import annotations

import os
import sys
from typing import Any, ClassVar


def _demo_secret_key() -> str:
    """A key made once for this checkout's demo database, kept beside it."""
    import secrets
    from pathlib import Path

    folder = Path(os.environ.get("CALLSOP_DATA_DIR", "var"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


_demo = False


SHUTDOWN_S = 3  # how long a stopping server waits for the requests under way
STREAM_PATHS = frozenset({"/desk/push/"})  # the long-lived requests: served as coroutines
# Request threads a process: the pages' requests hold Python's one lock
# between their many database round trips, so more threads in a process
# wait on one another (benchmarks/chain_load.py, 300 desks on 2 cores:
# actions p95 about 45-60 ms with 2 or 3 threads, 80-150 ms with 8). More
# processes, not threads, use more cores. A body is read before a thread
# takes its request (read_ahead); a slow upload past its first MiB, or a
# slow download, holds a thread: a buffering proxy in front spares them.
THREADS = 3


def asgi_application(threads: int = THREADS) -> Any:
    """The desk over ASGI: a push stream (views/push.py) is a coroutine of
    Django's ASGI handler, costing no thread however long it stays open; every
    other request goes to Django's WSGI handler on a fixed pool of `threads`.
    Measured with benchmarks/desk_load.py, Django's ASGI handler costs each
    sync request about half as much CPU again as WSGI (a new thread and
    several thread hops a request), and a connection kept per request
    thread outlives it; the fixed pool keeps one persistent database
    connection a thread, as a thread-pool WSGI server does."""
    from a2wsgi import WSGIMiddleware
    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application

    streams = get_asgi_application()
    pages = WSGIMiddleware(get_wsgi_application(), workers=threads)  # type: ignore[arg-type]

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in STREAM_PATHS:
            await streams(scope, receive, send)
        elif scope["type"] == "http":
            await pages(scope, await read_ahead(receive), send)  # type: ignore[arg-type]
        else:
            await pages(scope, receive, send)  # type: ignore[arg-type]

    return application


READ_AHEAD_BYTES = 1 << 20  # every form the desk posts; an upload's first MiB


async def read_ahead(receive: Any, limit: int = READ_AHEAD_BYTES) -> Any:
    """Reads a request's body in the event loop before a thread takes the
    request, so a client that sends it slowly (a bad network, or on purpose)
    holds no thread meanwhile. Past `limit` bytes the thread reads the rest
    as it comes, as before. Gives a `receive` that hands out what was read,
    then what comes next."""
    read: list[dict[str, Any]] = []
    size = 0
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
        size += len(message.get("body", b""))
        if size >= limit:
            break
    read.reverse()

    async def replay() -> Any:
        return read.pop() if read else await receive()

    return replay


def setup(*, demo: bool) -> None:
    global _demo
    _demo = demo
    if demo and not os.environ.get("CALLSOP_SECRET_KEY"):
        os.environ["CALLSOP_SECRET_KEY"] = _demo_secret_key()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callsop.desk.settings")
    import django

    django.setup()


SECRET_KEY_LENGTH = 32


def secret_key_check(key: str) -> None:
    """Refuses a key anyone could know or guess: the public development key,
    or one shorter than SECRET_KEY_LENGTH. Only the demo, which makes its
    own, may serve without one."""
    from django.core.exceptions import ImproperlyConfigured

    from callsop.desk.settings import DEFAULT_SECRET_KEY

    if key == DEFAULT_SECRET_KEY:
        raise ImproperlyConfigured(
            "CALLSOP_SECRET_KEY is not set: the public development key is only for `callsop demo`"
            " (make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if len(key) < SECRET_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"CALLSOP_SECRET_KEY is too short ({len(key)} characters):"
            f" give at least {SECRET_KEY_LENGTH} random characters"
            " (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # Table statistics, so SQLite picks the right index on big tables.
            cursor.execute("PRAGMA optimize=0x10002")


def workers_check(workers: int, threads: int = THREADS) -> None:
    """Refuses more than one process where the database cannot share its writes."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connection

    if workers < 1:
        raise ImproperlyConfigured(f"--workers {workers}: give a number above 0")
    if threads < 1:
        raise ImproperlyConfigured(f"--threads {threads}: give a number above 0")
    if workers > 1 and connection.vendor == "sqlite":
        raise ImproperlyConfigured(
            f"--workers {workers} needs PostgreSQL (DATABASE_URL=postgres://…): SQLite takes"
            " one writer at a time and queues the writers of one process only, so on SQLite"
            " the desk is served by one process (--workers 1)"
        )


def _gunicorn(application: Any, options: dict[str, Any]) -> None:
    """Runs gunicorn's pre-forking server, set up here rather than from a config file."""
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    Server().run()


def _bind(host: str, port: int) -> str:
    return f"[{host.strip('[]')}]:{port}" if ":" in host else f"{host}:{port}"


def _uvicorn_options() -> dict[str, Any]:
    return {
        # X-Forwarded-* are the desk's to trust (CALLSOP_PROXY, SECURE_PROXY_SSL_HEADER),
        # not the server's: uvicorn passes them on untouched.
        "proxy_headers": False,
        "access_log": False,  # one line per request comes from the desk itself
        "lifespan": "off",  # Django has no lifespan handler
        # Idle connections are kept longer than a proxy's own idle limit
        # (nginx: 60 s), so the proxy closes them.
        "timeout_keep_alive": 75,
        # A push stream never ends by itself: on SIGTERM the server waits this
        # long for the requests under way, then closes the streams (the pages
        # reconnect to the next server).
        "timeout_graceful_shutdown": SHUTDOWN_S,
    }


def _worker_class() -> type:
    from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped]

    class Worker(UvicornWorker):  # type: ignore[misc]
        CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
            "loop": "asyncio",
            "http": "auto",
            **_uvicorn_options(),
        }

    return Worker


def serve(host: str, port: int, threads: int = THREADS, workers: int = 1) -> None:
    """The desk on uvicorn: one process, or `workers` processes forked by
    gunicorn that share the database; in each, push streams are coroutines
    and the other requests run on `threads` threads (asgi_application)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        if not _demo:
            secret_key_check(settings.SECRET_KEY)
        workers_check(workers, threads)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"callsop: {exc}\n")
        raise SystemExit(2) from None

    from callsop.engine.call import Compiled
    from callsop.policy import default_policy

    Compiled.of(default_policy())  # the phrase automata, built before the first call ends

    sys.stderr.write(f"callsop desk: http://{host}:{port}/  (Ctrl-C stops)\n")
    application = asgi_application(threads)
    if workers > 1:
        from django.db import connections
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - the views imported once, before the fork
        connections.close_all()  # no database connection is shared by the forked processes
        _gunicorn(
            application,
            {
                "bind": [_bind(host, port)],
                "workers": workers,
                "worker_class": _worker_class(),
                "keepalive": 75,
                "graceful_timeout": SHUTDOWN_S + 2,
                "preload_app": True,
                "proc_name": "callsop",
                "control_socket_disable": True,  # one per user's home: two servers would share it
                "accesslog": None,
                "errorlog": "-",
                "secure_scheme_headers": {},
                "forwarded_allow_ips": "",
            },
        )
        return
    # The demo hears uploaded recordings with a worker of its own; a real
    # desk runs `callsop worker` beside the server (or on other machines).
    worker = None
    if _demo:
        from callsop.desk.worker import Background

        worker = Background().start()
        sys.stderr.write("callsop demo: a worker hears uploaded recordings in the background\n")
    try:
        import uvicorn

        uvicorn.run(
            application, host=host.strip("[]"), port=port, log_level="warning", **_uvicorn_options()
        )
    finally:
        if worker is not None:
            worker.stop()


def load_demo_once() -> bool:
    """Loads the demo chain into an empty database; False when one is there already."""
    from callsop.desk.demo import load_demo
    from callsop.desk.models import Chain

    if Chain.objects.exists():
        return False

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            width = 30
            filled = width * done // total
            sys.stderr.write(
                f"\r載入示範通話 [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            )
            if done == total:
                sys.stderr.write("\n")

    load_demo(on_progress=progress)
    return True


def print_logins() -> None:
    from callsop.desk.demo import PASSWORD, PEOPLE

    roles = {"clerk": "櫃檯", "manager": "館長", "hq": "總部"}
    clubs = {"xinyi": "信義會館", "banqiao": "板橋會館", None: "總部"}
    sys.stdout.write(f"\n示範帳號（密碼一律 {PASSWORD}）：\n")
    for username, club, role, name, *_ in PEOPLE:
        sys.stdout.write(f"  {username:<12} {clubs[club]} {roles[role]} {name}\n")
    sys.stdout.write("\n")
