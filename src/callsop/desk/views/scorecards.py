"""A finished call: its scorecard, transcript, record download and disputes."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_POST

from callsop.desk.models import Call, Dispute, Scorecard, Staff
from callsop.desk.services.access import call_for, dispute_for
from callsop.desk.services.amendments import amendments_settle, call_amend_transcript
from callsop.desk.services.errors import ActionError
from callsop.desk.services.record import record_export
from callsop.desk.services.scoring import (
    dispute_raise,
    dispute_settle,
    graded_policy,
    scores_recheck,
)
from callsop.desk.validation import clean_model_text
from callsop.desk.views.amendments import amendment_context
from callsop.desk.views.common import hx_redirect, staff_view
from callsop.desk.views.listening import basis_of, evidence_moments, listening_context
from callsop.report.messages_zh import zh
from callsop.rules import CATALOGUE

RULES = {rule.id: rule for rule in CATALOGUE}
_ORDER = {"fail": 0, "pass": 1, "na": 2}
# The timeline's words, translated where shown (the desk's catalogue,
# locale/zh_Hant); the engine's timeline gives the event types alone.
EVENT_LABELS = {
    "dialing": gettext_noop("dialling"),
    "ringing": gettext_noop("ringing"),
    "answered": gettext_noop("answered"),
    "hold": gettext_noop("on hold"),
    "resume": gettext_noop("resumed"),
    "transfer": gettext_noop("transferred"),
    "hangup": gettext_noop("hung up"),
}
# A rule of the other direction is na with the call's direction as its reason;
# summed up, it reads as which calls those rules are for.
_NA_SUMMARY = {
    "inbound call": gettext_noop("outbound calls only"),
    "outbound call": gettext_noop("inbound calls only"),
}
SIDE_LABELS = {
    "staff": gettext_noop("staff"),
    "customer": gettext_noop("customer"),
    "network": gettext_noop("line dropped"),
}


def _marked(text: str, words: list[str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is one of the deciding words) pairs."""
    spans: list[tuple[int, int]] = []
    for word in words:
        start = text.find(word) if word else -1
        if start >= 0:
            spans.append((start, start + len(word)))
    pieces, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        pieces.append((text[pos:start], False))
        pieces.append((text[start:end], True))
        pos = end
    pieces.append((text[pos:], False))
    return [p for p in pieces if p[0]]


def _na_reason(finding: dict[str, Any]) -> str:
    summary = _NA_SUMMARY.get(finding["message"])
    return gettext(summary) if summary else zh(finding["message"])


