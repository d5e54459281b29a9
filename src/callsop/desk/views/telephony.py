"""The PBX's webhook: signed call events pushed by a PBX or a cloud phone service."""

from __future__ import annotations

import os
import time

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from callsop.desk.services.telephony import pbx_event_store, pbx_events_apply
from callsop.telephony import webhook

SECRET_ENV = "CALLSOP_WEBHOOK_SECRET"
_REPLAYS = webhook.Replays()


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
    stored = [pbx_event_store(source="webhook", event=e) for e in events]
    applied = pbx_events_apply()
    return JsonResponse(
        {
            "received": len(events),
            "stored": sum(1 for s in stored if s is not None),
            "applied": applied,
        },
        status=202,
    )
