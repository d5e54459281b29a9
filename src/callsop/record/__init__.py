"""The call record: one phone call as data, in the `callsop.call/1` exchange format."""

from __future__ import annotations

from callsop.record.model import (
    CallRecord,
    Complaint,
    Customer,
    Escalation,
    Event,
    Memo,
    Note,
    Plan,
    Staff,
    Task,
    Utterance,
)
from callsop.record.reader import Loaded, Refusal, read_bytes, read_paths

__all__ = [
    "CallRecord",
    "Complaint",
    "Customer",
    "Escalation",
    "Event",
    "Loaded",
    "Memo",
    "Note",
    "Plan",
    "Refusal",
    "Staff",
    "Task",
    "Utterance",
    "read_bytes",
    "read_paths",
]
