"""Shared builders for the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "calls"


def make_record(**fields: Any) -> dict[str, Any]:
    """A valid inbound call record; keyword arguments replace its fields."""
    record: dict[str, Any] = {
        "schema": "callsop.call/1",
        "id": "xinyi-20261127-0001",
        "club": "xinyi",
        "direction": "inbound",
        "started_at": "2026-11-27T10:02:11+08:00",
        "customer": {"name": "王大明", "phone": "0912345678", "known": False},
        "events": [
            {"t": 0.0, "type": "ringing"},
            {"t": 5.0, "type": "answered"},
            {"t": 60.0, "type": "hangup", "by": "customer"},
        ],
        "utterances": [
            {"speaker": "staff", "start": 5.5, "end": 8.0, "text": "您好，信義會館，我是怡君。"},
            {
                "speaker": "customer",
                "start": 8.5,
                "end": 12.0,
                "text": "你好，我姓王，想問體驗課。",
            },
            {"speaker": "staff", "start": 12.5, "end": 16.0, "text": "王先生您好，週六上午有。"},
            {"speaker": "staff", "start": 55.0, "end": 58.0, "text": "謝謝您，再見！"},
        ],
    }
    record.update(fields)
    return record


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
