"""Big batches are scored on several cores with exactly the serial result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from callsop.batch import PARALLEL_FROM, score_units
from callsop.policy import default_policy
from callsop.record.reader import LineRange, load_paths, split_bytes, split_paths
from tests.helpers import ROOT, dumps, make_record


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
    data = _batch()
    pieces = list(split_bytes("batch.jsonl", data))
    serial = score_units(pieces, default_policy(), jobs=1, as_json=True)
    parallel = score_units(
        [LineRange("batch.jsonl", data, 0, len(data))], default_policy(), jobs=2, as_json=True
    )
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
    score_units(pieces, default_policy(), jobs=2, on_progress=seen.append)
    assert seen and seen[-1] == len(pieces) - 1
    assert seen == sorted(seen)


def test_shares_across_files_keep_numbering_and_order(tmp_path: Path) -> None:
    records = [json.loads(line) for line in _batch().decode().splitlines()]
    first = tmp_path / "monday.jsonl"
    first.write_text("\n".join(dumps(r) for r in records[:900]) + "\n\n", "utf-8")
    array = tmp_path / "tuesday.json"
    array.write_text("[\n" + ",\n".join(dumps(r) for r in records[900:950]) + "\n]", "utf-8")
    second = tmp_path / "wednesday.jsonl"
    lines = [dumps(r) for r in records[950:]]
    lines.insert(700, "   ")  # a blank line moves line numbers, not record numbers
    lines[900] = '{"schema": "callsop.call/1", "id": '  # cut off
    second.write_text("\n".join(lines), "utf-8")
    paths = [str(first), str(array), str(second)]
    units = list(load_paths(paths))
    serial = score_units(list(split_paths(paths)), default_policy(), jobs=1, as_json=True)
    parallel = score_units(units, default_policy(), jobs=3, as_json=True)
    assert parallel.lines == serial.lines
    assert [str(r) for r in parallel.refusals] == [str(r) for r in serial.refusals]
    assert [(r.source, r.line, r.index) for r in parallel.refusals if r.source == str(second)] == [
        (str(second), 111, 111),  # the one _batch() makes
        (str(second), 901, 900),
    ]


def test_the_command_line_refuses_a_deep_or_huge_record_and_scores_the_rest(
    tmp_path: Path,
) -> None:
    from callsop.record.reader import MAX_RECORD_BYTES

    deep = dumps(make_record(id="deep"))[:-1] + ', "extra": ' + "[" * 10_000 + "]" * 10_000 + "}"
    huge = dumps(make_record(id="huge", tags=["x" * MAX_RECORD_BYTES]))
    lines = [dumps(make_record(id="one")), deep, huge, dumps(make_record(id="two"))]
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "callsop", "score", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stderr
    assert [json.loads(line)["call"] for line in result.stdout.splitlines()] == ["one", "two"]
    assert f"{path}:2: record 2: nested too deeply" in result.stderr
    assert f"{path}:3: record 3: too large" in result.stderr
    assert "2 record(s) refused; 2 scored" in result.stderr
    assert "Traceback" not in result.stderr
