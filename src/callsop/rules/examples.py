"""Each rule's example calls: data in `cases/<family>.json`, run as tests and
shown on the rule's page.

A file maps rule ids to {"pass": [case, ...], "fail": [case, ...]}, and
where a flow of the SOP puts a call outside the rule, "na": [case, ...]. A case is
a call record with the dull parts left out (schema, id, started_at and
direction default below); a case with "batch" is several calls scored
together, and the first of them is the one judged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import msgspec

from callsop.record.model import SCHEMA, CallRecord, check_record

_DEFAULTS = {
    "schema": SCHEMA,
    "started_at": "2026-11-27T10:00:00+08:00",
    "direction": "inbound",
}


@dataclass(frozen=True)
class Example:
    rule: str
    expect: str  # "pass", "fail" or "na"
    title: str
    calls: tuple[CallRecord, ...]  # calls[0] is judged

    @property
    def call(self) -> CallRecord:
        return self.calls[0]


def _record(rule: str, expect: str, n: int, m: int, data: dict[str, Any]) -> CallRecord:
    fields = {**_DEFAULTS, "id": f"{rule}:{expect}:{n}" + (f":{m}" if m else ""), **data}
    fields.pop("title", None)
    record = msgspec.convert(fields, CallRecord, str_keys=True)
    check_record(record)
    return record


@lru_cache(maxsize=1)
def all_examples() -> dict[str, tuple[Example, ...]]:
    out: dict[str, list[Example]] = {}
    folder = resources.files("callsop.rules").joinpath("cases")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        cases = json.loads(entry.read_text("utf-8"))
        for rule, by_verdict in cases.items():
            for expect, items in by_verdict.items():
                for n, case in enumerate(items, start=1):
                    parts = case.get("batch", [case])
                    calls = tuple(_record(rule, expect, n, m, p) for m, p in enumerate(parts))
                    title = case.get("title", "")
                    out.setdefault(rule, []).append(Example(rule, expect, title, calls))
    return {rule: tuple(items) for rule, items in out.items()}


def examples_for(rule_id: str) -> tuple[Example, ...]:
    return all_examples().get(rule_id, ())
