"""The scorecard's 補充說明: each amendment beside the original, and the
original grade next to the one after the amendments."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import FieldDoesNotExist

from callsop.desk.models import Amendment, Call, Scorecard, Staff
from callsop.desk.services.amendments import REASON_MAX, may_amend
from callsop.desk.services.calls import CALLER_FIELDS, NOTE_FIELDS, in_wrap_up, wrap_up_left
from callsop.rules import CATALOGUE

_TITLES = {rule.id: rule.title for rule in CATALOGUE}
VERDICT_WORDS = {"pass": "✓ 通過", "fail": "✗ 未通過", "na": "— 不適用"}
_ORDER = {"fail": 0, "pass": 1, "na": 2}
_HIDDEN = ("phone_key", "customer_known")  # follow the phone and the name


def _label(name: str) -> str:
    if name == "utterances":
        return "逐字稿"
    if name == "speech":
        return "逐字稿來源"
    try:
        return str(getattr(Call._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:
        return name


def _shown(name: str, value: Any) -> str:
    if name == "utterances":
        return f"{len(value)} 句" if value else "（沒有逐字稿）"
    if name == "speech":
        return {"machine": "機器轉寫", "voice-only": "僅聲音"}.get(
            (value or {}).get("source", ""), "人工逐字稿"
        )
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None or value == "":
        return "（空白）"
    return str(value)


def _rows(amendment: Amendment) -> list[dict[str, Any]]:
    return [
        {
            "label": _label(name),
            "before": _shown(name, amendment.before.get(name)),
            "after": _shown(name, value),
            "was_blank": amendment.before.get(name) in (None, "", []),
        }
        for name, value in amendment.after.items()
        if name not in _HIDDEN
    ]


def _counts(findings: list[dict[str, Any]]) -> dict[str, int]:
    return {v: sum(1 for f in findings if f["verdict"] == v) for v in ("pass", "fail", "na")}


def _changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, str]]:
    was = {f["rule"]: f["verdict"] for f in before}
    out = []
    for f in after:
        old = was.get(f["rule"])
        if old is not None and old != f["verdict"]:
            out.append(
                {
                    "rule": f["rule"],
                    "title": _TITLES.get(f["rule"], f["rule"]),
                    "before": VERDICT_WORDS.get(old, old),
                    "after": VERDICT_WORDS.get(f["verdict"], f["verdict"]),
                    "after_verdict": f["verdict"],
                }
            )
    return out


def amendment_context(
    staff: Staff, call: Call, card: Scorecard | None, posted: Any = None
) -> dict[str, Any]:
    """What the scorecard shows of the call's amendments; `posted` is a
    refused amendment's form, shown again as it was typed."""
    amendments = list(call.amendments.select_related("by"))
    typed = posted if posted is not None and "amend" in posted else None
    disputes = list(call.disputes.select_related("raised_by", "settled_by"))
    context: dict[str, Any] = {
        "can_amend": call.state == Call.State.ENDED and may_amend(staff, call),
        "amend_reason_max": REASON_MAX,
        "amend_fields": [
            (name, _label(name), typed.get(name, "") if typed else getattr(call, name))
            for name in (*CALLER_FIELDS, *NOTE_FIELDS)
        ],
        "amend_reason": typed.get("reason", "") if typed else "",
        "amend_typed": typed is not None,
        # Its clerk may still be finishing the note: the grade is not final yet.
        "wrap_up_left": math.ceil(wrap_up_left(call)),
        # ... and does so here, with the as-you-type save, as part of the call.
        "wrap_up": in_wrap_up(call, staff),
        "wrap_up_fields": [(name, _label(name), getattr(call, name)) for name in CALLER_FIELDS],
        "wrap_up_note": [(name, _label(name), getattr(call, name)) for name in NOTE_FIELDS],
        "amendments": [],
        "amended": None,
    }
    if not amendments:
        return context
    first = amendments[0]
    versions = [
        {
            "number": 0,
            "label": "原始評分",
            "score": first.score_before,
            "at": first.scored_before_at,
        }
    ]
    for a in amendments:
        versions.append(
            {
                "number": a.number,
                "label": f"補充 #{a.number} 後",
                "score": a.score_after,
                "at": a.scored_after_at,
                "pending": not a.rescored,
            }
        )
    current = list(card.findings) if card else []
    context["amendments"] = [
        {
            "a": a,
            "rows": _rows(a),
            "first_transcript": a.kind == Amendment.Kind.TRANSCRIPT
            and not a.before.get("utterances"),
        }
        for a in amendments
    ]
    context["amended"] = {
        "original": {
            "score": first.score_before,
            "at": first.scored_before_at,
            "findings": [
                {**f, "title": _TITLES.get(f["rule"], f["rule"])}
                for f in sorted(
                    first.findings_before, key=lambda f: (_ORDER.get(f["verdict"], 3), f["rule"])
                )
            ],
            "counts": _counts(first.findings_before),
        },
        "current": {
            "score": card.score if card else None,
            "at": card.scored_at if card else None,
            "version": card.version if card else 0,
            "counts": _counts(current),
        },
        "changes": _changes(first.findings_before, current),
        "versions": versions,
        "disputes": [
            {
                "d": d,
                "title": _TITLES.get(d.rule, d.rule),
                # The scorecard version it was raised on.
                "version": sum(1 for a in amendments if a.at <= d.raised_at),
            }
            for d in disputes
        ],
    }
    return context
