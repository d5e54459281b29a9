"""The PBX's webhook: signed call events pushed by a PBX or a cloud phone service.

A push is verified and read before the database is touched, then stored in
a few short inserts. A small push (one call's news) is applied before the
answer, so the call is on the desk when the PBX hears 202; a big one is
left to this process's drainer, which starts on it at once, and the answer
says how many events are still pending."""

from __future__ import annotations

import os
import time

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from callsop.desk.feed import drain_soon
from callsop.desk.services.telephony import pbx_calls_apply, pbx_events_pending, pbx_events_store
from callsop.telephony import webhook

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
    except webhook.WebhookError as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status)
    stored = pbx_events_store(source="webhook", events=events)
    applied = 0
    if len(events) <= APPLIED_IN_REQUEST:
        applied = pbx_calls_apply(call_ids=[e.call_id[:200] for e in events]).applied
    pending = pbx_events_pending()
    if pending:
        drain_soon()
    return JsonResponse(
        {"received": len(events), "stored": stored, "applied": applied, "pending": pending},
        status=202,
    )
