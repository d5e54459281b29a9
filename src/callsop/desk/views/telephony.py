"""The PBX's webhook: signed call events pushed by a PBX or a cloud phone service.

A push is verified, read and checked field by field (validation.check_event)
before the database is touched, then stored in one transaction: a push
refused stores nothing. A small push (one call's news) is applied before the
answer, so the call is on the desk when the PBX hears 202; a big one is
left to this process's drainer, which starts on it at once, and the answer
says how many events are still pending."""

from __future__ import annotations

import dataclasses
import logging
import os
import time

from django.db import DatabaseError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from callsop.desk import validation
from callsop.desk.feed import drain_soon
from callsop.desk.services.errors import ActionError
from callsop.desk.services.telephony import pbx_calls_apply, pbx_events_pending, pbx_events_store
from callsop.telephony import webhook

logger = logging.getLogger(__name__)
SECRET_ENV = "CALLSOP_WEBHOOK_SECRET"
_REPLAYS = webhook.Replays()
APPLIED_IN_REQUEST = 50  # events; a bigger push is applied after the answer


@csrf_exempt  # signed with HMAC-SHA256 instead; no browser posts here
@require_POST
def pbx_webhook(request: HttpRequest) -> JsonResponse:
    secret = os.environ.get(SECRET_ENV, "").encode()
    if not secret:
        return JsonResponse({"error": f"webhook disabled: {SECRET_ENV} is not set"}, status=503)
    body = request.body
    try:
        webhook.verify(
            body,
            request.headers.get(webhook.HEADER),
            secret,
            now=time.time(),
            replays=_REPLAYS,
        )
        events = webhook.events_from(body)
        for index, event in enumerate(events):
            validation.check_event(index, dataclasses.asdict(event))
    except webhook.WebhookError as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status)
    except ActionError as exc:
        return JsonResponse({"error": exc.message, "field": exc.field}, status=400)
    with transaction.atomic():  # all of the push or, on an error, none of it
        stored = pbx_events_store(source="webhook", events=events)
    applied = 0
    if len(events) <= APPLIED_IN_REQUEST:
        try:
            applied = pbx_calls_apply(call_ids=[e.call_id for e in events]).applied
        except DatabaseError:  # stored all the same: the drainer applies them
            logger.warning("PBX push of %d events stored; applying them waits", len(events))
    pending = pbx_events_pending()
    if pending:
        drain_soon()
    return JsonResponse(
        {"received": len(events), "stored": stored, "applied": applied, "pending": pending},
        status=202,
    )
