"""The desk's tables. The engine's call record is rebuilt from them (`services.record`)."""

from callsop.desk.models.amendments import Amendment
from callsop.desk.models.calls import Call, CallEvent
from callsop.desk.models.inbox import Complaint, ComplaintNote, Escalation, Memo, Task
from callsop.desk.models.jobs import WorkerSeen
from callsop.desk.models.knowledge import KnowledgeItem
from callsop.desk.models.people import Chain, Club, PolicyChange, Staff
from callsop.desk.models.recordings import Recording, RecordingFile, ScorecardOriginal
from callsop.desk.models.scoring import DailyStat, Dispute, RuleDaily, Scorecard
from callsop.desk.models.telephony import ClubLine, DialJob, PbxEvent

__all__ = [
    "Amendment",
    "Call",
    "CallEvent",
    "Chain",
    "Club",
    "ClubLine",
    "Complaint",
    "ComplaintNote",
    "DailyStat",
    "DialJob",
    "Dispute",
    "Escalation",
    "KnowledgeItem",
    "Memo",
    "PbxEvent",
    "PolicyChange",
    "Recording",
    "RecordingFile",
    "RuleDaily",
    "Scorecard",
    "ScorecardOriginal",
    "Staff",
    "Task",
    "WorkerSeen",
]