def by_reason(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The na findings with those of one reason together, the commonest reason first."""
    counts = Counter(_na_reason(f) for f in findings)
    return sorted(findings, key=lambda f: (-counts[_na_reason(f)], _na_reason(f), f["rule"]))


def na_reasons(findings: list[dict[str, Any]], shown: int = 3) -> list[tuple[str, int]]:
    """Why the rules were not applicable, in the managers' words, the commonest
    first: at most `shown` reasons, then one "其他原因" for the rest."""
    counts = Counter(_na_reason(f) for f in findings)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if len(ranked) <= shown + 1:
        return ranked
    rest = sum(n for _, n in ranked[shown:])
    return [*ranked[:shown], (gettext("other reasons"), rest)]


def scorecard_page(
    request: HttpRequest, staff: Staff, call: Call, *, error: ActionError | None = None
) -> HttpResponse:
    # This call only, if its window has closed: the worker does the rest.
    if scores_recheck(call_ids=[call.pk]) | amendments_settle(call):
        call.refresh_from_db()
    card = Scorecard.objects.filter(call=call).first()
    disputes = {d.rule: d for d in call.disputes.all()}
    findings = []
    evidence_words: dict[int, list[str]] = {}
    for f in card.findings if card else []:
        rule = RULES.get(f["rule"])
        for item in f.get("evidence", []):
            if "utterance" in item:
                evidence_words.setdefault(item["utterance"], []).append(item.get("words", ""))
        f = {**f, "evidence": [dict(e) for e in f.get("evidence", [])]}
        evidence_moments(f, call.utterances)
        findings.append(
            {
                **f,
                "title": rule.title if rule else f["rule"],
                "dispute": disputes.get(f["rule"]),
                "basis_label": basis_of(f, call),
            }
        )
    findings.sort(key=lambda f: (_ORDER.get(f["verdict"], 3), f["rule"]))
    not_applicable = by_reason([f for f in findings if f["verdict"] == "na"])
    transcript = [
        {
            "index": i,
            "speaker": u["speaker"],
            "start": u["start"],
            "length": round(u["end"] - u["start"], 1),
            "syllables": u.get("syllables"),
            "pieces": _marked(u.get("text", ""), evidence_words.get(i, [])),
            "decisive": i in evidence_words,
        }
        for i, u in enumerate(call.utterances)
    ]
    context: dict[str, Any] = {
        "call": call,
        "card": card,
        "findings": findings,
        "judged": [f for f in findings if f["verdict"] != "na"],
        "not_applicable": not_applicable,
        "na_reasons": na_reasons(not_applicable),
        "counts": {
            v: sum(1 for f in findings if f["verdict"] == v) for v in ("pass", "fail", "na")
        },
        "events": [
            {
                "e": e,
                "label": gettext(EVENT_LABELS[e.type]) if e.type in EVENT_LABELS else e.type,
                "by": gettext(SIDE_LABELS[e.by]) if e.by in SIDE_LABELS else e.by,
            }
            for e in call.events.select_related("to")
        ],
        "transcript": transcript,
        "can_dispute": call.clerk_id == staff.pk,
        "can_settle": staff.role == Staff.Role.MANAGER and staff.club_id == call.club_id,
        "can_attach": call.clerk_id == staff.pk
        or (staff.role == Staff.Role.MANAGER and staff.club_id == call.club_id),
        "error": error,
        # Ended moments ago, its grade still with a worker: the page asks again.
        "scoring": card is None and call.state == Call.State.ENDED,
        "memos": call.memos.select_related("for_staff"),
        "tasks": call.tasks.all(),
        # The record names staff by id; the page names them.
        "staff_names": {
            str(pk): name
            for pk, name in Staff.objects.filter(chain_id=call.club.chain_id).values_list(
                "pk", "name"
            )
        },
        **listening_context(call, findings),
        **amendment_context(staff, call, card, request.POST if error else None),
        # Titles that quote a threshold quote the one the call was graded with.
        "timing": graded_policy(call).timing,
    }
    return render(request, "desk/scorecard.html", context, status=400 if error else 200)


@staff_view
def call_record(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    call = call_for(staff, pk)
    body = json.dumps(record_export(call), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{call.record_id}.json"'
    return response


@require_POST
@staff_view
def dispute_new(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    call = call_for(staff, pk)
    try:
        dispute_raise(
            call=call,
            clerk=staff,
            rule=request.POST.get("rule", ""),
            comment=clean_model_text(Dispute, request.POST, ["comment"]).get("comment", ""),
        )
    except ActionError as exc:
        return scorecard_page(request, staff, call, error=exc)
    return hx_redirect(request, reverse("call", args=[call.pk]))


@require_POST
@staff_view
def transcript_upload(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    call = call_for(staff, pk, write=True)
    upload = request.FILES.get("transcript")
    try:
        if call.clerk_id != staff.pk and not (
            staff.role == Staff.Role.MANAGER and staff.club_id == call.club_id
        ):
            raise ActionError("只有接聽的館員或館長可以加入逐字稿。")
        if upload is None:
            raise ActionError("請選擇逐字稿檔案（.vtt 或 .json）。", field="transcript")
        # Read whole before anything is written; kept as an amendment, then scored again.
        call_amend_transcript(
            call=call,
            staff=staff,
            name=upload.name or "transcript",
            data=upload.read(),
            reason=request.POST.get("reason", ""),
        )
    except ActionError as exc:
        return scorecard_page(request, staff, call, error=exc)
    return hx_redirect(request, reverse("call", args=[call.pk]))


@require_POST
@staff_view
def dispute_decide(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    dispute = dispute_for(staff, pk)
    call = call_for(staff, dispute.call_id)
    try:
        dispute_settle(
            dispute=dispute,
            manager=staff,
            overturn=request.POST.get("decision") == Dispute.State.OVERTURNED,
            answer=clean_model_text(Dispute, request.POST, ["answer"]).get("answer", ""),
        )
    except ActionError as exc:
        return scorecard_page(request, staff, call, error=exc)
    return hx_redirect(request, reverse("call", args=[call.pk]))
