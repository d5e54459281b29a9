"""What the scorecard adds for a call with recordings: their progress, the
player, a ▶ moment for each line and piece of evidence, the basis of each
verdict, and the scorecard from before the recording beside the new one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from callsop.desk.models import Call, Recording, ScorecardOriginal
from callsop.desk.services.recordings import recording_status

BASIS_LABELS = {"machine": "機器轉寫", "voice": "僅聲音判斷"}
_SPEECH_BASIS = {"machine": "machine", "voice-only": "voice"}
VERDICT_LABELS = {"pass": "通過", "fail": "未通過", "na": "不適用"}


def basis_of(finding: dict[str, Any], call: Call) -> str | None:
    """機器轉寫 / 僅聲音判斷 for a verdict that rests on a recording: from the
    finding's `basis`, else from the call's speech when the evidence is speech."""
    basis = finding.get("basis")
    if basis is None and call.speech and any("utterance" in e for e in finding.get("evidence", [])):
        basis = _SPEECH_BASIS.get(str(call.speech.get("source")))
    return BASIS_LABELS.get(basis) if basis else None


def evidence_moments(finding: dict[str, Any], utterances: list[dict[str, Any]]) -> None:
    """Gives each evidence item a `play` moment (call seconds): its `t`, or
    the start of the utterance it points at."""
    for item in finding.get("evidence", []):
        if item.get("t") is not None:
            item["play"] = item["t"]
        elif item.get("utterance") is not None and 0 <= item["utterance"] < len(utterances):
            item["play"] = utterances[item["utterance"]]["start"]


def listening_context(call: Call, findings: list[dict[str, Any]]) -> dict[str, Any]:
    recordings = list(Recording.objects.filter(call=call))
    player = next((r for r in recordings if r.state == Recording.State.HEARD and r.playable), None)
    original = ScorecardOriginal.objects.filter(call=call).first()
    return {
        "recordings": [{"r": r, "status": recording_status(r)} for r in recordings],
        "player": player,
        "player_url": reverse("recording-audio", args=[player.pk]) if player else None,
        "original": original,
        "changes": _changes(original, findings) if original else [],
        "speech_label": _speech_label(call),
        "recording_max_mb": settings.CALLSOP_RECORDING_MAX_MB,
    }


def _speech_label(call: Call) -> str | None:
    if not call.speech:
        return None
    source = call.speech.get("source")
    if source == "machine":
        return "逐字稿由錄音機器轉寫，可能有誤；請以錄音為準。"
    if source == "voice-only":
        return "依錄音判斷誰在何時說話（僅聲音，無文字）。"
    return None


def _changes(original: ScorecardOriginal, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    before = {f["rule"]: f for f in original.findings}
    out = []
    for f in findings:
        old = before.get(f["rule"])
        if old is not None and old["verdict"] != f["verdict"]:
            out.append(
                {
                    "rule": f["rule"],
                    "title": f["title"],
                    "before": VERDICT_LABELS.get(old["verdict"], old["verdict"]),
                    "after": VERDICT_LABELS.get(f["verdict"], f["verdict"]),
                    "after_verdict": f["verdict"],
                }
            )
    return out
