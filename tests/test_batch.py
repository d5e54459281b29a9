"""Big batches are scored on several cores with exactly the serial result."""

from __future__ import annotations

import json

from callsop.batch import PARALLEL_FROM, score_pieces
from callsop.policy import default_policy
from callsop.record.reader import split_bytes
from tests.helpers import dumps, make_record


def _batch() -> bytes:
    count = PARALLEL_FROM + 100
    lines = []
    for n in range(count):
        minutes, seconds = divmod(n * 7, 60)
        started = f"2026-11-27T{10 + minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}+08:00"
        record = make_record(id=f"c{n}", started_at=started)
        record["customer"] = {"phone": f"09{n:08d}"}
        lines.append(record)
    # An unanswered call in the first worker's half, retried 4 minutes later
    # in the second's: history must be matched across the cut.
    cut = count // 2
    for n, started in ((cut - 1, "2026-11-28T09:00:00+08:00"), (cut, "2026-11-28T09:04:30+08:00")):
        lines[n] = make_record(
            id=f"c{n}",
            direction="outbound",
            started_at=started,
            customer={"phone": "0911-222-333" if n < cut else "+886 911 222 333"},
            events=[{"t": 0.0, "type": "ringing"}, {"t": 30.0, "type": "hangup", "by": "staff"}],
            utterances=[],
        )
    bad = lines[cut + 10]
    bad["direction"] = "sideways"
    return "\n".join(dumps(r) for r in lines).encode()


def test_parallel_scoring_matches_serial_scoring() -> None:
    pieces = list(split_bytes("batch.jsonl", _batch()))
    serial = score_pieces(pieces, default_policy(), jobs=1, as_json=True)
    parallel = score_pieces(pieces, default_policy(), jobs=2, as_json=True)
    assert parallel.lines == serial.lines
    assert [str(r) for r in parallel.refusals] == [str(r) for r in serial.refusals]
    assert parallel.count == serial.count == len(pieces) - 1
    [refusal] = parallel.refusals
    assert refusal.field == "direction" and refusal.line == len(pieces) // 2 + 11
    cut = len(pieces) // 2
    retried = json.loads(parallel.lines[cut - 1])
    verdicts = {f["rule"]: f for f in retried["findings"]}
    assert retried["call"] == f"c{cut - 1}"
    assert verdicts["outbound.retry-after-no-answer"]["verdict"] == "pass"
    assert verdicts["outbound.retry-after-no-answer"]["evidence"][1]["call"] == f"c{cut}"


def test_progress_reaches_the_whole_batch() -> None:
    pieces = list(split_bytes("batch.jsonl", _batch()))
    seen: list[int] = []
    score_pieces(pieces, default_policy(), jobs=2, on_progress=seen.append)
    assert seen and seen[-1] == len(pieces) - 1
    assert seen == sorted(seen)
