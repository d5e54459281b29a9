"""`/healthz`: whether this app process can serve, for a proxy or a monitor.

    {"database": "ok", "queue_depth": 3, "oldest_ready_s": 4.2,
     "workers_seen": 2, "pbx_backlog": 0,
     "push": {"transport": "notify", "listening": true, "streams": 12}}

200 when the database answers, 503 (database: error, the counts null) when
it does not. queue_depth is the background jobs waiting for a `callsop
worker` now (oldest_ready_s: how long the oldest has waited; workers_seen:
the workers heard from in the last minute); pbx_backlog the PBX events stored
and not yet applied; push how this process hears the other processes'
changes (null and false until its first stream opens; see callsop.desk.push).
No log-in is asked and nothing in it names a person, a call or a setting."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_tasks_db.models import DBTaskResult

from callsop.desk import push
from callsop.desk.services.jobs import queue_health
from callsop.desk.services.telephony import pbx_events_pending

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        queue_depth = DBTaskResult.objects.ready().count()
        pbx_backlog = pbx_events_pending()
        queue = queue_health()
    except DatabaseError as exc:
        logger.warning("health check: the database did not answer: %s", exc)
        return JsonResponse(
            {
                "database": "error",
                "queue_depth": None,
                "oldest_ready_s": None,
                "workers_seen": None,
                "pbx_backlog": None,
                "push": push.state(),
            },
            status=503,
        )
    return JsonResponse(
        {
            "database": "ok",
            "queue_depth": queue_depth,
            **queue,
            "pbx_backlog": pbx_backlog,
            "push": push.state(),
        }
    )
